"""Extra fields of a request type: every kind validated and stored as JSON, through the
service (the API's path) and through the filing view."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from tests.factories import RequestFieldFactory, TicketFactory
from tickets.extra_fields import check_extra_fields, form_field_for
from tickets.models import Department, RequestField, Ticket

Kind = RequestField.Kind


@pytest.fixture
def laptop_type(it_type):
    """A request type with one optional field of every kind (and one required)."""
    specs = [
        ("asset_tag", Kind.TEXT, False, ""),
        ("details", Kind.LONG_TEXT, False, ""),
        ("model", Kind.CHOICE, True, "ThinkPad\nMacBook\nDell"),
        ("needed_by", Kind.DATE, False, ""),
        ("quantity", Kind.NUMBER, False, ""),
        ("urgent", Kind.YES_NO, False, ""),
    ]
    for position, (key, kind, required, choices) in enumerate(specs):
        RequestFieldFactory(
            request_type=it_type, key=key, kind=kind, required=required, choices=choices,
            position=position,
        )  # fmt: skip
    return it_type


def check(request_type, values):
    return check_extra_fields(fields=request_type.fields.all(), values=values)


def errors_of(request_type, values) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as error:
        check(request_type, values)
    return error.value.message_dict


# --- Stored values --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "raw", "stored"),
    [
        ("asset_tag", "  LT-0042 ", "LT-0042"),
        ("details", "line one\nline two", "line one\nline two"),
        ("model", "MacBook", "MacBook"),
        ("needed_by", "2025-04-30", "2025-04-30"),
        ("quantity", "3", 3),
        ("quantity", 3, 3),
        ("quantity", "2.5", 2.5),
        ("quantity", 2.5, 2.5),
        ("quantity", "0", 0),
        ("urgent", "yes", True),
        ("urgent", "no", False),
        ("urgent", True, True),
        ("urgent", False, False),
    ],
)
def test_each_kind_is_stored_as_plain_json(laptop_type, key, raw, stored):
    cleaned = check(laptop_type, {"model": "Dell", key: raw})
    assert cleaned[key] == stored
    assert type(cleaned[key]) is type(stored)


def test_optional_fields_left_empty_are_not_stored(laptop_type):
    empty = {"asset_tag": "", "details": "", "needed_by": "", "quantity": "", "urgent": ""}
    assert check(laptop_type, {"model": "Dell", **empty}) == {"model": "Dell"}


def test_missing_required_field_is_refused(laptop_type):
    assert errors_of(laptop_type, {}) == {"model": ["This field is required."]}
    assert errors_of(laptop_type, {"model": ""}) == {"model": ["This field is required."]}


@pytest.mark.parametrize("answer", ["yes", "no"])
def test_required_yes_no_accepts_no_as_an_answer(it_type, answer):
    RequestFieldFactory(request_type=it_type, key="agree", kind=Kind.YES_NO, required=True)
    assert check(it_type, {"agree": answer}) == {"agree": answer == "yes"}
    assert errors_of(it_type, {}) == {"agree": ["This field is required."]}


@pytest.mark.parametrize(
    ("key", "raw", "message"),
    [
        ("asset_tag", "x" * 501, "at most 500 characters"),
        ("details", "x" * 5001, "at most 5000 characters"),
        ("model", "Commodore 64", "Select a valid choice"),
        ("needed_by", "30/04/2025", "Enter a valid date"),
        ("needed_by", "2025-02-30", "Enter a valid date"),
        ("quantity", "a few", "Enter a number"),
        ("urgent", "maybe", "Select a valid choice"),
    ],
)
def test_bad_values_are_refused_with_a_message_for_that_field(laptop_type, key, raw, message):
    errors = errors_of(laptop_type, {"model": "Dell", key: raw})
    assert list(errors) == [key]
    assert message in errors[key][0]


def test_unknown_key_is_refused(laptop_type):
    errors = errors_of(laptop_type, {"model": "Dell", "colour": "red"})
    assert errors == {"colour": ["This request type has no such field."]}


def test_all_problems_are_reported_at_once(laptop_type):
    errors = errors_of(laptop_type, {"quantity": "lots", "colour": "red"})
    assert set(errors) == {"model", "quantity", "colour"}


# --- Through the service --------------------------------------------------------------


def test_ticket_create_stores_cleaned_extra(laptop_type, requester):
    ticket = TicketFactory(
        request_type=laptop_type,
        created_by=requester,
        extra={"model": "ThinkPad", "needed_by": "2025-04-30", "quantity": "2", "urgent": "no"},
    )
    ticket.refresh_from_db()
    assert ticket.extra == {
        "model": "ThinkPad",
        "needed_by": "2025-04-30",
        "quantity": 2,
        "urgent": False,
    }
    assert ticket.extra_display() == [
        ("Model", "ThinkPad"),
        ("Needed by", "2025-04-30"),
        ("Quantity", 2),
        ("Urgent", "No"),
    ]


def test_ticket_create_refuses_bad_extra_and_writes_nothing(laptop_type, requester, it):
    with pytest.raises(ValidationError) as error:
        TicketFactory(
            request_type=laptop_type,
            created_by=requester,
            extra={"quantity": "lots", "colour": "red"},
        )
    assert set(error.value.message_dict) == {"extra.model", "extra.quantity", "extra.colour"}
    assert not Ticket.objects.exists()
    assert Department.objects.get(pk=it.pk).ticket_sequence == 0


# --- Through the filing view ----------------------------------------------------------


def filing_url(request_type) -> str:
    return reverse("request_new", args=[request_type.department.code, request_type.pk])


def post_data(**extra) -> dict[str, str]:
    data = {"title": "New laptop", "description": "Mine is five years old."}
    data.update({f"extra__{key}": value for key, value in extra.items()})
    return data


def test_filing_view_shows_field_errors_and_creates_nothing(client, laptop_type, requester):
    client.force_login(requester)
    response = client.post(
        filing_url(laptop_type), post_data(model="Commodore 64", needed_by="soon", quantity="x")
    )
    assert response.status_code == 400
    assert not Ticket.objects.exists()
    form = response.context["form"]
    assert set(form.errors) == {"extra__model", "extra__needed_by", "extra__quantity"}
    html = response.content.decode()
    assert "Select a valid choice" in html
    assert "Enter a valid date" in html
    assert "Enter a number" in html
    # What was typed is kept.
    assert "New laptop" in html


def test_filing_view_requires_required_extra_fields(client, laptop_type, requester):
    client.force_login(requester)
    response = client.post(filing_url(laptop_type), post_data())
    assert response.status_code == 400
    assert response.context["form"].errors["extra__model"] == ["This field is required."]
    assert not Ticket.objects.exists()


def test_filing_view_stores_typed_extra_values(client, laptop_type, requester):
    client.force_login(requester)
    response = client.post(
        filing_url(laptop_type),
        post_data(model="MacBook", needed_by="2025-04-30", quantity="1.5", urgent="yes"),
    )
    ticket = Ticket.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("ticket_detail", args=[ticket.reference])
    assert ticket.extra == {
        "model": "MacBook",
        "needed_by": "2025-04-30",
        "quantity": 1.5,
        "urgent": True,
    }


def test_filing_form_renders_every_extra_field(client, laptop_type, requester):
    client.force_login(requester)
    response = client.get(filing_url(laptop_type))
    assert response.status_code == 200
    html = response.content.decode()
    for key in ("asset_tag", "details", "model", "needed_by", "quantity", "urgent"):
        assert f'name="extra__{key}"' in html


def test_the_same_fields_checked_again_build_their_checks_once(laptop_type, monkeypatch):
    """The fields of a cached request type are the same instances filing after filing:
    their form fields are built once, and each filing's answers are checked anew."""
    from tickets import extra_fields

    built = []
    monkeypatch.setattr(
        extra_fields, "form_field_for", lambda f: built.append(f.key) or form_field_for(f)
    )
    fields = list(laptop_type.fields.all())
    assert check_extra_fields(fields=fields, values={"model": "Dell"}) == {"model": "Dell"}
    with pytest.raises(ValidationError) as refused:
        check_extra_fields(fields=fields, values={"model": "Atari"})
    assert list(refused.value.message_dict) == ["model"]
    assert sorted(built) == sorted(f.key for f in fields)

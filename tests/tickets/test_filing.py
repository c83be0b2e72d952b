"""Filing a request through the service: references, on-behalf filing, validation."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.core.exceptions import ValidationError

from outbox.models import Message
from tests.factories import RequestTypeFactory, TicketFactory, UserFactory
from tickets.models import Department, Priority, Ticket, TicketEvent

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


def test_references_follow_each_departments_sequence(it_type, hr_type, requester):
    refs = [
        TicketFactory(request_type=t, created_by=requester).reference
        for t in (it_type, it_type, hr_type, it_type, hr_type)
    ]
    assert refs == ["IT-1", "IT-2", "HR-1", "IT-3", "HR-2"]
    assert Department.objects.get(code="IT").ticket_sequence == 3


def test_refused_filing_does_not_use_up_a_number(it_type, requester):
    with pytest.raises(ValidationError):
        TicketFactory(request_type=it_type, created_by=requester, title="")
    assert TicketFactory(request_type=it_type, created_by=requester).reference == "IT-1"


def test_new_ticket_fields(it_type, requester):
    ticket = TicketFactory(
        request_type=it_type,
        created_by=requester,
        title="  Screen flickers  ",
        description="Since **Monday**.",
        now=T0,
    )
    ticket.refresh_from_db()
    assert ticket.title == "Screen flickers"
    assert ticket.status == Ticket.Status.NEW
    assert (ticket.requester, ticket.created_by) == (requester, requester)
    assert ticket.department.code == "IT"
    assert ticket.requesting_department.code == "SAL"
    assert ticket.priority == Priority.NORMAL
    assert "<strong>Monday</strong>" in ticket.description_html
    assert ticket.created_at == ticket.updated_at == ticket.status_changed_at == T0
    assert ticket.first_response_at is ticket.resolved_at is ticket.closed_at is None
    assert not ticket.watchers.exists()


def test_priority_defaults_to_the_request_types(it, requester):
    urgent_type = RequestTypeFactory(department=it, default_priority=Priority.URGENT)
    assert TicketFactory(request_type=urgent_type, created_by=requester).priority == Priority.URGENT


def test_explicit_priority_wins(it_type, requester):
    ticket = TicketFactory(request_type=it_type, created_by=requester, priority=Priority.LOW)
    assert ticket.priority == Priority.LOW


def test_requester_without_home_department_has_no_requesting_department(it_type):
    drifter = UserFactory(username="drifter")
    assert TicketFactory(request_type=it_type, created_by=drifter).requesting_department is None


# --- On behalf of ---------------------------------------------------------------------


def test_on_behalf_takes_the_requesters_department_and_makes_the_filer_a_watcher(
    it_type, requester, hr
):
    assistant = UserFactory(username="asta", home_department=hr)
    ticket = TicketFactory(request_type=it_type, created_by=assistant, requester=requester)
    assert (ticket.requester, ticket.created_by) == (requester, assistant)
    assert ticket.requesting_department.code == "SAL"
    assert list(ticket.watchers.all()) == [assistant]
    event = TicketEvent.objects.get(ticket=ticket, action=TicketEvent.Action.CREATED)
    assert event.actor == assistant


def test_requesting_department_is_a_snapshot(it_type, requester, hr):
    ticket = TicketFactory(request_type=it_type, created_by=requester)
    requester.home_department = hr
    requester.save(update_fields=["home_department"])
    ticket.refresh_from_db()
    assert ticket.requesting_department.code == "SAL"


def test_cannot_file_for_an_inactive_person(it_type, requester):
    gone = UserFactory(username="gone", is_active=False)
    with pytest.raises(ValidationError) as error:
        TicketFactory(request_type=it_type, created_by=requester, requester=gone)
    assert "requester" in error.value.message_dict
    assert not Ticket.objects.exists()


# --- Validation -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "key"),
    [
        ({"title": ""}, "title"),
        ({"title": "   "}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"description": ""}, "description"),
        ({"description": "x" * 20_001}, "description"),
        ({"priority": 9}, "priority"),
    ],
)
def test_bad_input_is_refused_per_field_and_nothing_is_written(it_type, requester, fields, key):
    with pytest.raises(ValidationError) as error:
        TicketFactory(request_type=it_type, created_by=requester, **fields)
    assert list(error.value.message_dict) == [key]
    assert not Ticket.objects.exists()
    assert not TicketEvent.objects.exists()
    assert not Message.objects.exists()


def test_all_problems_reported_together(it_type, requester):
    with pytest.raises(ValidationError) as error:
        TicketFactory(request_type=it_type, created_by=requester, title="", description="")
    assert set(error.value.message_dict) == {"title", "description"}


def test_inactive_request_type_refuses_filing(it, requester):
    retired = RequestTypeFactory(department=it, is_active=False)
    with pytest.raises(ValidationError) as error:
        TicketFactory(request_type=retired, created_by=requester)
    assert "request_type" in error.value.message_dict


def test_inactive_department_refuses_filing(it, it_type, requester):
    Department.objects.filter(pk=it.pk).update(is_active=False)
    it_type.department.refresh_from_db()
    with pytest.raises(ValidationError):
        TicketFactory(request_type=it_type, created_by=requester)
    assert not Ticket.objects.exists()

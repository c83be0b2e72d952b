"""Filing through the screens: department list → request types → form → ticket page."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from tests.factories import DepartmentFactory, RequestTypeFactory
from tickets.models import Attachment, Department, Ticket


@pytest.fixture
def logged_in(client, requester):
    client.force_login(requester)
    return client


def new_url(request_type) -> str:
    return reverse("request_new", args=[request_type.department.code, request_type.pk])


def test_department_list_shows_departments_taking_requests(logged_in, it_type, hr_type):
    DepartmentFactory(code="EMPTY", name="No Types Yet")
    closed = DepartmentFactory(code="OLD", name="Closed Department", is_active=False)
    RequestTypeFactory(department=closed)
    retired_only = DepartmentFactory(code="RET", name="Retired Types Only")
    RequestTypeFactory(department=retired_only, is_active=False)
    response = logged_in.get(reverse("request_departments"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "IT" in html and "Human Resources" in html
    for hidden in ("No Types Yet", "Closed Department", "Retired Types Only"):
        assert hidden not in html
    assert reverse("request_types", args=["IT"]) in html


def test_request_types_lists_active_types_with_links(logged_in, it, it_type, it_confidential_type):
    RequestTypeFactory(department=it, name="Fax machines", is_active=False)
    response = logged_in.get(reverse("request_types", args=["IT"]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Hardware" in html and "Security incident" in html
    assert "Fax machines" not in html
    assert new_url(it_type) in html


@pytest.mark.parametrize("code", ["NOPE", "it"])
def test_unknown_department_code_is_404(logged_in, it_type, code):
    assert logged_in.get(reverse("request_types", args=[code])).status_code == 404


def test_inactive_department_is_404(logged_in, it, it_type):
    Department.objects.filter(pk=it.pk).update(is_active=False)
    assert logged_in.get(reverse("request_types", args=["IT"])).status_code == 404
    assert logged_in.get(new_url(it_type)).status_code == 404


def test_request_type_of_another_department_is_404(logged_in, it, hr_type):
    response = logged_in.get(reverse("request_new", args=["IT", hr_type.pk]))
    assert response.status_code == 404


def test_inactive_request_type_is_404(logged_in, it):
    retired = RequestTypeFactory(department=it, is_active=False)
    assert logged_in.get(new_url(retired)).status_code == 404
    assert logged_in.post(new_url(retired), {"title": "x", "description": "y"}).status_code == 404
    assert not Ticket.objects.exists()


def test_form_page_renders(logged_in, it_type):
    response = logged_in.get(new_url(it_type))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Hardware" in html
    assert 'name="title"' in html and 'name="description"' in html


def test_filing_redirects_to_the_new_ticket_page(logged_in, it_type, requester):
    response = logged_in.post(
        new_url(it_type), {"title": "Monitor is dead", "description": "No picture."}, follow=True
    )
    ticket = Ticket.objects.get()
    assert response.redirect_chain == [(reverse("ticket_detail", args=["IT-1"]), 302)]
    assert response.status_code == 200
    html = response.content.decode()
    assert "IT-1" in html and "Monitor is dead" in html
    assert (ticket.requester, ticket.created_by) == (requester, requester)


def test_filing_on_behalf_of_a_colleague(logged_in, it_type, requester, colleague):
    logged_in.post(
        new_url(it_type),
        {"title": "Carl needs a mouse", "description": "His broke.", "on_behalf_of": colleague.pk},
    )
    ticket = Ticket.objects.get()
    assert (ticket.requester, ticket.created_by) == (colleague, requester)
    assert list(ticket.watchers.all()) == [requester]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"title": "", "description": "No picture."}, "title"),
        ({"title": "Monitor", "description": ""}, "description"),
        ({"title": "x" * 201, "description": "y"}, "title"),
    ],
)
def test_invalid_form_is_400_and_files_nothing(logged_in, it_type, data, field):
    response = logged_in.post(new_url(it_type), data)
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert not Ticket.objects.exists()


def test_filing_with_an_attachment(logged_in, it_type):
    upload = SimpleUploadedFile("photo.png", b"\x89PNG data", content_type="image/png")
    logged_in.post(
        new_url(it_type), {"title": "Cracked", "description": "See photo", "attachments": upload}
    )
    attachment = Attachment.objects.get()
    assert (attachment.ticket.reference, attachment.filename) == ("IT-1", "photo.png")


def test_bad_attachment_shows_the_error_and_files_nothing(logged_in, it_type):
    upload = SimpleUploadedFile("setup.exe", b"MZ")
    response = logged_in.post(
        new_url(it_type), {"title": "Install", "description": "this", "attachments": upload}
    )
    assert response.status_code == 400
    assert "setup.exe: files of type .exe are not accepted." in response.content.decode()
    assert not Ticket.objects.exists()
    assert not Attachment.objects.exists()


def test_filing_requires_login(client, it_type):
    response = client.post(new_url(it_type), {"title": "x", "description": "y"})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert not Ticket.objects.exists()

"""Django admin for departments, request types and people."""

from __future__ import annotations

from django.contrib import admin
from django.test import RequestFactory

from tests.factories import TicketFactory
from tickets.admin import DepartmentAdmin
from tickets.models import Department


def test_saving_a_department_in_admin_keeps_a_concurrent_ticket_number(
    it, it_type, requester, superuser
):
    """The admin form was opened before someone filed a ticket; saving it must not write
    back the old ticket sequence (the next filing would collide with a reference)."""
    model_admin = DepartmentAdmin(Department, admin.site)
    request = RequestFactory().post("/")
    request.user = superuser
    stale = Department.objects.get(pk=it.pk)
    form_class = model_admin.get_form(request, stale, change=True)
    data = {
        "name": stale.name,
        "code": stale.code,
        "description": "Laptops, accounts and everything with a plug.",
        "contact_email": "it@example.com",
        "is_active": "on",
        "assignment": stale.assignment,
        "auto_close_days": stale.auto_close_days,
        "chat_webhook_format": stale.chat_webhook_format,
    }
    form = form_class(data, instance=stale)
    assert form.is_valid(), form.errors

    first = TicketFactory(request_type=it_type, created_by=requester)  # filed meanwhile
    model_admin.save_model(request, form.save(commit=False), form, change=True)
    second = TicketFactory(request_type=it_type, created_by=requester)

    it.refresh_from_db()
    assert it.description == "Laptops, accounts and everything with a plug."
    assert (first.reference, second.reference) == ("IT-1", "IT-2")
    assert it.ticket_sequence == 2


def test_department_admin_lists_members_and_open_tickets(client, superuser, it, ticket):
    client.force_login(superuser)
    response = client.get("/admin/tickets/department/")
    assert response.status_code == 200
    assert b"open tickets" in response.content


def test_ticket_admin_is_read_only(client, superuser, ticket):
    client.force_login(superuser)
    response = client.get(f"/admin/tickets/ticket/{ticket.pk}/change/")
    assert response.status_code == 200
    assert client.post(f"/admin/tickets/ticket/{ticket.pk}/delete/").status_code == 403
    assert client.get("/admin/tickets/ticket/add/").status_code == 403

"""Transferring a ticket to another request type, possibly of another department."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from tests.factories import RequestTypeFactory, agent_of, move_to
from tickets import services
from tickets.models import Department, Ticket, TicketEvent

Status = Ticket.Status


def transfer(ticket, actor, request_type, reason="Payroll handles this."):
    return services.ticket_transfer(
        ticket=ticket, actor=actor, request_type=request_type, reason=reason
    )


def test_transfer_moves_department_and_type_and_keeps_the_reference(ticket, it_agent, hr_type):
    services.comment_add(ticket=ticket, author=it_agent, body="Not ours.")
    transfer(ticket, it_agent, hr_type)
    ticket = Ticket.objects.get(pk=ticket.pk)
    assert ticket.reference == "IT-1"
    assert (ticket.department, ticket.request_type) == (hr_type.department, hr_type)
    assert ticket.comments.count() == 1
    assert ticket.requesting_department.code == "SAL"


def test_transfer_records_the_reason_in_the_audit_trail(ticket, it_agent, hr_type):
    transfer(ticket, it_agent, hr_type, reason="  Payroll handles this.  ")
    event = TicketEvent.objects.get(ticket=ticket, action=TicketEvent.Action.TRANSFERRED)
    assert event.actor == it_agent
    assert event.old_value == "IT: Hardware"
    assert event.new_value == "Human Resources: Payslip question"
    assert event.message == "Payroll handles this."


@pytest.mark.parametrize("reason", ["", "   "])
def test_transfer_needs_a_reason(ticket, it_agent, hr_type, reason):
    with pytest.raises(ValidationError) as error:
        transfer(ticket, it_agent, hr_type, reason=reason)
    assert "reason" in error.value.message_dict
    assert Ticket.objects.get(pk=ticket.pk).department.code == "IT"


@pytest.mark.parametrize("final", [Status.RESOLVED, Status.CLOSED, Status.CANCELLED])
def test_transfer_refused_when_not_open(ticket, it_agent, hr_type, final):
    move_to(ticket, final, agent=it_agent)
    events = TicketEvent.objects.count()
    with pytest.raises(services.TransitionRefused):
        transfer(ticket, it_agent, hr_type)
    assert Ticket.objects.get(pk=ticket.pk).department.code == "IT"
    assert TicketEvent.objects.count() == events


def test_transfer_refused_to_the_same_request_type(ticket, it_agent, it_type):
    with pytest.raises(ValidationError):
        transfer(ticket, it_agent, it_type)


def test_transfer_refused_to_an_inactive_request_type(ticket, it_agent, hr):
    closed_type = RequestTypeFactory(department=hr, is_active=False)
    with pytest.raises(ValidationError):
        transfer(ticket, it_agent, closed_type)


def test_transfer_refused_to_an_inactive_department(ticket, it_agent, hr, hr_type):
    Department.objects.filter(pk=hr.pk).update(is_active=False)
    hr_type.department.refresh_from_db()
    with pytest.raises(ValidationError):
        transfer(ticket, it_agent, hr_type)


@pytest.mark.parametrize("who", ["requester", "hr_agent"])
def test_only_agents_of_the_current_department_transfer(request, ticket, hr_type, who):
    with pytest.raises(PermissionDenied):
        transfer(ticket, request.getfixturevalue(who), hr_type)
    assert Ticket.objects.get(pk=ticket.pk).department.code == "IT"


def test_transfer_clears_the_assignee_under_manual_assignment(ticket, it_agent, hr_type):
    services.ticket_assign(ticket=ticket, actor=it_agent, assignee=it_agent)
    transfer(ticket, it_agent, hr_type)
    assert Ticket.objects.get(pk=ticket.pk).assignee is None


def test_transfer_runs_the_target_departments_assignment_rule(ticket, it_agent, hr, hr_type):
    hr.assignment = Department.Assignment.ROUND_ROBIN
    hr.save(update_fields=["assignment"])
    first, _second = agent_of(hr, username="hana"), agent_of(hr, username="hugo")
    services.ticket_assign(ticket=ticket, actor=it_agent, assignee=it_agent)
    transfer(ticket, it_agent, hr_type)
    ticket = Ticket.objects.get(pk=ticket.pk)
    assert ticket.assignee == first
    event = TicketEvent.objects.filter(ticket=ticket, action=TicketEvent.Action.ASSIGNED).last()
    assert (event.actor, event.new_value) == (None, "Hana")


def test_transferring_agent_loses_access_afterwards(ticket, it_agent, hr_type, hr_agent):
    transfer(ticket, it_agent, hr_type)
    ticket = Ticket.objects.get(pk=ticket.pk)
    with pytest.raises(PermissionDenied):
        services.ticket_set_priority(ticket=ticket, actor=it_agent, priority=3)
    services.ticket_set_priority(ticket=ticket, actor=hr_agent, priority=3)


def test_transfer_within_the_department_changes_the_type(ticket, it, it_agent):
    software = RequestTypeFactory(department=it, name="Software")
    transfer(ticket, it_agent, software, reason="Wrong type")
    ticket = Ticket.objects.get(pk=ticket.pk)
    assert (ticket.department, ticket.request_type) == (it, software)


def test_transfer_keeps_status(ticket, it_agent, hr_type):
    move_to(ticket, Status.WAITING, agent=it_agent)
    transfer(ticket, it_agent, hr_type)
    assert Ticket.objects.get(pk=ticket.pk).status == Status.WAITING

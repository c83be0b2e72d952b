"""Changing a ticket's priority."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from tests.factories import move_to
from tickets import services
from tickets.models import Priority, Ticket, TicketEvent

Status = Ticket.Status


def priority_events(ticket):
    return list(
        TicketEvent.objects.filter(ticket=ticket, action=TicketEvent.Action.PRIORITY).values_list(
            "actor__username", "old_value", "new_value"
        )
    )


def test_agent_changes_priority_with_audit_event(ticket, it_agent):
    services.ticket_set_priority(ticket=ticket, actor=it_agent, priority=Priority.URGENT)
    assert Ticket.objects.get(pk=ticket.pk).priority == Priority.URGENT
    assert priority_events(ticket) == [("alice", "Normal", "Urgent")]


def test_same_priority_records_nothing(ticket, it_agent):
    services.ticket_set_priority(ticket=ticket, actor=it_agent, priority=Priority.NORMAL)
    assert priority_events(ticket) == []


@pytest.mark.parametrize("bad", [0, 5, -1])
def test_unknown_priority_is_refused(ticket, it_agent, bad):
    with pytest.raises(ValidationError):
        services.ticket_set_priority(ticket=ticket, actor=it_agent, priority=bad)
    assert Ticket.objects.get(pk=ticket.pk).priority == Priority.NORMAL


@pytest.mark.parametrize("who", ["requester", "hr_agent"])
def test_only_department_members_change_priority(request, ticket, who):
    with pytest.raises(PermissionDenied):
        services.ticket_set_priority(
            ticket=ticket, actor=request.getfixturevalue(who), priority=Priority.HIGH
        )
    assert priority_events(ticket) == []


@pytest.mark.parametrize("final", [Status.RESOLVED, Status.CLOSED, Status.CANCELLED])
def test_priority_frozen_once_not_open(ticket, it_agent, final):
    move_to(ticket, final, agent=it_agent)
    with pytest.raises(services.TransitionRefused):
        services.ticket_set_priority(ticket=ticket, actor=it_agent, priority=Priority.HIGH)
    assert Ticket.objects.get(pk=ticket.pk).priority == Priority.NORMAL


def test_lead_changes_priority(ticket, it_lead):
    services.ticket_set_priority(ticket=ticket, actor=it_lead, priority=Priority.LOW)
    assert priority_events(ticket) == [("lena", "Normal", "Low")]

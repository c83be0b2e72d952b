"""Resolved tickets close by themselves after the department's waiting period."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from tests.factories import DepartmentFactory, RequestTypeFactory, TicketFactory, agent_of
from tickets import services
from tickets.models import Ticket, TicketEvent
from tickets.tasks import ticket_autoclose_task

Status = Ticket.Status
RESOLVED_AT = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


@pytest.fixture
def resolved(it, it_type, requester, it_agent):
    it.auto_close_days = 3
    it.save(update_fields=["auto_close_days"])
    with time_machine.travel(RESOLVED_AT, tick=False):
        ticket = TicketFactory(request_type=it_type, created_by=requester)
        services.ticket_transition(ticket=ticket, actor=it_agent, to_status=Status.RESOLVED)
    return ticket


def status_of(ticket: Ticket) -> str:
    return Ticket.objects.get(pk=ticket.pk).status


def test_not_closed_before_the_waiting_period_ends(resolved):
    with time_machine.travel(RESOLVED_AT + timedelta(days=3, seconds=-1), tick=False):
        ticket_autoclose_task()
    assert status_of(resolved) == Status.RESOLVED


def test_closed_by_the_system_when_the_waiting_period_ends(resolved):
    when = RESOLVED_AT + timedelta(days=3)
    with time_machine.travel(when, tick=False):
        ticket_autoclose_task()
    ticket = Ticket.objects.get(pk=resolved.pk)
    assert ticket.status == Status.CLOSED
    assert ticket.closed_at == when
    event = TicketEvent.objects.filter(ticket=ticket).latest("id")
    assert event.actor is None
    assert (event.old_value, event.new_value) == (Status.RESOLVED, Status.CLOSED)
    assert "3 days" in event.message


def test_autoclose_returns_the_count_and_is_idempotent(resolved):
    later = RESOLVED_AT + timedelta(days=10)
    assert services.ticket_autoclose(now=later) == 1
    assert services.ticket_autoclose(now=later) == 0


def test_zero_days_means_never(it, resolved):
    it.auto_close_days = 0
    it.save(update_fields=["auto_close_days"])
    assert services.ticket_autoclose(now=RESOLVED_AT + timedelta(days=3650)) == 0
    assert status_of(resolved) == Status.RESOLVED


def test_reopened_ticket_is_not_closed(resolved):
    with time_machine.travel(RESOLVED_AT + timedelta(days=1), tick=False):
        services.ticket_transition(ticket=resolved, actor=resolved.requester, to_status=Status.OPEN)
    with time_machine.travel(RESOLVED_AT + timedelta(days=30), tick=False):
        ticket_autoclose_task()
    assert status_of(resolved) == Status.OPEN


def test_resolved_again_counts_from_the_new_resolution(resolved, it_agent):
    again = RESOLVED_AT + timedelta(days=2)
    with time_machine.travel(again, tick=False):
        services.ticket_transition(ticket=resolved, actor=resolved.requester, to_status=Status.OPEN)
        services.ticket_transition(ticket=resolved, actor=it_agent, to_status=Status.RESOLVED)
    assert services.ticket_autoclose(now=RESOLVED_AT + timedelta(days=4)) == 0
    assert services.ticket_autoclose(now=again + timedelta(days=3)) == 1


def test_each_department_uses_its_own_waiting_period(resolved, requester):
    quick = DepartmentFactory(code="FAC", name="Facilities", auto_close_days=1)
    fac_agent = agent_of(quick)
    with time_machine.travel(RESOLVED_AT, tick=False):
        other = TicketFactory(
            request_type=RequestTypeFactory(department=quick), created_by=requester
        )
        services.ticket_transition(ticket=other, actor=fac_agent, to_status=Status.RESOLVED)
    services.ticket_autoclose(now=RESOLVED_AT + timedelta(days=2))
    assert status_of(other) == Status.CLOSED
    assert status_of(resolved) == Status.RESOLVED


def test_open_and_waiting_tickets_are_never_closed(it_type, requester, it_agent):
    with time_machine.travel(RESOLVED_AT, tick=False):
        waiting = TicketFactory(request_type=it_type, created_by=requester)
        services.ticket_transition(ticket=waiting, actor=it_agent, to_status=Status.WAITING)
        new = TicketFactory(request_type=it_type, created_by=requester)
    assert services.ticket_autoclose(now=RESOLVED_AT + timedelta(days=365)) == 0
    assert (status_of(waiting), status_of(new)) == (Status.WAITING, Status.NEW)


def test_autoclose_works_through_more_than_one_batch(it, it_type, requester, it_agent):
    with time_machine.travel(RESOLVED_AT, tick=False):
        for _ in range(5):
            ticket = TicketFactory(request_type=it_type, created_by=requester)
            services.ticket_transition(ticket=ticket, actor=it_agent, to_status=Status.RESOLVED)
    closed = services.ticket_autoclose(now=RESOLVED_AT + timedelta(days=8), batch_size=2)
    assert closed == 5
    assert not Ticket.objects.filter(status=Status.RESOLVED).exists()

"""The audit trail: one event per change, with who, what, old and new value."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.factories import TicketFactory
from tickets import services
from tickets.models import Priority, Ticket, TicketEvent

Action = TicketEvent.Action
Status = Ticket.Status
T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


def test_a_tickets_whole_history_is_recorded_in_order(
    it_type, hr_type, requester, colleague, it_agent, it_agent2, hr_agent
):
    step = iter(T0 + timedelta(minutes=n) for n in range(100))
    ticket = TicketFactory(request_type=it_type, created_by=requester, now=next(step))
    services.ticket_assign(ticket=ticket, actor=it_agent, assignee=it_agent2, now=next(step))
    services.ticket_set_priority(
        ticket=ticket, actor=it_agent, priority=Priority.HIGH, now=next(step)
    )
    services.ticket_add_watcher(ticket=ticket, actor=requester, watcher=colleague, now=next(step))
    services.comment_add(
        ticket=ticket, author=it_agent2, body="Hm.", is_internal=True, now=next(step)
    )
    services.comment_add(ticket=ticket, author=it_agent2, body="On it.", now=next(step))
    services.ticket_transition(
        ticket=ticket, actor=it_agent2, to_status=Status.WAITING, note="Which floor?",
        now=next(step),
    )  # fmt: skip
    services.ticket_remove_watcher(
        ticket=ticket, actor=colleague, watcher=colleague, now=next(step)
    )
    services.ticket_transfer(
        ticket=ticket, actor=it_agent2, request_type=hr_type, reason="Payroll", now=next(step)
    )
    services.ticket_transition(
        ticket=ticket, actor=hr_agent, to_status=Status.RESOLVED, now=next(step)
    )

    rows = list(
        TicketEvent.objects.filter(ticket=ticket)
        .order_by("created_at", "id")
        .values_list("action", "actor__username", "old_value", "new_value", "message")
    )
    assert rows == [
        (Action.CREATED, "rita", "", "", ""),
        (Action.ASSIGNED, "alice", "", "Bob", ""),
        (Action.PRIORITY, "alice", "Normal", "High", ""),
        (Action.WATCHER_ADDED, "rita", "", "Carl", ""),
        (Action.NOTE, "bob", "", "", ""),
        (Action.REPLIED, "bob", "", "", ""),
        (Action.STATUS, "bob", "new", "open", ""),
        (Action.STATUS, "bob", "open", "waiting", "Which floor?"),
        (Action.WATCHER_REMOVED, "carl", "Carl", "", ""),
        (Action.TRANSFERRED, "bob", "IT: Hardware", "Human Resources: Payslip question", "Payroll"),
        (Action.STATUS, "hank", "waiting", "resolved", ""),
    ]
    times = list(TicketEvent.objects.filter(ticket=ticket).values_list("created_at", flat=True))
    assert times == sorted(times)
    assert Ticket.objects.get(pk=ticket.pk).updated_at == times[-1]

"""“No update for N business hours”: counted in the department's calendar from the last
public update, while the ticket is new or open, once per duration and update."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from slas.idle import idle_timers_reschedule
from slas.models import EscalationAction, EscalationRule, IdleTimer, SlaEvent
from slas.sweep import sla_sweep
from tickets import services
from tickets.models import Comment, Ticket

# Berlin office hours 09:00-17:00, Monday to Friday. In March Berlin is UTC+1.
MONDAY_4PM = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
TUESDAY_10AM = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)
TUESDAY_NOON = datetime(2026, 3, 3, 11, 0, tzinfo=UTC)
H = timedelta(hours=1)
Trigger = EscalationRule.Trigger


def at(now: datetime):
    return time_machine.travel(now, tick=False)


def no_update_rule(department, hours, text="Nobody has written to the requester."):
    rule = EscalationRule.objects.create(
        department=department, name=f"No update {hours} h", trigger=Trigger.NO_UPDATE,
        idle_hours=hours,
    )  # fmt: skip
    EscalationAction.objects.create(rule=rule, kind=EscalationAction.Kind.INTERNAL_NOTE, text=text)
    return rule


def file_ticket(request_type, requester, now=MONDAY_4PM) -> Ticket:
    with at(now):
        return services.ticket_create(
            created_by=requester,
            request_type=request_type,
            title="Badge does not open the door",
            description="Since this morning.",
            now=now,
        )


def sweep(now: datetime) -> list[tuple[int, datetime]]:
    """Sweep and run the outbox at `now`; the no-update events recorded so far."""
    from outbox.services import outbox_relay

    with at(now):
        sla_sweep(now=now)
        outbox_relay(now=now)
    return [
        (e.threshold, e.instant)
        for e in SlaEvent.objects.filter(kind=SlaEvent.Kind.NO_UPDATE).order_by("instant")
    ]


@pytest.fixture
def office(it, make_calendar):
    return make_calendar("Berlin office", "Europe/Berlin", department=it)


def test_fires_after_n_business_hours_over_the_night(office, it, it_type, requester):
    no_update_rule(it, 2)
    ticket = file_ticket(it_type, requester)  # Monday 16:00 local: 1 h today, 1 h tomorrow
    assert sweep(TUESDAY_10AM - timedelta(seconds=1)) == []
    assert sweep(TUESDAY_10AM) == [(7200, TUESDAY_10AM)]
    note = Comment.objects.get(ticket=ticket)
    assert (note.author, note.is_internal) == (None, True)
    assert sweep(TUESDAY_10AM + 5 * H) == [(7200, TUESDAY_10AM)]  # once per update


def test_each_duration_fires_once_in_order(office, it, it_type, requester):
    no_update_rule(it, 2, "Two hours.")
    no_update_rule(it, 3, "Three hours.")
    ticket = file_ticket(it_type, requester)
    assert sweep(TUESDAY_NOON) == [(7200, TUESDAY_10AM), (10800, TUESDAY_10AM + H)]
    assert list(Comment.objects.filter(ticket=ticket).values_list("body", flat=True)) == [
        "Two hours.",
        "Three hours.",
    ]


def test_a_public_reply_restarts_the_count_an_internal_note_does_not(
    office, it, it_type, requester, it_agent
):
    no_update_rule(it, 2)
    ticket = file_ticket(it_type, requester)
    opened = MONDAY_4PM + H / 2  # 16:30 local: the status change restarts the count
    with at(opened):
        services.ticket_transition(
            ticket=ticket, actor=it_agent, to_status=Ticket.Status.OPEN, now=opened
        )
    with at(opened + H / 4):
        services.comment_add(
            ticket=ticket, author=it_agent, body="Looking.", is_internal=True,
            now=opened + H / 4,
        )  # fmt: skip
    assert IdleTimer.objects.get(ticket=ticket).since == opened
    # Without the reply, 2 business hours from 16:30 end Tuesday 09:30 local.
    with at(TUESDAY_10AM - H):  # Tuesday 09:00 local, the ticket already open
        services.comment_add(
            ticket=ticket, author=it_agent, body="Try again?", now=TUESDAY_10AM - H
        )
    assert sweep(TUESDAY_10AM) == []
    assert sweep(TUESDAY_NOON) == [(7200, TUESDAY_NOON - timedelta(hours=1))]


def test_the_requesters_reply_does_not_count_as_an_update(office, it, it_type, requester, it_agent):
    no_update_rule(it, 2)
    ticket = file_ticket(it_type, requester)
    with at(MONDAY_4PM + H / 2):
        services.comment_add(
            ticket=ticket, author=requester, body="Any news?", now=MONDAY_4PM + H / 2
        )
    assert sweep(TUESDAY_10AM) == [(7200, TUESDAY_10AM)]


def test_waiting_on_the_requester_stops_the_count_and_reopening_restarts_it(
    office, it, it_type, requester, it_agent
):
    no_update_rule(it, 2)
    ticket = file_ticket(it_type, requester)
    with at(MONDAY_4PM + H / 2):
        services.ticket_transition(
            ticket=ticket, actor=it_agent, to_status=Ticket.Status.WAITING, now=MONDAY_4PM + H / 2
        )
    assert IdleTimer.objects.get(ticket=ticket).next_check_at is None
    assert sweep(TUESDAY_NOON) == []
    with at(TUESDAY_NOON):  # the requester answers at 13:00 local: back to open
        services.comment_add(ticket=ticket, author=requester, body="Done.", now=TUESDAY_NOON)
    assert sweep(TUESDAY_NOON + 2 * H) == [(7200, TUESDAY_NOON + 2 * H)]


def test_rules_added_later_schedule_the_open_tickets(office, it, it_type, requester, it_agent):
    ticket = file_ticket(it_type, requester)
    resolved = file_ticket(it_type, requester)
    with at(MONDAY_4PM):
        services.ticket_transition(
            ticket=resolved, actor=it_agent, to_status=Ticket.Status.RESOLVED, now=MONDAY_4PM
        )
    IdleTimer.objects.filter(ticket=ticket).delete()  # e.g. a ticket loaded in bulk
    no_update_rule(it, 2)
    assert idle_timers_reschedule(department_id=it.pk, now=MONDAY_4PM) == 1
    assert IdleTimer.objects.get(ticket=ticket).next_check_at == TUESDAY_10AM
    assert sweep(TUESDAY_NOON) == [(7200, TUESDAY_10AM)]


def test_transfer_moves_the_timer_to_the_new_department(
    office, it, hr, it_type, hr_type, requester, it_agent
):
    no_update_rule(it, 2)
    ticket = file_ticket(it_type, requester)
    with at(MONDAY_4PM + H / 2):
        services.ticket_transfer(
            ticket=ticket, actor=it_agent, request_type=hr_type, reason="Badges are HR's.",
            now=MONDAY_4PM + H / 2,
        )  # fmt: skip
    timer = IdleTimer.objects.get(ticket=ticket)
    assert (timer.department, timer.next_check_at) == (hr, None)  # HR has no such rule
    assert sweep(TUESDAY_NOON) == []


def test_sla_recompute_schedules_no_update_timers_too(office, it, it_type, requester):
    from io import StringIO

    from django.core.management import call_command

    ticket = file_ticket(it_type, requester)
    IdleTimer.objects.filter(ticket=ticket).delete()
    no_update_rule(it, 2)
    out = StringIO()
    with at(MONDAY_4PM):
        call_command("sla_recompute", stdout=out)
    assert "and 1 “no update” timers" in out.getvalue()
    assert IdleTimer.objects.get(ticket=ticket).next_check_at == TUESDAY_10AM

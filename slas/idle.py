"""“No update” timers: when an open ticket last had a public update, and when the sweep
must next look at it. Kept on write, like the SLA clocks, so the sweep only reads rows
that are due.

A public update is the filing, an agent's public reply, a status change or a transfer.
Internal notes, assignment and the requester's own replies do not count: the question a
“no update” rule asks is whether the requester has heard from the department. The timer
runs while the ticket is new or open (not while waiting on the requester).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db import transaction

from servicedesk.config import config_cached
from servicedesk.db import update_rows
from slas import clock
from slas.models import EscalationRule, IdleTimer
from slas.services import calendar_for, calendars_for
from tickets import hooks
from tickets.models import Ticket

RUNNING_STATUSES = (Ticket.Status.NEW, Ticket.Status.OPEN)
# Filing (hooks.CREATED) starts the timer too: slas/filing.py writes it with the clocks.
RESETS = (hooks.AGENT_REPLIED, hooks.STATUS_CHANGED, hooks.TRANSFERRED)


def idle_seconds_for(department_id: int) -> list[int]:
    """The distinct “no update” durations the department's active rules watch (cached per
    process: servicedesk/config.py)."""

    def load() -> list[int]:
        hours = EscalationRule.objects.filter(
            department_id=department_id, trigger=EscalationRule.Trigger.NO_UPDATE, is_active=True
        ).values_list("idle_hours", flat=True)
        return sorted({int(h * 3600) for h in hours if h})

    return list(config_cached(("idle_seconds", department_id), load))


def next_idle_check(
    *, since: datetime, fired_seconds: int, durations: Iterable[int], calendar: clock.Calendar
) -> datetime | None:
    pending = [seconds for seconds in durations if seconds > fired_seconds]
    if not pending or not calendar.has_working_time:
        return None
    return clock.add_business_time(since, min(pending), calendar)


def idle_on_ticket_change(change: hooks.TicketChange) -> None:
    """Ticket hook: restart the timer on a public update; stop or restart it with the
    status; follow the ticket to another department."""
    if change.kind not in RESETS:
        return
    ticket, now = change.ticket, change.now
    fields = {
        "department_id": ticket.department_id,
        "since": now,
        "fired_seconds": 0,
        "next_check_at": idle_restart_check(ticket=ticket, now=now),
    }
    if not IdleTimer.objects.filter(ticket=ticket).update(**fields):
        IdleTimer.objects.create(ticket=ticket, **fields)


def idle_restart_check(*, ticket: Ticket, now: datetime) -> datetime | None:
    """The next check of the ticket's timer restarted at `now` (a public update): the
    first of its department's “no update” durations, in business time (None: no rule
    watches it, or the ticket is not new or open)."""
    if ticket.status not in RUNNING_STATUSES:
        return None
    durations = idle_seconds_for(ticket.department_id)
    if not durations:
        return None
    return next_idle_check(
        since=now, fired_seconds=0, durations=durations, calendar=calendar_for(ticket.department)
    )


def idle_timers_reschedule(*, department_id: int, now: datetime, batch_size: int = 2000) -> int:
    """After the department's “no update” rules changed: schedule every open ticket's
    timer again (creating timers for tickets that have none, e.g. loaded in bulk), in
    batches of their own transactions. Returns how many timers were scheduled."""
    durations = idle_seconds_for(department_id)
    calendar = calendars_for({department_id})[department_id]
    done, after_id = 0, 0
    while True:
        with transaction.atomic():
            tickets = list(
                Ticket.objects.filter(
                    department_id=department_id, status__in=Ticket.OPEN_STATUSES, pk__gt=after_id
                )
                .order_by("pk")
                .values_list("pk", "status", "updated_at")[:batch_size]
            )
            if not tickets:
                return done
            timers = {
                timer.pk: timer
                for timer in IdleTimer.objects.select_for_update().filter(
                    ticket_id__in=[pk for pk, _, _ in tickets]
                )
            }
            missing = [
                IdleTimer(ticket_id=pk, department_id=department_id, since=updated_at)
                for pk, _, updated_at in tickets
                if pk not in timers
            ]
            IdleTimer.objects.bulk_create(missing, ignore_conflicts=True)
            timers.update({timer.ticket_id: timer for timer in missing})
            rows = []
            for pk, status, _ in tickets:
                timer = timers[pk]
                next_check = None
                if status in RUNNING_STATUSES:
                    next_check = next_idle_check(
                        since=timer.since,
                        fired_seconds=timer.fired_seconds,
                        durations=durations,
                        calendar=calendar,
                    )
                rows.append((next_check, pk))
            update_rows(IdleTimer, ["next_check_at"], [(n, pk) for n, pk in rows])
        done += len(tickets)
        after_id = tickets[-1][0]

"""The sweep: record every warning, breach and “no update” that has come due, exactly
once, and hand the matching escalation rules to the outbox.

Each batch is one transaction: claim due rows through the partial `next_check_at` index
of the clocks' narrow schedule rows (SlaSchedule) or of the idle timers
(`FOR UPDATE SKIP LOCKED` on PostgreSQL, so several workers sweep at once without waiting
on each other; SQLite serialises writers anyway), insert one `SlaEvent` per (clock, kind,
instant) under a UNIQUE constraint with ON CONFLICT DO NOTHING, write the outbox rows for
the events this batch inserted, and move each row's `next_check_at` forward. A worker
killed mid-batch rolls the whole batch back; a second sweep of the same rows (a duplicated
message, a service that rescheduled a clock from a stale read) inserts nothing new.

On PostgreSQL a batch of clocks is ONE statement (slas/sweep_statement.py: claim, events,
rules matched in SQL, outbox rows, advance, as data-modifying CTEs), so Python never
handles the due rows; on SQLite, which has no data-modifying CTEs, the same steps run
from Python (`_sweep_clocks_stepwise`). The idle timers need the calendars' business-time
math, and are swept from Python on both.

The cost is proportional to what is due: one indexed range read, one insert and one
update per batch. A clock's checks (each warning and the breach, with its instant) were
computed by the service that last changed the clock and stored in its schedule row
(slas/checks.py), so the sweep does no business-time math: it reads what is due from the
row and moves `next_check_at` to the next stored instant. It never writes the clock row:
a breach is marked on the schedule row (`breached`), and the clock services copy it onto
the clock (`breached_at`) when the run ends.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import QuerySet

from outbox.services import outbox_deliver_after_commit
from servicedesk.db import update_rows
from slas import hooks
from slas.checks import BREACH, due_checks
from slas.events import (
    ESCALATION_DELIVERY_CHUNK,
    EventRow,
    TicketFacts,
    due_clock_events,
    record_events,
)
from slas.idle import next_idle_check
from slas.models import IdleTimer, SlaEvent, SlaSchedule
from slas.rulebook import RuleBook
from slas.services import calendars_for
from slas.sweep_statement import sweep_in_one_statement
from tickets.models import Ticket

UNNARROWED = (0, 0, None)  # ticket facts no rule of the department looks at
# Rows per transaction. 2,000: a sweep of a thousand due (what beat finds on a busy desk)
# is one transaction, not one of 1,000 and another of the few left over, each with its
# claim, inserts, update, commit and delivery tasks; a backlog drains in batches of
# 2,000, each well under a second.
BATCH_SIZE = 2000
Trigger = SlaEvent.Kind


@dataclass
class SweepResult:
    claimed: int = 0  # clocks and timers looked at
    recorded: int = 0  # events this sweep inserted
    more: bool = False  # stopped on its time budget with rows still due


@dataclass
class _Batch:
    now: datetime
    rule_book: RuleBook | None = None
    events: list[EventRow] = field(default_factory=list)
    # Where the next claim of clocks starts on PostgreSQL: the earliest due clock the
    # probe found, then the latest one a batch claimed (`_first_due` says why).
    clocks_from: datetime | None = None

    @property
    def rules(self) -> RuleBook:
        """The active rules, read when first needed (the one-statement clock batch on
        PostgreSQL matches rules in SQL and never needs them)."""
        if self.rule_book is None:
            self.rule_book = RuleBook.load()
        return self.rule_book


def sla_sweep(
    *,
    now: datetime,
    batch_size: int = BATCH_SIZE,
    time_budget: float = 20.0,
    on_backlog: Callable[[], object] | None = None,
) -> SweepResult:
    """Process everything due at `now`, batch by batch, until nothing is due or
    `time_budget` seconds have passed. `on_backlog` is called once if the first batch is
    full (a backlog after an outage), so the caller can ask another worker to help."""
    result = SweepResult()
    started = time.monotonic()
    # Most sweeps find nothing: one query of two index probes, no transaction, no rules.
    first_clock, timers_due = _first_due(now)
    due = [
        sweep_batch
        for sweep_batch, found in zip(
            (_sweep_clocks, _sweep_idle_timers), (first_clock is not None, timers_due), strict=True
        )
        if found
    ]
    if not due:
        return result
    batch = _Batch(now=now, clocks_from=first_clock)
    for sweep_batch in due:
        while True:
            batch.events = []
            claimed, recorded = sweep_batch(batch, batch_size)
            result.claimed += claimed
            result.recorded += recorded
            if claimed < batch_size:
                break
            if on_backlog is not None:
                on_backlog()
                on_backlog = None
            if time.monotonic() - started > time_budget:
                result.more = True
                return result
    return result


def _first_due(now: datetime) -> tuple[datetime | None, bool]:
    """The earliest `next_check_at` of a clock due at `now` (None: none), and whether any
    idle timer is due: one round trip.

    The claims of this sweep start there (`next_check_at >= ...`), and each further batch
    at the latest row the previous one claimed. Every row a sweep moves on leaves its old
    entry at the front of the partial `next_check_at` index, pointing at a dead row
    version; an index scan from the start visits the row of each such entry to find it
    dead, and can mark the entry so that later scans skip it only once no transaction
    anywhere on the server is older than the sweep that moved it. While one is (a report,
    a backup, a long migration), every scan from the start walks all the entries the
    sweeps left since the last VACUUM: thousands a minute, each a heap page visit. This
    probe walks them once; the claim does not walk them again. A row that a service makes
    due below that start while the sweep runs is not lost: the next sweep's probe, which
    has no lower bound, finds it."""
    ops = connection.ops
    schedules = ops.quote_name(SlaSchedule._meta.db_table)
    timers = ops.quote_name(IdleTimer._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT (SELECT next_check_at FROM {schedules} WHERE next_check_at <= %s "  # noqa: S608
            f"ORDER BY next_check_at LIMIT 1), "
            f"EXISTS (SELECT 1 FROM {timers} WHERE next_check_at <= %s)",
            [now, now],
        )
        first_clock, timers_due = cursor.fetchone()
    return first_clock, bool(timers_due)


def due_clocks_sql(*, limit: int) -> str:
    """The claim of the stepwise sweep (SQLite): up to `limit` clocks due for a check
    (one parameter, now), soonest first, through the schedule's partial index, rows
    another sweep or a service holds skipped where the database can. (SQLite removes an
    index entry when its row changes: it has none of the dead entries `_first_due` steps
    over, and needs no start.) It reads only the narrow schedule rows, never the
    clocks. Plain SQL returning tuples: building model rows (or the ORM's values_list
    with its converters) for a thousand clocks was a fifth of a sweep's Python time."""
    table = connection.ops.quote_name(SlaSchedule._meta.db_table)
    lock = ""
    if connection.features.has_select_for_update_skip_locked:
        lock = " FOR UPDATE SKIP LOCKED"
    return (
        "SELECT clock_id, ticket_id, department_id, kind, checks, warned_percent, "  # noqa: S608
        f"breached FROM {table} WHERE next_check_at <= %s ORDER BY next_check_at "
        f"LIMIT {int(limit)}{lock}"
    )


def due_clocks(*, now: datetime, limit: int) -> list[tuple[Any, ...]]:
    """Claim the clocks due at `now` (due_clocks_sql), inside a transaction: (id, ticket,
    department, kind, stored checks, warned percent, breached) each."""
    with connection.cursor() as cursor:
        cursor.execute(due_clocks_sql(limit=limit), [now])
        return cursor.fetchall()


def _ticket_facts(
    rules: RuleBook, rows: list[tuple[Any, ...]]
) -> dict[int, tuple[int, int, int | None]]:
    """(request type, priority, requesting department) of the claimed clocks' tickets, for
    rules narrowed by them; read only for departments that have such rules. Unneeded, the
    join costs a random read of a ticket row per clock (measured: the larger part of a
    sweep's page reads at 1,000,000 open tickets)."""
    ticket_ids = [row[1] for row in rows if rules.narrows(row[2])]
    if not ticket_ids:
        return {}
    return {
        pk: (request_type_id, priority, requesting_id)
        for pk, request_type_id, priority, requesting_id in Ticket.objects.filter(
            pk__in=ticket_ids
        ).values_list("pk", "request_type_id", "priority", "requesting_department_id")
    }


def due_idle_timers(*, now: datetime, limit: int) -> QuerySet[IdleTimer, tuple[Any, ...]]:
    """The same for “no update” timers."""
    return (
        IdleTimer.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(next_check_at__lte=now)
        .order_by("next_check_at")
        .values_list(
            "pk", "department_id", "since", "fired_seconds", "ticket__status",
            "ticket__department_id", "ticket__request_type_id", "ticket__priority",
            "ticket__requesting_department_id",
        )[:limit]
    )  # fmt: skip


def _sweep_clocks(batch: _Batch, limit: int) -> tuple[int, int]:
    """One batch of clocks, in one transaction: on PostgreSQL one statement
    (slas/sweep_statement.py); elsewhere the same steps from Python."""
    if connection.vendor != "postgresql":
        return _sweep_clocks_stepwise(batch, limit)
    with transaction.atomic():
        swept = sweep_in_one_statement(now=batch.now, limit=limit, start=batch.clocks_from)
        hooks.events_recorded(hooks.EventsRecorded(event_ids=swept.event_ids, now=batch.now))
        outbox_deliver_after_commit(swept.message_ids, chunk=ESCALATION_DELIVERY_CHUNK)
    batch.clocks_from = swept.last_due or batch.clocks_from
    return swept.claimed, len(swept.event_ids)


def _sweep_clocks_stepwise(batch: _Batch, limit: int) -> tuple[int, int]:
    """SQLite (no data-modifying CTEs; it serialises writers, so no lock clause): claim,
    decode the stored checks and match the rules in Python, and record the events through
    `record_events`, as the clock services do; then advance the rows."""
    now = batch.now
    with transaction.atomic():
        rows = due_clocks(now=now, limit=limit)
        if not rows:
            return 0, 0
        facts_of = _ticket_facts(batch.rules, rows)
        updates: list[tuple[Any, ...]] = []
        for pk, ticket_id, department_id, kind, checks, warned, breached in rows:
            due, next_check = due_checks(checks, warned_percent=warned, breached=breached, now=now)
            if due:
                facts = TicketFacts(ticket_id, department_id, *facts_of.get(ticket_id, UNNARROWED))
                batch.events += due_clock_events(
                    due, clock_id=pk, clock_kind=kind, facts=facts, rules=batch.rules
                )
                for check in due:
                    if check.percent == BREACH:
                        breached = True
                    else:
                        warned = check.percent
            updates.append((next_check, warned, bool(breached), pk))
        recorded = record_events(batch.events, now=now)
        update_rows(SlaSchedule, ["next_check_at", "warned_percent", "breached"], updates)
    return len(rows), recorded


def _sweep_idle_timers(batch: _Batch, limit: int) -> tuple[int, int]:
    now = batch.now
    with transaction.atomic():
        rows = list(due_idle_timers(now=now, limit=limit))
        if not rows:
            return 0, 0
        calendars = calendars_for(row[1] for row in rows)
        updates: list[tuple[Any, ...]] = []
        for (
            ticket_id, department_id, since, fired, status, ticket_department_id,
            request_type_id, priority, requesting_id,
        ) in rows:  # fmt: skip
            durations = batch.rules.idle_seconds(department_id)
            calendar = calendars[department_id]
            running = status in (Ticket.Status.NEW, Ticket.Status.OPEN)
            if not running or department_id != ticket_department_id:
                updates.append((None, fired, ticket_id))
                continue
            for seconds in durations:
                if seconds <= fired:
                    continue
                instant = next_idle_check(
                    since=since, fired_seconds=fired, durations=[seconds], calendar=calendar
                )
                if instant is None or instant > now:
                    break
                rule_ids = batch.rules.match(
                    department_id=department_id,
                    trigger=Trigger.NO_UPDATE,
                    threshold=seconds,
                    request_type_id=request_type_id,
                    priority=priority,
                    requesting_department_id=requesting_id,
                )
                batch.events.append(
                    EventRow(
                        ticket_id,
                        None,
                        department_id,
                        Trigger.NO_UPDATE,
                        seconds,
                        instant,
                        rule_ids,
                    )
                )
                fired = seconds
            next_check = next_idle_check(
                since=since, fired_seconds=fired, durations=durations, calendar=calendar
            )
            updates.append((next_check, fired, ticket_id))
        recorded = record_events(batch.events, now=now)
        update_rows(IdleTimer, ["next_check_at", "fired_seconds"], updates)
    return len(rows), recorded

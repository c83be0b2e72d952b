"""What filing a ticket starts in slas, written together: its SLA clocks (each with its
schedule row and first segment), the ticket's deadline columns and its “no update” timer.

Two ticket hooks (slas/apps.py), for filing only: `sla_on_ticket_filing` before the
ticket is inserted computes its clocks and sets the ticket's deadline columns, so the
ticket row is written with them (an UPDATE of it afterwards wrote a second version of
the row with an entry in each of its indexes); `sla_on_ticket_filed` (hooks.CREATED)
writes the clocks and the timer. `sla_on_ticket_change` and `idle_on_ticket_change`
handle every later change. The deadlines are computed in Python by the same code as
every other clock start (`sla_clocks_new`, `idle_restart_check`, on slas/clock.py); on
PostgreSQL the rows are then written by ONE statement (data-modifying CTEs), where the
ORM took four (clocks, schedules, segments, the timer), each more Python to build than
to run. SQLite has no data-modifying CTEs: the same rows in those four statements there.

The clocks written stay on the ticket instance in hand (`sla_clocks_filed`), so the API
answers a filing with them without reading them back.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection, connections

from servicedesk.db import execute_prepared, pg_array
from slas.idle import idle_restart_check
from slas.models import IdleTimer, SlaClock, SlaSchedule, SlaSegment
from slas.services import sla_clocks_insert_running, sla_clocks_new, soonest_deadlines
from tickets import hooks
from tickets.models import Ticket

Kind = SlaClock.Kind
FILED_KINDS = (Kind.FIRST_RESPONSE, Kind.RESOLUTION)


def sla_on_ticket_filing(ticket: Ticket, now: datetime) -> None:
    """Filing hook, before the insert: the new ticket's clocks (in memory, on the
    ticket) and its deadline columns."""
    clocks = sla_clocks_new(ticket=ticket, now=now, kinds=FILED_KINDS)
    # A new ticket is new, never waiting: every clock runs.
    ticket.sla_due_at, ticket.sla_at_risk_at = soonest_deadlines(
        [0], [(0, c.due_at, c.at_risk_at) for c in clocks]
    )[0]
    ticket._sla_clocks_filed = clocks  # type: ignore[attr-defined]


def sla_on_ticket_filed(change: hooks.TicketChange) -> None:
    """Ticket hook: write a new ticket's clocks (`sla_on_ticket_filing`) and start its
    timer."""
    if change.kind != hooks.CREATED:
        return
    ticket, now = change.ticket, change.now
    clocks = sla_clocks_filed(ticket)
    if clocks is None:
        raise RuntimeError(
            f"{ticket.reference} was announced as created without ticket_filing first"
        )
    for sla_clock in clocks:
        sla_clock.ticket = ticket  # assigned before the ticket had its id
    idle_check = idle_restart_check(ticket=ticket, now=now)
    if connection.vendor == "postgresql":
        _write_in_one_statement(ticket=ticket, clocks=clocks, idle_check=idle_check, now=now)
    else:
        _write(ticket=ticket, clocks=clocks, idle_check=idle_check, now=now)


def sla_clocks_filed(ticket: Ticket) -> list[SlaClock] | None:
    """The clocks filing started, as written, if `ticket` is the instance ticket_create
    returned (None: any other instance; read them)."""
    return getattr(ticket, "_sla_clocks_filed", None)


def _write(
    *, ticket: Ticket, clocks: list[SlaClock], idle_check: datetime | None, now: datetime
) -> None:
    sla_clocks_insert_running(clocks, now=now)
    IdleTimer.objects.create(
        ticket=ticket, department_id=ticket.department_id, since=now, next_check_at=idle_check
    )


def _write_in_one_statement(
    *, ticket: Ticket, clocks: list[SlaClock], idle_check: datetime | None, now: datetime
) -> None:
    """The rows `_write` writes, in one statement; the clocks get their ids."""
    db = connections[DEFAULT_DB_ALIAS]  # the connection itself, not the proxy's lookups
    q = db.ops.quote_name
    clock, schedule, segment, timer = (
        q(model._meta.db_table) for model in (SlaClock, SlaSchedule, SlaSegment, IdleTimer)
    )
    params: dict[str, Any] = {
        "ticket": ticket.pk,
        "department": ticket.department_id,
        "now": now,
        "running": SlaClock.State.RUNNING,
        "segment_running": SlaSegment.State.RUNNING,
        "policy": clocks[0].policy_id if clocks else None,
        "warnings": json.dumps(clocks[0].warning_percents if clocks else []),
        "kinds": pg_array(c.kind for c in clocks),
        "targets": pg_array(c.target_seconds for c in clocks),
        "due": pg_array(c.due_at for c in clocks),
        "at_risk": pg_array(c.at_risk_at for c in clocks),
        "next_check": pg_array(c.next_check_at for c in clocks),
        "checks": pg_array(c.sweep_schedule.checks for c in clocks),
        "idle_check": idle_check,
    }
    # The clocks of one filing share their policy and warnings (sla_clocks_new).
    sql = f"""
WITH v (kind, target_seconds, due_at, at_risk_at, next_check_at, checks) AS (
    SELECT * FROM unnest(%(kinds)s::text[], %(targets)s::integer[], %(due)s::timestamptz[],
        %(at_risk)s::timestamptz[], %(next_check)s::timestamptz[], %(checks)s::text[])
), c AS (
    INSERT INTO {clock} (ticket_id, department_id, policy_id, kind, state, target_seconds,
        warning_percents, started_at, consumed_seconds, running_since, due_at, at_risk_at,
        stop_reason, updated_at)
    SELECT %(ticket)s, %(department)s, %(policy)s, v.kind, %(running)s, v.target_seconds,
        %(warnings)s::jsonb, %(now)s, 0, %(now)s, v.due_at, v.at_risk_at, '', %(now)s FROM v
    RETURNING id, kind
), s AS (
    INSERT INTO {schedule} (clock_id, next_check_at, warned_percent, ticket_id, department_id,
        kind, checks, breached)
    SELECT c.id, v.next_check_at, 0, %(ticket)s, %(department)s, c.kind, v.checks, false
    FROM c JOIN v ON v.kind = c.kind
), g AS (
    INSERT INTO {segment} (clock_id, department_id, state, reason, started_at)
    SELECT c.id, %(department)s, %(segment_running)s, '', %(now)s FROM c
), i AS (
    INSERT INTO {timer} (ticket_id, department_id, since, fired_seconds, next_check_at)
    VALUES (%(ticket)s, %(department)s, %(now)s, 0, %(idle_check)s)
)
SELECT id, kind FROM c"""  # noqa: S608 (names from the models)
    with db.cursor() as cursor:
        execute_prepared(cursor, label="sla_filed", sql=sql, params=params)
        ids = {kind: pk for pk, kind in cursor.fetchall()}
    for sla_clock in clocks:
        sla_clock.pk = ids[sla_clock.kind]
        sla_clock._state.adding, sla_clock._state.db = False, db.alias
        sla_clock.sweep_schedule.copy_clock(sla_clock)

"""Recording SLA events: once per (clock, kind, instant), whoever notices first.

The sweep records what has come due; the clock services record a threshold that passed
before the sweep saw it, when a clock is paused, met or stopped right after it. Both go
through `record_events`, and the UNIQUE constraints make the second writer a no-op.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from django.db import connection

from outbox.models import Message
from outbox.services import outbox_enqueue_many
from slas.models import SlaEvent
from slas.rulebook import RuleBook

if TYPE_CHECKING:
    from slas.services import Check

NO_RULE = "No escalation rule applies."


class EventRow(NamedTuple):
    ticket_id: int
    clock_id: int | None  # None for “no update”
    department_id: int
    kind: str
    threshold: int  # percent of the target, or idle seconds
    instant: datetime
    rule_ids: list[int]  # the rules that fire, in level order


class TicketFacts(NamedTuple):
    """What rules are narrowed by."""

    ticket_id: int
    department_id: int
    request_type_id: int
    priority: int
    requesting_department_id: int | None


def due_clock_events(
    checks: Iterable[Check],
    *,
    now: datetime,
    clock_id: int,
    clock_kind: str,
    facts: TicketFacts,
    rules: RuleBook,
) -> tuple[list[EventRow], datetime | None]:
    """The events of a clock's checks that have come due by `now` (with the rules they
    fire), and the instant of the next check still ahead (None: nothing ahead)."""
    rows: list[EventRow] = []
    for check in checks:
        if check.instant > now:
            return rows, check.instant
        kind = SlaEvent.Kind.BREACH if check.kind == "breach" else SlaEvent.Kind.WARNING
        rule_ids = rules.match(
            department_id=facts.department_id,
            trigger=kind,
            clock_kind=clock_kind,
            threshold=check.percent,
            request_type_id=facts.request_type_id,
            priority=facts.priority,
            requesting_department_id=facts.requesting_department_id,
        )
        rows.append(
            EventRow(
                facts.ticket_id, clock_id, facts.department_id, kind, check.percent,
                check.instant, rule_ids,
            )
        )  # fmt: skip
    return rows, None


def record_events(rows: list[EventRow], *, now: datetime) -> int:
    """Insert the events, skipping any already recorded (INSERT ... ON CONFLICT DO
    NOTHING); write one outbox row per newly inserted event that has rules to run (an
    event without rules is stored handled). Returns how many were inserted."""
    if not rows:
        return 0
    ops = connection.ops
    recorded_at = ops.adapt_datetimefield_value(now)
    values = []
    params: list[Any] = []
    for row in rows:
        values.append("(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)")
        params += [
            row.ticket_id, row.clock_id, row.department_id, str(row.kind), row.threshold,
            ops.adapt_datetimefield_value(row.instant), recorded_at, json.dumps(row.rule_ids),
            None if row.rule_ids else recorded_at, "" if row.rule_ids else NO_RULE,
        ]  # fmt: skip
    table = ops.quote_name(SlaEvent._meta.db_table)
    sql = (
        f"INSERT INTO {table} (ticket_id, clock_id, department_id, kind, threshold, "  # noqa: S608
        f"instant, recorded_at, rule_ids, handled_at, outcome) VALUES {', '.join(values)} "
        "ON CONFLICT DO NOTHING RETURNING id, ticket_id, clock_id, kind, threshold"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        inserted = cursor.fetchall()
    with_rules = {
        (row.ticket_id, row.clock_id, str(row.kind), row.threshold) for row in rows if row.rule_ids
    }
    outbox_enqueue_many(
        messages=[
            {
                "topic": Message.Topic.ESCALATION,
                "dedupe_key": f"sla-event:{event_id}",
                "payload": {"event_id": event_id},
            }
            for event_id, ticket_id, clock_id, kind, threshold in inserted
            if (ticket_id, clock_id, kind, threshold) in with_rules
        ]
    )
    return len(inserted)

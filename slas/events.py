"""Recording SLA events: once per (clock, kind, instant), whoever notices first.

The sweep records what has come due; the clock services record a threshold that passed
before the sweep saw it, when a clock is paused, met or stopped right after it. Both go
through `record_events`, and the UNIQUE constraints make the second writer a no-op.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, NamedTuple

from django.db import connection

from outbox.models import Message
from outbox.services import outbox_enqueue_many
from servicedesk.db import pg_unnest
from slas import hooks
from slas.models import SlaEvent
from slas.rulebook import RuleBook

if TYPE_CHECKING:
    from slas.checks import Check

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
    clock_id: int,
    clock_kind: str,
    facts: TicketFacts,
    rules: RuleBook,
) -> list[EventRow]:
    """The events of a clock's checks that have come due (slas/checks.py `due_checks`),
    with the rules they fire."""
    rows: list[EventRow] = []
    for check in checks:
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
    return rows


def _json_lists(lists: list[list[int]]) -> list[str]:
    """json.dumps of each list, once per distinct list (events share a few rule lists)."""
    texts: dict[tuple[int, ...], str] = {}
    out = []
    for ids in lists:
        key = tuple(ids)
        text = texts.get(key)
        if text is None:
            text = texts[key] = json.dumps(ids)
        out.append(text)
    return out


ESCALATION_CHUNK = 20  # events per escalation outbox message
# Escalation messages per delivery task: 200 events, so a batch of 1,000 is five tasks
# that several workers share. Publishing a task costs about a millisecond of the sweep's
# CPU, but a longer task keeps a solo worker from the sweep's queue for longer: with
# 500 events a task, the detection benchmark's p99 went from 30 s to 94 s (00:05 run).
ESCALATION_DELIVERY_CHUNK = 10


def record_events(rows: list[EventRow], *, now: datetime) -> int:
    """Insert the events, skipping any already recorded (INSERT ... ON CONFLICT DO
    NOTHING); write one escalation outbox row per ESCALATION_CHUNK newly inserted events
    that have rules to run (an event without rules is stored handled). Returns how many
    were inserted.

    A message carries several events (`{"event_ids": [...]}`) because a sweep records
    them by the thousand and one outbox row each was a third of its cost; the worker
    still handles each event in its own transaction, under the event's lock and
    `handled_at` (slas/escalations.py), so exactly once stays per event."""
    if not rows:
        return 0
    ops = connection.ops
    table = ops.quote_name(SlaEvent._meta.db_table)
    columns = (
        "ticket_id, clock_id, department_id, kind, threshold, instant, recorded_at, "
        "rule_ids, handled_at, outcome"
    )
    returning = "ON CONFLICT DO NOTHING RETURNING id, ticket_id, clock_id, kind, threshold"
    if connection.vendor == "postgresql":
        # One array per column: a statement of constant size, not 10 literals a row.
        unnest, params = pg_unnest(
            [
                ("bigint", [row.ticket_id for row in rows]),
                ("bigint", [row.clock_id for row in rows]),
                ("bigint", [row.department_id for row in rows]),
                ("text", [row.kind for row in rows]),
                ("integer", [row.threshold for row in rows]),
                ("timestamptz", [row.instant for row in rows]),
                ("text", _json_lists([row.rule_ids for row in rows])),
            ]
        )
        sql = (
            f"INSERT INTO {table} ({columns}) "  # noqa: S608
            "SELECT t, c, d, k, th, i, %s, r::jsonb, "
            "CASE WHEN r = '[]' THEN %s::timestamptz END, "
            f"CASE WHEN r = '[]' THEN %s ELSE '' END FROM {unnest} AS v(t, c, d, k, th, i, r) "
            f"{returning}"
        )
        params = [now, now, NO_RULE, *params]
    else:
        recorded_at = ops.adapt_datetimefield_value(now)
        values = []
        params = []
        for row in rows:
            values.append("(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)")
            params += [
                row.ticket_id, row.clock_id, row.department_id, str(row.kind), row.threshold,
                ops.adapt_datetimefield_value(row.instant), recorded_at, json.dumps(row.rule_ids),
                None if row.rule_ids else recorded_at, "" if row.rule_ids else NO_RULE,
            ]  # fmt: skip
        sql = f"INSERT INTO {table} ({columns}) VALUES {', '.join(values)} {returning}"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        inserted = cursor.fetchall()
    hooks.events_recorded(hooks.EventsRecorded(event_ids=[row[0] for row in inserted], now=now))
    with_rules = {
        (row.ticket_id, row.clock_id, str(row.kind), row.threshold) for row in rows if row.rule_ids
    }
    acting = sorted(
        event_id
        for event_id, ticket_id, clock_id, kind, threshold in inserted
        if (ticket_id, clock_id, kind, threshold) in with_rules
    )
    chunks = [acting[i : i + ESCALATION_CHUNK] for i in range(0, len(acting), ESCALATION_CHUNK)]
    outbox_enqueue_many(
        messages=[
            {
                "topic": Message.Topic.ESCALATION,
                "dedupe_key": f"sla-event:{chunk[0]}",
                "payload": {"event_ids": chunk},
            }
            for chunk in chunks
        ],
        delivery_chunk=ESCALATION_DELIVERY_CHUNK,
    )
    return len(inserted)

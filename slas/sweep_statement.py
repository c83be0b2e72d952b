"""A batch of the clock sweep as ONE PostgreSQL statement: Python never sees the rows.

Data-modifying CTEs, in order (one snapshot, one round trip, one plan):

- `claimed`: up to `limit` schedule rows due at `now`, soonest first, through the
  partial `next_check_at` index, `FOR UPDATE SKIP LOCKED` (concurrent sweeps claim
  disjoint rows and never wait on a service holding a clock);
- `stored`: each claimed row's stored checks (slas/checks.py `encode_checks`, a JSON list
  of [percent, microseconds since the epoch], read as a 2-D bigint array), and whether
  each is due: reached by `now` and not recorded yet (a warning above `warned_percent`,
  the breach unless `breached`), the same rule as `due_checks`;
- `fired`: the active escalation rules the due events fire, in level order, matched
  against the rule tables in SQL (the same conditions as `RuleSpec.applies`; tests check
  both agree), once per kind of event (department, kind, target, threshold), and per
  ticket only in departments with a rule narrowed by request type, priority or
  requesting department (whose ticket rows are read for it);
- `inserted`: the events, `ON CONFLICT DO NOTHING` under their UNIQUE constraint (a
  second sweep of the same rows, or a service that recorded a check first, adds nothing);
  an event without rules is stored handled;
- `messages`: one escalation outbox row per ESCALATION_CHUNK of the events just inserted
  that have rules (outbox/services.py `outbox_insert_sql`);
- `advanced`: each claimed row's `next_check_at` moved to its first stored check still
  ahead (NULL: none), `warned_percent` and `breached` raised by what was recorded. The
  rows are found by the `ctid` the claim returned (locked, they cannot move): no index
  descent per row. A row a service changed and committed after this statement's snapshot
  was taken, but before the claim locked it, is claimed in its new version, which the
  snapshot of the UPDATE does not see: it keeps its `next_check_at`, and the next sweep
  claims it again, records nothing twice (the UNIQUE constraint) and advances it.

The statement returns how many rows it claimed, the ids of the events and outbox rows it
inserted (for the hooks and the delivery tasks after commit), and the latest
`next_check_at` it claimed (where the next batch of the same sweep starts its claim).

On SQLite (the embedded default), which has no data-modifying CTEs, slas/sweep.py runs the
same steps one by one in Python (`_sweep_clocks_stepwise`): SQLite serialises writers, so
the claim needs no lock, and the events go through `record_events` like the services'.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from django.db import connection

from outbox.models import Message
from outbox.services import outbox_insert_sql
from slas.checks import BREACH, microseconds
from slas.events import ESCALATION_CHUNK, NO_RULE
from slas.models import EscalationRule, SlaEvent, SlaSchedule
from tickets.models import Ticket


def _table(model: Any) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _rules_sql() -> str:
    """The active warning and breach rules with their narrowing lists as arrays."""
    rule = EscalationRule._meta
    types = rule.get_field("request_types").remote_field.through  # type: ignore[union-attr]
    requesting = rule.get_field("requesting_departments").remote_field.through  # type: ignore[union-attr]
    return (
        "SELECT r.id, r.department_id, r.level, r.trigger, r.clock_kind, r.warning_percent, "  # noqa: S608
        "r.priorities, "
        f"ARRAY(SELECT x.requesttype_id FROM {_table(types)} x "
        "WHERE x.escalationrule_id = r.id) AS request_types, "
        f"ARRAY(SELECT x.department_id FROM {_table(requesting)} x "
        "WHERE x.escalationrule_id = r.id) AS requesting "
        f"FROM {_table(EscalationRule)} r WHERE r.is_active "
        "AND r.trigger IN ('warning', 'breach')"
    )


def sweep_statement(
    *, now: datetime, limit: int, start: datetime | None = None
) -> tuple[str, dict[str, Any]]:
    """The statement and its named parameters (module docstring). `start`: claim only rows
    due at or after it (slas/sweep.py `_first_due` says why)."""
    instant = "timestamptz 'epoch' + {} * interval '1 microsecond'"
    messages, params = outbox_insert_sql(
        source=(
            "SELECT %(topic)s, 'sla-event:' || min(id), "
            "jsonb_build_object('event_ids', jsonb_agg(id ORDER BY id)) FROM ("
            "SELECT id, (row_number() OVER (ORDER BY id) - 1) / %(chunk)s AS chunk "
            "FROM inserted WHERE acting) AS a GROUP BY chunk"
        )
    )
    since = " AND next_check_at >= %(start)s" if start is not None else ""
    sql = f"""
WITH claimed AS (
    SELECT ctid, clock_id, ticket_id, department_id, kind, warned_percent, breached,
        next_check_at,
        -- The JSON list of pairs read as a 2-D bigint array literal (brackets made
        -- braces), once per row: a fraction of the cost of parsing it as JSON.
        translate(nullif(checks, ''), '[]', '{{}}')::bigint[] AS checks
    FROM {_table(SlaSchedule)} WHERE next_check_at <= %(now)s{since}
    ORDER BY next_check_at LIMIT {int(limit)} FOR UPDATE SKIP LOCKED
), stored AS (
    SELECT c.ctid, c.clock_id, c.ticket_id, c.department_id, c.kind AS clock_kind,
        c.warned_percent, c.breached, s.percent, s.at,
        coalesce(s.at <= %(now_us)s AND CASE WHEN s.percent = {BREACH}
            THEN NOT c.breached ELSE s.percent > c.warned_percent END, false) AS due
    FROM claimed c LEFT JOIN LATERAL (
        SELECT c.checks[i][1]::integer, c.checks[i][2] FROM generate_subscripts(c.checks, 1) i
    ) AS s(percent, at) ON true
), rules AS MATERIALIZED (
    SELECT *, cardinality(request_types) > 0 OR priorities <> '[]'::jsonb
        OR cardinality(requesting) > 0 AS narrowed
    FROM ({_rules_sql()}) AS r
), due AS (
    SELECT clock_id, ticket_id, department_id, clock_kind, percent,
        CASE WHEN percent = {BREACH} THEN '{SlaEvent.Kind.BREACH}'
            ELSE '{SlaEvent.Kind.WARNING}' END AS kind,
        {instant.format("at")} AS instant,
        -- Events alike but for their ticket fire the same rules unless a rule of the
        -- department looks at the ticket: the rules are matched once per `match`.
        CASE WHEN department_id IN (SELECT department_id FROM rules WHERE narrowed)
            THEN ticket_id ELSE 0 END AS match_ticket
    FROM stored WHERE due
), fired AS (
    SELECT m.department_id, m.kind, m.clock_kind, m.percent, m.match_ticket,
        jsonb_agg(r.id ORDER BY r.level, r.id) AS rule_ids
    FROM (SELECT DISTINCT department_id, kind, clock_kind, percent, match_ticket FROM due) m
    JOIN rules r ON r.department_id = m.department_id AND r.trigger = m.kind
        AND (r.clock_kind = '' OR r.clock_kind = m.clock_kind)
        AND (r.warning_percent IS NULL OR r.warning_percent = m.percent)
        AND (NOT r.narrowed OR EXISTS (
            SELECT 1 FROM {_table(Ticket)} t WHERE t.id = m.match_ticket
            AND (cardinality(r.request_types) = 0 OR t.request_type_id = ANY(r.request_types))
            AND (r.priorities = '[]'::jsonb OR r.priorities @> to_jsonb(t.priority))
            AND (cardinality(r.requesting) = 0 OR t.requesting_department_id = ANY(r.requesting))
        ))
    GROUP BY m.department_id, m.kind, m.clock_kind, m.percent, m.match_ticket
), inserted AS (
    INSERT INTO {_table(SlaEvent)} (ticket_id, clock_id, department_id, kind, threshold,
        instant, recorded_at, rule_ids, handled_at, outcome)
    SELECT d.ticket_id, d.clock_id, d.department_id, d.kind, d.percent, d.instant, %(now)s,
        coalesce(f.rule_ids, '[]'::jsonb),
        CASE WHEN f.rule_ids IS NULL THEN %(now)s::timestamptz END,
        CASE WHEN f.rule_ids IS NULL THEN %(no_rule)s ELSE '' END
    FROM due d LEFT JOIN fired f
        USING (department_id, kind, clock_kind, percent, match_ticket)
    ON CONFLICT DO NOTHING
    RETURNING id, rule_ids <> '[]'::jsonb AS acting
), messages AS ({messages}
), advance AS (
    SELECT clock_id, ctid,
        min(at) FILTER (WHERE at > %(now_us)s) AS next_at,
        max(CASE WHEN due AND percent < {BREACH} THEN percent ELSE warned_percent END) AS warned,
        bool_or(breached OR (due AND percent = {BREACH})) AS breached
    FROM stored GROUP BY clock_id, ctid
), advanced AS (
    UPDATE {_table(SlaSchedule)} s SET next_check_at = {instant.format("a.next_at")},
        warned_percent = a.warned, breached = a.breached
    FROM advance a WHERE s.ctid = a.ctid
        AND s.ctid = ANY(ARRAY(SELECT ctid FROM claimed))
)
SELECT (SELECT count(*) FROM claimed),
    ARRAY(SELECT id FROM inserted ORDER BY id),
    ARRAY(SELECT id FROM messages ORDER BY id),
    (SELECT max(next_check_at) FROM claimed)
"""  # noqa: S608 (table names from the models; values are parameters)
    params.update(
        topic=Message.Topic.ESCALATION,
        now=now,
        now_us=microseconds(now),
        chunk=ESCALATION_CHUNK,
        no_rule=NO_RULE,
        start=start,
    )
    return sql, params


class Swept(NamedTuple):
    claimed: int  # schedule rows claimed
    event_ids: list[int]  # events inserted
    message_ids: list[int]  # escalation outbox rows written
    last_due: datetime | None  # the latest `next_check_at` claimed (None: nothing claimed)


def sweep_in_one_statement(*, now: datetime, limit: int, start: datetime | None = None) -> Swept:
    """Run one batch (inside the caller's transaction)."""
    sql, params = sweep_statement(now=now, limit=limit, start=start)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return Swept(*cursor.fetchone())

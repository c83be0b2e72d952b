"""The two SLA queries that must stay cheap whatever the number of tickets use their
partial indexes, not a sequential scan: the sweep finding clocks due for a check (its
one statement: claim, events, outbox, advance), and the agent queue ordered by "due
soonest".

PostgreSQL's planner decides, so this runs on PostgreSQL only (CI's services phase sets
REQUIRE_SERVICES=1, and tests/conftest.py then refuses any other database). The tables
are filled like a live desk, mostly finished work with few clocks to check, and analysed,
so the planner chooses as it would in production; enable_seqscan is left on.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, transaction

from slas.models import IdleTimer, SlaClock, SlaEvent, SlaSchedule
from slas.services import sla_clocks_create
from slas.sweep import due_idle_timers
from slas.sweep_statement import sweep_in_one_statement, sweep_statement
from tests.factories import DepartmentFactory, RequestTypeFactory, UserFactory
from tickets.models import Ticket

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="query plans are PostgreSQL's: run with DATABASE_URL=postgres://... "
    "(CI's services phase does, with REQUIRE_SERVICES=1)",
)

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
TICKETS = 5_000
DUE = 40  # running clocks whose next check has come
UPCOMING = 400  # running clocks to check later
FINISHED = 1_250  # met clocks, doubled four times below: 20,000 with nothing to check


@pytest.fixture
def desk(db):
    """5,000 tickets over four departments, a third of them with a due time, and about
    20,000 clocks, of which only 440 are running and 40 are due for a check."""
    departments = [DepartmentFactory(code=code) for code in ("IT", "HR", "FIN", "FAC")]
    types = [RequestTypeFactory(department=d) for d in departments]
    requester = UserFactory(username="rita")
    tickets = Ticket.objects.bulk_create(
        (
            Ticket(
                reference=f"T-{n}",
                department=departments[n % 4],
                request_type=types[n % 4],
                requester=requester,
                created_by=requester,
                title="Printer",
                description="Jammed.",
                description_html="<p>Jammed.</p>",
                status=Ticket.Status.OPEN if n % 3 == 0 else Ticket.Status.CLOSED,
                created_at=NOW - timedelta(minutes=n),
                sla_due_at=NOW + timedelta(minutes=n) if n % 3 == 0 else None,
            )
            for n in range(TICKETS)
        ),
        batch_size=1_000,
    )

    def clock(n: int, next_check_at: datetime | None) -> SlaClock:
        # Running clocks fall on distinct tickets, as one-active-clock-per-kind requires.
        sla_clock = SlaClock(
            ticket=tickets[n],
            department_id=tickets[n].department_id,
            kind=SlaClock.Kind.RESOLUTION,
            state=SlaClock.State.RUNNING if next_check_at else SlaClock.State.MET,
            target_seconds=8 * 3600,
            started_at=NOW - timedelta(days=1),
            updated_at=NOW,
        )
        sla_clock.sweep_schedule.next_check_at = next_check_at  # only the claim is looked at
        return sla_clock

    sla_clocks_create(
        [clock(n, NOW - timedelta(minutes=n)) for n in range(DUE)]
        + [clock(n, NOW + timedelta(minutes=n)) for n in range(DUE, DUE + UPCOMING)]
        + [clock(n, None) for n in range(DUE + UPCOMING, DUE + UPCOMING + FINISHED)]
    )
    # Copy the met clocks in the database (much faster than building them in Python), each
    # with its schedule row (nothing to check).
    table = connection.ops.quote_name(SlaClock._meta.db_table)
    schedules = connection.ops.quote_name(SlaSchedule._meta.db_table)
    columns = ", ".join(
        connection.ops.quote_name(f.column)
        for f in SlaClock._meta.concrete_fields
        if not f.primary_key
    )
    with connection.cursor() as cursor:
        for _ in range(4):
            cursor.execute(
                f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {table} WHERE state = %s",
                [SlaClock.State.MET],
            )
        cursor.execute(
            f"INSERT INTO {schedules} (clock_id, warned_percent, ticket_id, department_id, "
            "kind, checks, breached) "
            f"SELECT id, 0, ticket_id, department_id, kind, '', false FROM {table} "
            f"WHERE id NOT IN (SELECT clock_id FROM {schedules})"
        )
        cursor.execute(f"ANALYZE {Ticket._meta.db_table}, {SlaClock._meta.db_table}, {schedules}")
    assert SlaSchedule.objects.count() == DUE + UPCOMING + FINISHED * 16
    return departments


def test_sweep_claims_due_clocks_through_the_partial_index(desk):
    sql, params = sweep_statement(now=NOW, limit=500)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
        claimed = sweep_in_one_statement(now=NOW, limit=500).claimed

    assert "slaschedule_next_check" in plan, plan
    for model in (SlaSchedule, SlaClock, Ticket, SlaEvent):
        assert f"Seq Scan on {model._meta.db_table}" not in plan, plan
    assert "LockRows" in plan, plan
    assert claimed == DUE


def test_sweep_claims_due_idle_timers_through_the_partial_index(desk):
    tickets = list(Ticket.objects.order_by("pk")[:2000])
    IdleTimer.objects.bulk_create(
        IdleTimer(
            ticket=ticket,
            department_id=ticket.department_id,
            since=NOW - timedelta(days=1),
            next_check_at=NOW + timedelta(minutes=n - DUE) if n < DUE + UPCOMING else None,
        )
        for n, ticket in enumerate(tickets)
    )
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {IdleTimer._meta.db_table}")
    with transaction.atomic():
        due = due_idle_timers(now=NOW, limit=500)
        plan = due.explain()
        rows = list(due)

    assert "idletimer_next_check" in plan, plan
    assert f"Seq Scan on {IdleTimer._meta.db_table}" not in plan, plan
    assert len(rows) == DUE + 1  # minutes -40 .. 0


def test_queue_due_soonest_reads_the_partial_index(desk):
    it = desk[0]
    page = Ticket.objects.filter(department=it, sla_due_at__isnull=False).order_by(
        "sla_due_at", "id"
    )[:26]

    plan = page.explain()

    assert "ticket_dept_sla_due" in plan, plan
    assert f"Seq Scan on {Ticket._meta.db_table}" not in plan, plan
    rows = list(page)
    assert len(rows) == 26
    assert [t.sla_due_at for t in rows] == sorted(t.sla_due_at for t in rows)

""" "Fewest open" counts each agent's open tickets of one department from the
(assignee, status, department) index, reading that agent's open rows only: not a pass
over all of the department's open tickets (which grows with the department: 19.5 ms a
filing at 34,000 open tickets in the bench's database), nor over the agent's finished
ones (22.8 ms at 3,370 per agent, on default estimates).

PostgreSQL's planner decides, so this runs on PostgreSQL only; the table is filled and
vacuumed (autovacuum keeps a live desk's table so) so the planner chooses as it would in
production, and, for the finished tickets, also planned without statistics.
"""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import DepartmentFactory, MembershipFactory, RequestTypeFactory
from tickets.models import Ticket
from tickets.services import _fewest_open_agent

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="query plans are PostgreSQL's: run with DATABASE_URL=postgres://... "
    "(CI's services phase does, with REQUIRE_SERVICES=1)",
)

TICKETS = 6_000


def test_fewest_open_counts_through_the_assignee_status_department_index(transactional_db):
    departments = [DepartmentFactory(code=code) for code in ("IT", "HR", "FIN")]
    types = [RequestTypeFactory(department=d) for d in departments]
    agents = [MembershipFactory(department=d).user for d in departments for _ in range(4)]
    Ticket.objects.bulk_create(
        Ticket(
            reference=f"T-{n}",
            department=departments[n % 3],
            request_type=types[n % 3],
            requester=agents[0],
            created_by=agents[0],
            assignee=agents[(n % 3) * 4 + n % 4],
            title="Printer",
            description="Jammed.",
            description_html="<p>Jammed.</p>",
            status=Ticket.Status.OPEN if n % 2 else Ticket.Status.CLOSED,
        )
        for n in range(TICKETS)
    )
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {Ticket._meta.db_table}")
    with CaptureQueriesContext(connection) as captured:
        assert _fewest_open_agent(department_id=departments[0].pk) == agents[0]
    (executed,) = [q["sql"] for q in captured]
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {executed}")  # EXECUTE of the prepared statement
        plan = "\n".join(row[0] for row in cursor.fetchall())
    # The agent's open tickets of the department, from the index alone.
    assert "Index Only Scan using ticket_assignee_status_dept" in plan, plan
    assert "department_id = " in plan.split("ticket_assignee_status_dept", 1)[1], plan


def _plan(executed: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {executed}")
        return "\n".join(row[0] for row in cursor.fetchall())


def _ticket_index_scans(plan: str) -> list[tuple[str, str, str]]:
    """(index, index condition, filter) of each plan node reading a ticket index."""
    scans = []
    for node in plan.split("->"):
        lines = [line.strip() for line in node.strip().splitlines()]
        assert not lines[0].startswith("Seq Scan on tickets_ticket"), plan
        found = re.match(
            r"(?:Index Scan|Index Only Scan|Bitmap Index Scan) (?:using |on )(\w+)", lines[0]
        )
        if found and found.group(1).startswith(("ticket_", "tickets_ticket_")):
            condition = next((line for line in lines if line.startswith("Index Cond:")), "")
            filter_ = next((line for line in lines if line.startswith("Filter:")), "")
            scans.append((found.group(1), condition, filter_))
    return scans


def test_fewest_open_reads_no_finished_ticket_with_or_without_statistics(transactional_db):
    """The counts never walk the agents' resolved, closed and cancelled tickets, however
    many, whatever the planner knows: without statistics (autovacuum has not analysed the
    table yet) and with them, in the prepared statement's generic plan (cached after five
    executions) and in a custom plan: through the (assignee, status, department) index
    with status a condition of the scan (counted with one `status IN (...)`, the generic
    plan without statistics read status as a filter), or, custom plans on default
    estimates, the department's index of open tickets."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        if not cursor.fetchone()[0]:
            pytest.skip("forgetting a table's statistics takes a superuser")
    department = DepartmentFactory(code="FIN")
    request_type = RequestTypeFactory(department=department)
    agents = [MembershipFactory(department=department).user for _ in range(3)]
    finished = [Ticket.Status.RESOLVED, Ticket.Status.CLOSED, Ticket.Status.CANCELLED]
    # Each agent: 20 open tickets (the last agent 19) and 1,000 finished ones.
    Ticket.objects.bulk_create(
        Ticket(
            reference=f"T-{n}",
            department=department,
            request_type=request_type,
            requester=agents[0],
            created_by=agents[0],
            assignee=agents[n % 3],
            title="Printer",
            description="Jammed.",
            description_html="<p>Jammed.</p>",
            status=Ticket.OPEN_STATUSES[n % 2] if n < 59 else finished[n % 3],
        )
        for n in range(3_059)
    )
    table = Ticket._meta.db_table
    for statistics in ("without", "with"):
        with connection.cursor() as cursor:
            if statistics == "without":
                cursor.execute("DELETE FROM pg_statistic WHERE starelid = %s::regclass", [table])
            else:
                cursor.execute(f"ANALYZE {table}")
        with CaptureQueriesContext(connection) as captured:
            assert _fewest_open_agent(department_id=department.pk) == agents[2]
        (executed,) = [q["sql"] for q in captured]
        for mode in ("force_generic_plan", "force_custom_plan"):
            with connection.cursor() as cursor:
                cursor.execute("DISCARD PLANS")  # (deleted statistics invalidate nothing)
                cursor.execute(f"SET plan_cache_mode = {mode}")
            try:
                plan = _plan(executed)
            finally:
                with connection.cursor() as cursor:
                    cursor.execute("RESET plan_cache_mode")
            scans = _ticket_index_scans(plan)
            assert scans, (statistics, mode, plan)
            for index, condition, filter_ in scans:
                if index == "ticket_dept_active_recent":  # open tickets only
                    continue
                assert index == "ticket_assignee_status_dept", (statistics, mode, plan)
                assert "status" in condition and "status" not in filter_, (statistics, mode, plan)

""" "Fewest open" counts each agent's open tickets of one department from the
(assignee, status, department) index, reading that agent's rows only, not a pass over
all of the department's open tickets (which grows with the department: 19.5 ms a filing
at 34,000 open tickets in the bench's database).

PostgreSQL's planner decides, so this runs on PostgreSQL only; the table is filled and
vacuumed (autovacuum keeps a live desk's table so) so the planner chooses as it would in
production.
"""

from __future__ import annotations

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

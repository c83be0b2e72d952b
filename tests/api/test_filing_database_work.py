"""What an API filing costs PostgreSQL beyond its statements (bench apifiling): the
deferred constraint checks at commit and the triggers its rows fire. Each is work per
filing that the statement counts of test_tickets.py do not see."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from dashboards.models import StaleDay
from slas.models import SlaClock
from tests.factories import TicketFactory
from tickets.models import Ticket

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="PostgreSQL's constraints and triggers"
)
TICKETS = "/api/v1/tickets/"


def _function_calls() -> dict[str, int]:
    """The stale-day functions' calls in this transaction (the test's)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT funcname, calls FROM pg_stat_xact_user_functions "
            "WHERE funcname LIKE 'dashboards_%%'"
        )
        return dict(cursor.fetchall())


def test_filing_calls_no_stale_day_function(
    api_as, it, it_type, requester, make_calendar, make_policy
):
    """A new ticket and its clocks have no instant older than the stale-day cutoff: the
    triggers' WHEN skips them (dashboards.triggers); the function would have marked
    nothing. A ticket filed with an old date (an import) still marks its day."""
    make_calendar("Berlin", "Europe/Berlin", department=it)
    make_policy(it)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL track_functions = 'pl'")
    response = api_as(requester).post(
        TICKETS, {"request_type": it_type.pk, "title": "Laptop", "description": "Broken."},
        format="json",
    )  # fmt: skip
    assert response.status_code == 201
    assert SlaClock.objects.filter(ticket__reference=response.json()["reference"]).count() == 2
    assert _function_calls() == {}
    assert not StaleDay.objects.exists()

    TicketFactory(request_type=it_type, now=timezone.now() - timedelta(days=3))
    assert _function_calls() == {"dashboards_ticket_stale": 1}
    assert StaleDay.objects.filter(department_id=it.pk).exists()


# Every foreign key constraint left on the rows a filing writes: the ticket's own (checked
# once per filing, at commit), the event's actor, the clock's policy (admins delete
# policies) and finished groups (NULL while running: no check), the schedule's clock.
# The ticket's children and their copies of its department have none (SlaClock.ticket).
CONSTRAINED = {
    ("tickets_ticket", "assignee_id"),
    ("tickets_ticket", "created_by_id"),
    ("tickets_ticket", "department_id"),
    ("tickets_ticket", "request_type_id"),
    ("tickets_ticket", "requester_id"),
    ("tickets_ticket", "requesting_department_id"),
    ("tickets_ticketevent", "actor_id"),
    ("slas_slaclock", "policy_id"),
    ("slas_slaclock", "finished_assignee_id"),
    ("slas_slaclock", "finished_request_type_id"),
    ("slas_slaclock", "finished_requesting_department_id"),
    ("slas_slaschedule", "clock_id"),
}


def test_filing_writes_children_without_constraint_checks(db):
    tables = sorted({table for table, _ in CONSTRAINED} | {"slas_slasegment", "slas_idletimer"})
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.conrelid::regclass::text, a.attname FROM pg_constraint c "
            "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] "
            "WHERE c.contype = 'f' AND c.conrelid::regclass::text = ANY(%s)",
            [tables],
        )
        assert set(cursor.fetchall()) == CONSTRAINED
    assert Ticket._meta.get_field("department").db_constraint

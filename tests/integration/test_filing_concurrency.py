"""Filing at the same time into two departments whose employees ask each other, on
PostgreSQL with real commits (found by bench/apifiling.py: 20 API clients got HTTP 500).

A filing locks its department's row (for the ticket number and the round-robin pointer)
until commit. Its ticket names the requester's home department (requesting_department),
and PostgreSQL checks that foreign key at commit with FOR KEY SHARE on the department
row. With FOR UPDATE, IT filing for an HR employee while HR files for an IT employee
deadlocked: each commit waited for the other's department lock. The lock is FOR NO KEY
UPDATE (the ticket number is not a key), which a key-share check does not wait for.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from tests.factories import RequestTypeFactory, UserFactory
from tickets import hooks
from tickets.models import Ticket
from tickets.services import ticket_create

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="row locks are PostgreSQL's (SQLite serialises writers): run with "
        "DATABASE_URL=postgres://... (CI's services phase does)",
    ),
    pytest.mark.django_db(transaction=True),
]


def test_crosswise_filings_into_two_departments_both_commit(it, hr):
    """Both filings hold their department's lock at the same moment (a hook inside the
    transaction waits for the other), then both commit."""
    it_type, hr_type = RequestTypeFactory(department=it), RequestTypeFactory(department=hr)
    from_hr = UserFactory(home_department=hr)
    from_it = UserFactory(home_department=it)
    both_inside = threading.Barrier(2, timeout=20)

    def meet(change: hooks.TicketChange) -> None:
        if change.kind == hooks.CREATED:
            both_inside.wait()

    errors: list[BaseException] = []

    def file(request_type, requester) -> None:
        try:
            ticket_create(
                created_by=requester, request_type=request_type, title="Help", description="."
            )
        except BaseException as error:  # reported below
            errors.append(error)
        finally:
            connections.close_all()

    hooks.register(meet)
    try:
        threads = [
            threading.Thread(target=file, args=(it_type, from_hr)),
            threading.Thread(target=file, args=(hr_type, from_it)),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    finally:
        hooks._listeners.remove(meet)
    assert not errors, errors
    assert Ticket.objects.count() == 2


def test_concurrent_filings_into_one_department_number_gaplessly(it):
    """Eight filers at once into one round-robin department: the numbers are 1..N with
    no gap or repeat (the department row's UPDATE ... RETURNING serialises the counter),
    and the agents take turns (the pointer moves under the same lock)."""
    from tests.factories import agent_of
    from tickets.models import Department

    Department.objects.filter(pk=it.pk).update(assignment=Department.Assignment.ROUND_ROBIN)
    it.refresh_from_db()
    agents = [agent_of(it, username=f"agent{i}") for i in range(4)]
    it_type = RequestTypeFactory(department=it)
    people = [UserFactory() for _ in range(8)]
    start = threading.Barrier(len(people), timeout=20)
    errors: list[BaseException] = []

    def file(requester) -> None:
        try:
            start.wait()
            for _ in range(3):
                ticket_create(
                    created_by=requester, request_type=it_type, title="Help", description="."
                )
        except BaseException as error:  # reported below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=file, args=(p,)) for p in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    tickets = list(Ticket.objects.filter(department=it).order_by("pk"))
    assert sorted(int(t.reference.split("-")[1]) for t in tickets) == list(range(1, 25))
    counts = {a.pk: 0 for a in agents}
    for ticket in tickets:
        counts[ticket.assignee_id] += 1
    assert sorted(counts.values()) == [6, 6, 6, 6]
    # In number order the agents take turns: a filing that waited for the lock moved on
    # from the agent the one before it got (the SET is evaluated on the committed row).
    by_number = sorted(tickets, key=lambda t: int(t.reference.split("-")[1]))
    turns = [a.pk for a in agents] * 6
    assert [t.assignee_id for t in by_number] == turns

"""'My requests': the tickets one asked for or filed for someone else, and nobody else's."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.factories import RequestTypeFactory, TicketFactory, UserFactory, move_to
from tickets.models import Ticket

Status = Ticket.Status
MY_REQUESTS = reverse("my_requests")
# session, user, page, navigation (the user's memberships), pending surveys.
MY_REQUESTS_MAX_QUERIES = 5


def refs(response) -> list[str]:
    return [t.reference for t in response.context["page"].rows]


@pytest.fixture
def mine(client, requester, colleague, it_type, hr_type, it_agent, hr_agent):
    """IT-1 (mine, new), HR-1 (mine, resolved), IT-2 (I filed it for Carl), IT-3 (Carl's own),
    HR-2 (Carl's own, I watch it)."""
    TicketFactory(request_type=it_type, created_by=requester)
    resolved = TicketFactory(request_type=hr_type, created_by=requester)
    move_to(resolved, Status.RESOLVED, agent=hr_agent)
    TicketFactory(request_type=it_type, created_by=requester, requester=colleague)
    TicketFactory(request_type=it_type, created_by=colleague)
    watched = TicketFactory(request_type=hr_type, created_by=colleague)
    watched.watchers.add(requester)
    client.force_login(requester)
    return client


def test_lists_own_and_filed_for_others_only(mine):
    response = mine.get(MY_REQUESTS)
    assert response.status_code == 200
    assert refs(response) == ["IT-2", "HR-1", "IT-1"]
    html = response.content.decode()
    assert "IT-3" not in html and "HR-2" not in html


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("", ["IT-2", "HR-1", "IT-1"]),
        ("active", ["IT-2", "IT-1"]),
        ("resolved", ["HR-1"]),
        ("closed", []),
        ("bogus", ["IT-2", "HR-1", "IT-1"]),  # an unknown status filters nothing
    ],
)
def test_status_filter(mine, status, expected):
    response = mine.get(MY_REQUESTS, {"status": status})
    assert response.status_code == 200
    assert refs(response) == expected


def test_agent_sees_only_their_own_requests_here(client, it_agent, it_type, requester):
    TicketFactory(request_type=it_type, created_by=requester)
    client.force_login(it_agent)
    assert refs(client.get(MY_REQUESTS)) == []


def test_pages_through_many_requests(client, requester, it_type):
    for _ in range(30):
        TicketFactory(request_type=it_type, created_by=requester)
    client.force_login(requester)
    first = client.get(MY_REQUESTS)
    assert refs(first) == [f"IT-{n}" for n in range(30, 5, -1)]
    second = client.get(MY_REQUESTS, {"after": first.context["page"].next_cursor})
    assert refs(second) == [f"IT-{n}" for n in range(5, 0, -1)]
    assert second.context["page"].next_cursor is None
    back = client.get(MY_REQUESTS, {"before": second.context["page"].previous_cursor})
    assert refs(back) == refs(first)


def count_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(MY_REQUESTS).status_code == 200
    return len(queries)


def test_query_count_does_not_grow_with_rows(
    client, requester, it, hr, django_assert_max_num_queries
):
    types = [RequestTypeFactory(department=d) for d in (it, hr, it)]
    colleagues = [UserFactory(home_department=d) for d in (it, hr)]

    def file(count: int) -> None:
        for n in range(count):
            TicketFactory(
                request_type=types[n % 3],
                created_by=requester,
                requester=colleagues[n % 2] if n % 3 == 0 else None,
            )

    client.force_login(requester)
    file(5)
    small = count_queries(client)
    file(25)
    large = count_queries(client)
    assert small == large
    with django_assert_max_num_queries(MY_REQUESTS_MAX_QUERIES):
        client.get(MY_REQUESTS, {"status": "active"})

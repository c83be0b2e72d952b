"""The agent queue: filters, keyset pagination, and a query count that does not grow
with the number of rows."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.factories import RequestTypeFactory, TicketFactory, UserFactory, agent_of, move_to
from tickets import selectors, services
from tickets.models import Priority, Ticket

Status = Ticket.Status
QUEUE = reverse("queue_department", args=["IT"])


@pytest.fixture
def agent_client(client, it_agent):
    client.force_login(it_agent)
    return client


def refs(response) -> list[str]:
    return [t.reference for t in response.context["page"].rows]


def file_many(request_type, count: int, *, assignees=(None,), start: int = 0) -> list[Ticket]:
    """`count` tickets, each by a different requester (different home departments too),
    assigned round the given assignees: the page must not query per row for any of them."""
    tickets = []
    for n in range(start, start + count):
        requester = UserFactory(home_department=request_type.department if n % 2 else None)
        ticket = TicketFactory(request_type=request_type, created_by=requester, title=f"Item {n}")
        assignee = assignees[n % len(assignees)]
        if assignee is not None:
            services.ticket_assign(ticket=ticket, actor=assignee, assignee=assignee)
        tickets.append(ticket)
    return tickets


# --- Access ---------------------------------------------------------------------------


def test_queue_of_a_department_one_is_not_in_is_404(client, hr_agent, it_type):
    client.force_login(hr_agent)
    assert client.get(QUEUE).status_code == 404


def test_queue_of_an_unknown_department_is_404(agent_client):
    assert agent_client.get(reverse("queue_department", args=["NOPE"])).status_code == 404


def test_requester_has_no_queue(client, requester, it_type):
    client.force_login(requester)
    assert client.get(QUEUE).status_code == 404


def test_superuser_sees_any_queue(client, superuser, ticket):
    client.force_login(superuser)
    assert refs(client.get(QUEUE)) == [ticket.reference]


def test_queue_lists_only_that_departments_tickets(agent_client, it_type, hr_type, requester):
    mine = TicketFactory(request_type=it_type, created_by=requester)
    TicketFactory(request_type=hr_type, created_by=requester)
    response = agent_client.get(QUEUE)
    assert response.status_code == 200
    assert refs(response) == [mine.reference]
    assert mine.title in response.content.decode()


# --- Filters --------------------------------------------------------------------------


@pytest.fixture
def board(it, it_type, requester, colleague, it_agent, it_agent2, hr):
    """IT-1 new/unassigned; IT-2 open, mine, urgent; IT-3 waiting, Bob's, other type, from
    HR; IT-4 resolved; IT-5 closed."""
    software = RequestTypeFactory(department=it, name="Software")
    hr_person = UserFactory(username="hera", home_department=hr)
    TicketFactory(request_type=it_type, created_by=requester, title="Printer on fire")
    t2 = TicketFactory(request_type=it_type, created_by=colleague, title="VPN drops")
    services.ticket_assign(ticket=t2, actor=it_agent, assignee=it_agent)
    services.ticket_set_priority(ticket=t2, actor=it_agent, priority=Priority.URGENT)
    move_to(t2, Status.OPEN, agent=it_agent)
    t3 = TicketFactory(request_type=software, created_by=hr_person, title="Excel licence")
    services.ticket_assign(ticket=t3, actor=it_agent, assignee=it_agent2)
    move_to(t3, Status.WAITING, agent=it_agent)
    t4 = TicketFactory(request_type=it_type, created_by=requester, title="Mouse")
    move_to(t4, Status.RESOLVED, agent=it_agent)
    t5 = TicketFactory(request_type=it_type, created_by=requester, title="Old printer")
    move_to(t5, Status.CLOSED, agent=it_agent)
    return {"software": software, "hr": hr}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ["IT-3", "IT-2", "IT-1"]),  # active by default
        ({"status": ""}, ["IT-5", "IT-4", "IT-3", "IT-2", "IT-1"]),
        ({"status": "active"}, ["IT-3", "IT-2", "IT-1"]),
        ({"status": "new"}, ["IT-1"]),
        ({"status": "resolved"}, ["IT-4"]),
        ({"status": "closed"}, ["IT-5"]),
        ({"priority": "4"}, ["IT-2"]),
        ({"assignee": "none"}, ["IT-1"]),
        ({"q": "it-2", "status": ""}, ["IT-2"]),
        ({"q": "printer", "status": ""}, ["IT-5", "IT-1"]),
        ({"q": "PRINTER"}, ["IT-1"]),
        ({"q": "IT-"}, []),  # a reference matches exactly, not as a prefix
    ],
)
def test_queue_filters(agent_client, board, params, expected):
    response = agent_client.get(QUEUE, params)
    assert response.status_code == 200
    assert refs(response) == expected


def test_queue_filter_assignee_me_and_colleague(agent_client, board, it_agent, it_agent2):
    assert refs(agent_client.get(QUEUE, {"assignee": it_agent.pk})) == ["IT-2"]
    assert refs(agent_client.get(QUEUE, {"assignee": it_agent2.pk})) == ["IT-3"]


def test_queue_filter_request_type_and_requesting_department(agent_client, board):
    assert refs(agent_client.get(QUEUE, {"request_type": board["software"].pk})) == ["IT-3"]
    params = {"requesting_department": board["hr"].pk}
    assert refs(agent_client.get(QUEUE, params)) == ["IT-3"]


def test_queue_filter_request_type_of_another_department_is_ignored(agent_client, board, hr_type):
    # Not a choice of this queue's form: the form is invalid and the default view is shown.
    response = agent_client.get(QUEUE, {"request_type": hr_type.pk})
    assert response.status_code == 200
    assert refs(response) == ["IT-3", "IT-2", "IT-1"]


def test_queue_bad_filter_values_do_not_crash(agent_client, board):
    response = agent_client.get(QUEUE, {"priority": "urgent!", "status": "bogus", "after": "x"})
    assert response.status_code == 200


def test_htmx_request_gets_the_table_alone(agent_client, board):
    response = agent_client.get(QUEUE, headers={"HX-Request": "true"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Printer on fire" in html
    assert "<html" not in html
    assert "HX-Request" in response["Vary"]


# --- Keyset pagination ----------------------------------------------------------------


def test_three_pages_forwards_and_back(agent_client, it_type):
    file_many(it_type, 60)
    all_refs = [f"IT-{n}" for n in range(60, 0, -1)]  # newest first

    first = agent_client.get(QUEUE)
    assert refs(first) == all_refs[:25]
    page = first.context["page"]
    assert page.previous_cursor is None
    assert page.next_cursor is not None
    assert f"after={page.next_cursor}" in first.content.decode()

    second = agent_client.get(QUEUE, {"after": page.next_cursor})
    assert refs(second) == all_refs[25:50]
    page2 = second.context["page"]

    third = agent_client.get(QUEUE, {"after": page2.next_cursor})
    assert refs(third) == all_refs[50:]
    page3 = third.context["page"]
    assert page3.next_cursor is None

    back_to_second = agent_client.get(QUEUE, {"before": page3.previous_cursor})
    assert refs(back_to_second) == all_refs[25:50]
    back_to_first = agent_client.get(
        QUEUE, {"before": back_to_second.context["page"].previous_cursor}
    )
    assert refs(back_to_first) == all_refs[:25]
    assert back_to_first.context["page"].previous_cursor is None


def test_pagination_keeps_the_filters(agent_client, it_type, it_agent):
    file_many(it_type, 30, assignees=(it_agent, None))
    first = agent_client.get(QUEUE, {"assignee": "none"})
    assert len(refs(first)) == 15
    assert first.context["page"].next_cursor is None
    html = agent_client.get(QUEUE, {"status": ""}).content.decode()
    assert "status=&amp;after=" in html


def test_pages_use_no_offset_and_no_count(agent_client, it_type):
    file_many(it_type, 30)
    after = agent_client.get(QUEUE).context["page"].next_cursor
    with CaptureQueriesContext(connection) as queries:
        response = agent_client.get(QUEUE, {"after": after})
    assert len(refs(response)) == 5
    sql = " ".join(q["sql"].upper() for q in queries.captured_queries)
    assert "OFFSET" not in sql
    assert "COUNT(" not in sql


def test_keyset_page_selector_edges(it_type):
    file_many(it_type, 5)
    queryset = Ticket.objects.all()
    page = selectors.keyset_page(queryset, size=2)
    ids = [t.pk for t in page.rows]
    assert page.previous_cursor is None and page.next_cursor == ids[-1]
    last = selectors.keyset_page(queryset, after=ids[-1], size=3)
    assert len(last.rows) == 3 and last.next_cursor is None
    assert last.previous_cursor == last.rows[0].pk
    exact = selectors.keyset_page(queryset, size=5)
    assert exact.next_cursor is None  # exactly one page: no empty "older" page
    empty = selectors.keyset_page(queryset.none())
    assert (empty.rows, empty.next_cursor, empty.previous_cursor) == ([], None, None)


# --- Query count ----------------------------------------------------------------------

# session, user, department, memberships (x2: access, assignee filter), page, the
# department tabs, request types and requesting departments of the filter form.
# (The agent here has no home department; the menu shows it when set: one more.)
QUEUE_MAX_QUERIES = 9


def count_queries(client, path, params=None) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path, params or {})
    assert response.status_code == 200
    return len(queries)


def test_queue_query_count_does_not_grow_with_rows(
    agent_client, it, it_type, it_agent, it_agent2, django_assert_max_num_queries
):
    other_type = RequestTypeFactory(department=it, name="Software")
    file_many(it_type, 5, assignees=(it_agent, it_agent2, None))
    small = count_queries(agent_client, QUEUE)
    file_many(other_type, 25, assignees=(it_agent2, None, agent_of(it)), start=5)
    large = count_queries(agent_client, QUEUE)
    assert len(agent_client.get(QUEUE).context["page"].rows) == 25
    assert small == large
    with django_assert_max_num_queries(QUEUE_MAX_QUERIES):
        agent_client.get(QUEUE, {"status": "", "assignee": "none", "q": "Item"})


# --- Filed between two days -------------------------------------------------------------


@pytest.fixture
def filed(it, it_type, requester):
    """IT runs on Berlin time. Three tickets around the local midnight that starts 1 March
    2026 (23:00 UTC on 28 February) and one on the last evening of the month."""
    from datetime import UTC, datetime

    from slas.models import BusinessCalendar

    it.calendar = BusinessCalendar.objects.create(name="Berlin", time_zone="Europe/Berlin")
    it.save(update_fields=["calendar"])
    instants = {
        "before": datetime(2026, 2, 28, 22, 59, tzinfo=UTC),  # 23:59 on 28 Feb in Berlin
        "first": datetime(2026, 2, 28, 23, 0, tzinfo=UTC),  # 00:00 on 1 March in Berlin
        "last": datetime(2026, 3, 31, 21, 59, tzinfo=UTC),  # 23:59 on 31 March (CEST)
        "after": datetime(2026, 3, 31, 22, 0, tzinfo=UTC),  # 00:00 on 1 April in Berlin
    }
    references = {}
    for name, instant in instants.items():
        ticket = TicketFactory(request_type=it_type, created_by=requester, title=name)
        Ticket.objects.filter(pk=ticket.pk).update(created_at=instant)
        references[name] = ticket.reference
    return references


def test_queue_filter_filed_between_local_days(agent_client, filed):
    params = {"status": "", "created_from": "2026-03-01", "created_to": "2026-03-31"}
    assert refs(agent_client.get(QUEUE, params)) == [filed["last"], filed["first"]]
    only_from = {"status": "", "created_from": "2026-03-01"}
    assert filed["before"] not in refs(agent_client.get(QUEUE, only_from))
    only_to = {"status": "", "created_to": "2026-02-28"}
    assert refs(agent_client.get(QUEUE, only_to)) == [filed["before"]]


def test_queue_filter_filed_backwards_says_so(agent_client, filed):
    params = {"status": "", "created_from": "2026-03-31", "created_to": "2026-03-01"}
    response = agent_client.get(QUEUE, params)
    assert response.status_code == 200
    assert "The last day comes before the first." in response.content.decode()
    params["created_from"] = "2026-02-30"
    assert "Enter a valid date." in agent_client.get(QUEUE, params).content.decode()

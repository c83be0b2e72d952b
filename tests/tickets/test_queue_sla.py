"""The agent queue's SLA column, "due soonest" order (keyset on sla_due_at, id) and the
"at risk" / "breached" filters, at a frozen time.

IT has no business calendar, so its SLA counts round the clock: a ticket filed at T is
at risk from T + 45 min (75 % of the 1 h first-response target) and due at T + 1 h.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from slas.models import SlaPolicy
from tests.factories import UserFactory, move_to
from tests.tickets.test_queue import QUEUE_MAX_QUERIES
from tickets import selectors, services
from tickets.forms import QueueFilterForm
from tickets.models import Ticket

Status = Ticket.Status
QUEUE = reverse("queue_department", args=["IT"])
# A Monday morning, with microseconds: cursors must carry them exactly.
T0 = datetime(2026, 3, 2, 8, 0, 0, 123456, tzinfo=UTC)


def minutes(n: float) -> datetime:
    return T0 + timedelta(minutes=n)


@pytest.fixture
def policy(it) -> SlaPolicy:
    return SlaPolicy.objects.create(
        name="IT standard", department=it, first_response_minutes=60, resolution_minutes=480
    )


@pytest.fixture
def agent_client(client, it_agent):
    client.force_login(it_agent)
    return client


def file_at(request_type, filed: datetime, title: str = "") -> Ticket:
    requester = UserFactory()
    return services.ticket_create(
        created_by=requester,
        request_type=request_type,
        title=title or f"Filed at {filed:%H:%M}",
        description="Please help.",
        now=filed,
    )


def refs(response) -> list[str]:
    return [t.reference for t in response.context["page"].rows]


NOW = minutes(70)


def get(client, params=None, *, at: datetime = NOW, **headers):
    with time_machine.travel(at, tick=False):
        response = client.get(QUEUE, params or {}, headers=headers)
    assert response.status_code == 200
    return response


@pytest.fixture
def board(policy, it_type, it_agent, hr_type):
    """At minutes(70): IT-1 breached (due at 60), IT-2 at risk (65..80), IT-3 on track
    (85..100), IT-4 waiting on the requester (clock paused: no deadline), and an HR ticket."""
    breached = file_at(it_type, minutes(0), "Breached one")
    at_risk = file_at(it_type, minutes(20), "At risk one")
    on_track = file_at(it_type, minutes(40), "On track one")
    waiting = file_at(it_type, minutes(30), "Waiting one")
    move_to(waiting, Status.WAITING, agent=it_agent, now=minutes(31))
    file_at(hr_type, minutes(0), "Not IT")
    return {"breached": breached, "at_risk": at_risk, "on_track": on_track, "waiting": waiting}


# --- Filters --------------------------------------------------------------------------


def test_filter_breached(agent_client, board):
    assert refs(get(agent_client, {"sla": "breached"})) == ["IT-1"]


def test_filter_at_risk(agent_client, board):
    assert refs(get(agent_client, {"sla": "at_risk"})) == ["IT-2"]


def test_filters_follow_the_clock(agent_client, board):
    assert refs(get(agent_client, {"sla": "at_risk"}, at=minutes(44))) == []
    assert refs(get(agent_client, {"sla": "at_risk"}, at=minutes(45))) == ["IT-1"]
    assert refs(get(agent_client, {"sla": "breached"}, at=minutes(45))) == []
    # At the instant a deadline passes the ticket is breached, and no longer at risk.
    assert refs(get(agent_client, {"sla": "breached"}, at=minutes(80))) == ["IT-2", "IT-1"]
    assert refs(get(agent_client, {"sla": "at_risk"}, at=minutes(80))) == []
    assert refs(get(agent_client, {"sla": "at_risk"}, at=minutes(85))) == ["IT-3"]


def test_filters_combine_with_the_others(agent_client, board, it_agent):
    services.ticket_assign(ticket=board["at_risk"], actor=it_agent, assignee=it_agent)
    params = {"sla": "at_risk", "assignee": it_agent.pk}
    assert refs(get(agent_client, params)) == ["IT-2"]
    assert refs(get(agent_client, {**params, "sla": "breached"})) == []


def test_an_unknown_sla_filter_shows_the_default_view(agent_client, board):
    response = get(agent_client, {"sla": "soon"})
    assert refs(response) == ["IT-4", "IT-3", "IT-2", "IT-1"]


def test_empty_filter_result_says_so(agent_client, board):
    html = get(agent_client, {"sla": "breached"}, at=minutes(10)).content.decode()
    assert "No tickets match these filters" in html


# --- The SLA column -------------------------------------------------------------------


def sla_cells(response) -> dict[str, str]:
    """Each row's reference and its SLA cell's text."""
    html = response.content.decode()
    rows = re.findall(r'<span class="ref">([^<]+)</span>.*?data-label="SLA">(.*?)</td>', html, re.S)
    return {ref: " ".join(re.sub(r"<[^>]+>", " ", cell).split()) for ref, cell in rows}


def test_sla_column_shows_the_soonest_deadline_and_its_state(agent_client, board):
    cells = sla_cells(get(agent_client))
    assert cells["IT-1"] == "Breached overdue 10 min"
    assert cells["IT-2"] == "At risk in 10 min"
    assert cells["IT-3"] == "On track, in 30 min"
    assert cells["IT-4"] == "— No SLA clock running"


def test_sla_column_states_are_badges_with_an_icon(agent_client, board):
    html = get(agent_client).content.decode()
    for state, label in (("breached", "Breached"), ("at_risk", "At risk")):
        badge = rf'<span class="badge sla--{state}">\s*<svg[^>]*>.*?</svg>\s*{label}</span>'
        assert re.search(badge, html, re.S)


# --- "Due soonest": keyset on (sla_due_at, id) ----------------------------------------


def test_due_soonest_lists_running_deadlines_first_to_last(agent_client, board):
    response = get(agent_client, {"sort": "due"})
    # IT-4 is paused (no deadline) and left out of this order.
    assert refs(response) == ["IT-1", "IT-2", "IT-3"]
    html = response.content.decode()
    assert "soonest SLA deadline first" in html
    assert '<option value="due" selected>Due soonest</option>' in html


@pytest.fixture
def many(policy, it_type) -> list[Ticket]:
    """31 tickets filed in a scrambled order (deadlines do not follow ids), two of them at
    the same instant (same deadline: the id decides)."""
    tickets = [file_at(it_type, minutes((n * 7) % 30)) for n in range(30)]
    tickets.append(file_at(it_type, minutes(14)))
    return tickets


def expected_due_order(tickets: list[Ticket]) -> list[str]:
    fresh = Ticket.objects.filter(pk__in=[t.pk for t in tickets])
    return [t.reference for t in sorted(fresh, key=lambda t: (t.sla_due_at, t.pk))]


def test_due_order_pages_forwards_and_back(agent_client, many):
    expected = expected_due_order(many)
    assert expected != sorted(expected, key=lambda r: int(r.split("-")[1]))

    first = get(agent_client, {"sort": "due"})
    assert refs(first) == expected[:25]
    page = first.context["page"]
    assert page.previous_cursor is None
    cursor = page.next_cursor
    assert re.fullmatch(r"2026-03-02T\d\d:\d\d:00\.123456Z_\d+", cursor)
    html = first.content.decode()
    assert re.search(rf'href="\?[^"]*sort=due[^"]*&amp;after={cursor}"', html)
    assert "Later" in html and "Sooner" in html

    second = get(agent_client, {"sort": "due", "after": cursor})
    assert refs(second) == expected[25:]
    assert second.context["page"].next_cursor is None

    back = get(agent_client, {"sort": "due", "before": second.context["page"].previous_cursor})
    assert refs(back) == expected[:25]
    assert back.context["page"].previous_cursor is None


def test_ties_in_the_deadline_are_broken_by_id_across_a_page_boundary(it_type, policy):
    tickets = [file_at(it_type, minutes(5)) for _ in range(5)]
    queryset = Ticket.objects.all()
    pages, cursor = [], None
    while True:
        page = selectors.keyset_page_by_due(
            queryset, after=selectors.DueCursor.parse(cursor), size=2
        )
        pages.append([t.pk for t in page.rows])
        cursor = page.next_cursor
        if cursor is None:
            break
    assert pages == [[t.pk for t in tickets[:2]], [t.pk for t in tickets[2:4]], [tickets[4].pk]]


def test_due_order_keeps_the_filters_and_pages_within_them(agent_client, many):
    response = get(agent_client, {"sort": "due", "sla": "breached"}, at=minutes(200))
    assert refs(response) == expected_due_order(many)[:25]
    assert "sla=breached" in response.content.decode()


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage",
        "123",  # an id cursor of the newest-first order
        "2026-03-02T08:00:00Z",  # no id
        "2026-03-02T08:00:00Z_",
        "2026-03-02T08:00:00_5",  # naive: no zone
        "2026-13-40T08:00:00Z_5",
        "2026-03-02T08:00:00Z_-5",
        "2026-03-02T08:00:00Z_99999999999999999999999999",
        "2026-03-02T08:00:00Z_٣",  # a non-ASCII digit
        "",
    ],
)
def test_malformed_due_cursor_shows_the_first_page(agent_client, board, cursor):
    for direction in ("after", "before"):
        assert refs(get(agent_client, {"sort": "due", direction: cursor})) == [
            "IT-1", "IT-2", "IT-3"
        ]  # fmt: skip


def test_a_huge_id_cursor_is_ignored_too(agent_client, board):
    response = get(agent_client, {"after": "9" * 30})
    assert refs(response) == ["IT-4", "IT-3", "IT-2", "IT-1"]


def test_due_cursor_round_trip():
    cursor = selectors.DueCursor(datetime(2026, 3, 2, 9, 30, 0, 5, tzinfo=UTC), 42)
    assert cursor.encode() == "2026-03-02T09:30:00.000005Z_42"
    assert selectors.DueCursor.parse(cursor.encode()) == cursor
    plus_one = datetime.fromisoformat("2026-03-02T10:30:00+01:00")
    assert selectors.DueCursor.parse("2026-03-02T10:30:00+01:00_7") == selectors.DueCursor(
        plus_one, 7
    )
    assert selectors.DueCursor.parse(None) is None


def test_due_soonest_with_nothing_running_explains_itself(agent_client, policy, it_type, it_agent):
    ticket = file_at(it_type, minutes(0))
    move_to(ticket, Status.WAITING, agent=it_agent, now=minutes(1))
    html = get(agent_client, {"sort": "due"}).content.decode()
    assert "No SLA deadline is running" in html


def test_form_offers_the_sla_filter_and_the_order(it, it_agent):
    form = QueueFilterForm({"sla": "at_risk", "sort": "due"}, department=it, user=it_agent)
    assert form.is_valid()
    assert form.selector_filters()["sla"] == "at_risk"
    assert form.selector_filters()["sort"] == "due"
    assert not QueueFilterForm({"sort": "oldest"}, department=it, user=it_agent).is_valid()


def test_htmx_table_swap_has_the_sla_column(agent_client, board):
    response = get(agent_client, {"sort": "due"}, **{"HX-Request": "true"})
    html = response.content.decode()
    assert "<html" not in html
    assert 'data-label="SLA"' in html


# --- Query count ----------------------------------------------------------------------


def count_queries(client, params) -> int:
    with time_machine.travel(NOW, tick=False), CaptureQueriesContext(connection) as queries:
        response = client.get(QUEUE, params)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize(
    "params",
    [{"sort": "due"}, {"sla": "at_risk"}, {"sla": "breached", "sort": "due"}],
)
def test_sla_views_cost_what_the_default_queue_costs(agent_client, policy, it_type, params):
    for n in range(3):
        file_at(it_type, minutes(n * 10))
    default = count_queries(agent_client, {})
    small = count_queries(agent_client, params)
    for n in range(3, 30):
        file_at(it_type, minutes(n))
    large = count_queries(agent_client, params)
    assert small == large == default
    assert large <= QUEUE_MAX_QUERIES


def test_due_pages_use_no_offset_and_no_count(agent_client, many):
    after = get(agent_client, {"sort": "due"}).context["page"].next_cursor
    with time_machine.travel(NOW, tick=False), CaptureQueriesContext(connection) as queries:
        agent_client.get(QUEUE, {"sort": "due", "after": after})
    sql = " ".join(q["sql"].upper() for q in queries.captured_queries)
    assert "OFFSET" not in sql
    assert "COUNT(" not in sql

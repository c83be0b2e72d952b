"""The agent's home: Alice works for IT (1 h first response, round the clock, UTC) and
Facilities (no SLA). At 10:50 on Tuesday 10 March 2026:

    Alice's open      filed   due     state
      A2 (IT)         09:00   10:00   breached
      A1 (IT)         10:00   11:00   at risk (from 10:45)
      A3 (IT)         10:40   11:40   on track
      A4 (FAC)        10:00   -       no SLA: last
    Unassigned
      U1 (IT)         09:30   10:30   breached
      U2 (IT)         10:20   11:20   on track (at risk from 11:05)
      U3 (FAC)        10:10   -
    Left out: Alice's resolved ticket, Bob's IT ticket, HR's unassigned ticket.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from dashboards.selectors import agent_home, agent_home_access
from surveys.models import SurveyInvitation, SurveyResponse, SurveySettings
from tests.factories import DepartmentFactory, MembershipFactory, RequestTypeFactory, TicketFactory
from tickets import services
from tickets.models import Ticket

NOW = datetime(2026, 3, 10, 10, 50, tzinfo=UTC)
URL = "/dashboard/me/"


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, 10, hour, minute, tzinfo=UTC)


@pytest.fixture
def facilities(it_agent):
    department = DepartmentFactory(code="FAC", name="Facilities")
    MembershipFactory(department=department, user=it_agent)
    return department


@pytest.fixture
def desk(it, it_type, hr_type, facilities, it_agent, it_agent2, requester, make_policy):
    make_policy(it, first_response_minutes=60)
    fac_type = RequestTypeFactory(department=facilities, name="Desk")

    def file(request_type, when, assignee=None, status=None):
        with time_machine.travel(when, tick=False):
            ticket = TicketFactory(request_type=request_type, created_by=requester, now=when)
            if assignee is not None:
                ticket = services.ticket_assign(
                    ticket=ticket, actor=assignee, assignee=assignee, now=when
                )
            if status is not None:
                ticket = services.ticket_transition(
                    ticket=ticket, actor=assignee, to_status=status, now=when
                )
        return ticket

    t = {
        "A2": file(it_type, at(9), it_agent),
        "A1": file(it_type, at(10), it_agent),
        "A3": file(it_type, at(10, 40), it_agent),
        "A4": file(fac_type, at(10), it_agent),
        "U1": file(it_type, at(9, 30)),
        "U2": file(it_type, at(10, 20)),
        "U3": file(fac_type, at(10, 10)),
        "done": file(it_type, at(8), it_agent, Ticket.Status.RESOLVED),
        "bob": file(it_type, at(8), it_agent2),
        "hr": file(hr_type, at(8)),
    }
    return t


def home_of(user):
    return agent_home(user=user, departments=agent_home_access(user=user), now=NOW)


def test_my_open_tickets_soonest_breach_first(desk, it_agent):
    mine = home_of(it_agent).mine
    assert [t.pk for t in mine.rows] == [desk[k].pk for k in ("A2", "A1", "A3", "A4")]
    assert (mine.total, mine.at_risk, mine.breached, mine.more) == (4, 1, 1, 0)


def test_unassigned_tickets_of_my_departments(desk, it_agent):
    unassigned = home_of(it_agent).unassigned
    assert [t.pk for t in unassigned.rows] == [desk[k].pk for k in ("U1", "U2", "U3")]
    assert (unassigned.total, unassigned.at_risk, unassigned.breached) == (3, 0, 1)


def test_lists_are_cut_and_counted_whole(desk, it_agent, monkeypatch):
    monkeypatch.setattr("dashboards.selectors.HOME_LIST_SIZE", 2)
    home = home_of(it_agent)
    assert [t.pk for t in home.mine.rows] == [desk["A2"].pk, desk["A1"].pk]
    assert (home.mine.total, home.mine.more) == (4, 2)
    assert (home.unassigned.total, home.unassigned.more) == (3, 1)


def test_ties_on_the_deadline_go_by_id(it, it_type, it_agent, requester, make_policy):
    make_policy(it, first_response_minutes=60)
    with time_machine.travel(at(9), tick=False):
        first = TicketFactory(request_type=it_type, created_by=requester, now=at(9))
        second = TicketFactory(request_type=it_type, created_by=requester, now=at(9))
    assert [t.pk for t in home_of(it_agent).unassigned.rows] == [first.pk, second.pk]


def answer(ticket, score, when, *, anonymous=False):
    invitation = SurveyInvitation.objects.create(
        ticket=ticket, resolution=1, department=ticket.department,
        requesting_department=ticket.requesting_department, requester=ticket.requester,
        token_seed=str(ticket.pk), token_hash=f"{ticket.pk:064d}", anonymous=anonymous,
        created_at=when, send_at=when, expires_at=when + timedelta(days=14), answered_at=when,
        score=score,  # as survey_respond copies it
    )  # fmt: skip
    SurveyResponse.objects.create(invitation=invitation, score=score, created_at=when)


def test_my_satisfaction_counts_tickets_assigned_to_me_in_the_last_30_days(desk, it_agent):
    answer(desk["done"], 4, NOW - timedelta(days=1))
    answer(desk["A1"], 2, NOW - timedelta(days=30))  # the first instant of the 30 days
    answer(desk["A2"], 1, NOW - timedelta(days=30, seconds=1))  # too old
    answer(desk["bob"], 5, NOW - timedelta(days=1))  # Bob's
    s = home_of(it_agent).satisfaction
    assert (s.responses, s.average, s.hidden) == (2, 3.0, False)


def test_my_satisfaction_is_hidden_when_anonymous_and_few(desk, it, it_agent):
    SurveySettings.objects.create(department=it, anonymous=True, min_group_size=3)
    answer(desk["done"], 4, NOW - timedelta(days=1), anonymous=True)
    answer(desk["A1"], 2, NOW - timedelta(days=2), anonymous=True)
    s = home_of(it_agent).satisfaction
    assert (s.responses, s.average, s.hidden) == (2, None, True)
    answer(desk["A3"], 3, NOW - timedelta(days=3), anonymous=True)
    s = home_of(it_agent).satisfaction
    assert (s.responses, s.average, s.hidden) == (3, 3.0, False)


def test_page_lists_both_and_links_to_the_queue(client, desk, it_agent, monkeypatch):
    monkeypatch.setattr("dashboards.selectors.HOME_LIST_SIZE", 2)
    client.force_login(it_agent)
    with time_machine.travel(NOW, tick=False):
        response = client.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert desk["A2"].reference in html and desk["U1"].reference in html
    assert desk["A3"].reference not in html  # cut at 2
    assert f"/queue/IT/?status=active&amp;assignee={it_agent.pk}" in html
    assert "/queue/FAC/?status=active&amp;assignee=none" in html
    assert f'href="{URL}" aria-current="page"' in html  # the nav link


def test_requester_is_refused_and_sees_no_nav_link(client, requester):
    client.force_login(requester)
    assert client.get(URL).status_code == 403
    assert f'href="{URL}"' not in client.get(reverse("my_requests")).content.decode()


def test_anonymous_user_is_sent_to_sign_in(client, db):
    response = client.get(URL)
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_superuser_sees_every_department(client, superuser, desk):
    client.force_login(superuser)
    with time_machine.travel(NOW, tick=False):
        response = client.get(URL)
    assert response.status_code == 200
    assert response.context["home"].unassigned.total == 4  # U1 U2 U3 and HR's


def test_query_count_does_not_grow_with_the_data(
    client, desk, it_agent, it_type, requester, django_assert_num_queries
):
    client.force_login(it_agent)
    client.get(URL)  # warm the session
    # Session, user, memberships (cached for the nav), departments, the counts, my
    # tickets, the unassigned ones, my satisfaction.
    with time_machine.travel(NOW, tick=False), django_assert_num_queries(8):
        client.get(URL)
    for _ in range(30):
        TicketFactory(request_type=it_type, created_by=requester, now=NOW)
    with time_machine.travel(NOW, tick=False), django_assert_num_queries(8):
        response = client.get(URL)
    assert len(response.context["home"].unassigned.rows) == 25

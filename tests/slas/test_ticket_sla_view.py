"""The ticket page's "Service level" card: each target's state, due time in the calendar's
zone, business time left or over, the timeline for agents, and what requesters see.

IT works 09:00-17:00 Monday to Friday in Berlin (UTC+1 in November). Its policy: first
response in 1 h, resolution in 8 h, warnings at 50 % and 75 %. The ticket is filed on
Monday 23 November 2026 at 09:00, so the first response is at risk from 09:45 and due at
10:00, and the resolution is due at 17:00 the same day.
"""

from __future__ import annotations

import html
import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from slas import selectors as sla_selectors
from slas import services as sla_services
from slas.models import BusinessCalendar, SlaPolicy, WorkingInterval
from slas.templatetags.sla import business_duration, due_relative
from tests.factories import UserFactory
from tickets import services
from tickets.models import Department, Ticket
from tickets.selectors import user_department_ids

BERLIN = ZoneInfo("Europe/Berlin")
Status = Ticket.Status


def berlin(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=BERLIN)


FILED = berlin(23, 9)  # Monday
TO = " \N{EN DASH} "  # between the start and end of a timeline stretch


@pytest.fixture(autouse=True)
def _fresh_calendar_cache():
    # calendar_for caches by (calendar id, updated_at); ids repeat across rolled-back tests.
    sla_services._calendars.clear()
    yield
    sla_services._calendars.clear()


@pytest.fixture
def office(it) -> BusinessCalendar:
    calendar = BusinessCalendar.objects.create(name="Berlin office", time_zone="Europe/Berlin")
    WorkingInterval.objects.bulk_create(
        WorkingInterval(calendar=calendar, weekday=day, start=time(9), end=time(17))
        for day in range(5)
    )
    Department.objects.filter(pk=it.pk).update(calendar=calendar)
    it.calendar = calendar
    return calendar


@pytest.fixture
def policy(it, office) -> SlaPolicy:
    return SlaPolicy.objects.create(
        name="IT standard", department=it, first_response_minutes=60, resolution_minutes=480
    )


@pytest.fixture
def sla_ticket(policy, it_type, requester) -> Ticket:
    return services.ticket_create(
        created_by=requester,
        request_type=it_type,
        title="The VPN drops every hour",
        description="Since Monday's update.",
        now=FILED,
    )


def sla_card(client, ticket: Ticket, at: datetime) -> str:
    """The card's text, tags stripped and whitespace collapsed, as the page shows it at `at`."""
    with time_machine.travel(at, tick=False):
        response = client.get(reverse("ticket_detail", args=[ticket.reference]))
    assert response.status_code == 200
    page = response.content.decode()
    match = re.search(r'<section class="card sla-card".*?</section>', page, re.S)
    assert match, "no Service level card"
    text = re.sub(r"<[^>]+>", "", match.group(0))
    return re.sub(r"\s+", " ", html.unescape(text)).strip()


@pytest.fixture
def agent_client(client, it_agent):
    client.force_login(it_agent)
    return client


@pytest.fixture
def requester_client(client, requester):
    client.force_login(requester)
    return client


# --- Each state, as an agent sees it --------------------------------------------------


def test_on_track_shows_due_times_in_the_calendar_zone_and_time_left(agent_client, sla_ticket):
    card = sla_card(agent_client, sla_ticket, berlin(23, 9, 20))
    assert "Service level" in card
    assert "First response On track Due Mon 23 Nov, 10:00 (Europe/Berlin)" in card
    assert "40 min left of 1 h (business hours)" in card
    assert "Resolution On track Due Mon 23 Nov, 17:00 (Europe/Berlin)" in card
    assert "7 h 40 min left of 8 h" in card


def test_at_risk_from_the_last_warning_threshold(agent_client, sla_ticket):
    assert "First response On track" in sla_card(agent_client, sla_ticket, berlin(23, 9, 44))
    card = sla_card(agent_client, sla_ticket, berlin(23, 9, 45))
    assert "First response At risk Due Mon 23 Nov, 10:00" in card
    assert "15 min left of 1 h" in card
    assert "Resolution On track" in card


def test_breached_shows_business_time_overdue(agent_client, sla_ticket):
    card = sla_card(agent_client, sla_ticket, berlin(23, 11, 5))
    assert "First response Breached Was due Mon 23 Nov, 10:00 (Europe/Berlin)" in card
    assert "Overdue by 1 h 5 min (business hours)" in card


def test_breached_overnight_counts_no_business_time(agent_client, sla_ticket):
    # Resolution fell due at closing time; before opening on Tuesday no business time passed.
    card = sla_card(agent_client, sla_ticket, berlin(24, 8, 30))
    assert "Resolution Breached Was due Mon 23 Nov, 17:00" in card
    assert "Overdue, no business time since" in card
    # From opening time on, it grows again.
    card = sla_card(agent_client, sla_ticket, berlin(24, 11, 15))
    assert "Overdue by 2 h 15 min" in card


def test_paused_while_waiting_on_the_requester(agent_client, sla_ticket, it_agent):
    services.ticket_transition(
        ticket=sla_ticket, actor=it_agent, to_status=Status.WAITING, now=berlin(23, 9, 30)
    )
    card = sla_card(agent_client, sla_ticket, berlin(23, 14))
    assert "First response Paused Not counting: waiting on requester" in card
    assert "30 min left of 1 h" in card
    assert "Resolution Paused" in card
    assert "7 h 30 min left of 8 h" in card
    assert "Due" not in card  # a paused clock has no due time


def test_met_and_met_late(agent_client, sla_ticket, it_agent):
    services.comment_add(ticket=sla_ticket, author=it_agent, body="On it.", now=berlin(23, 9, 30))
    card = sla_card(agent_client, sla_ticket, berlin(23, 12))
    assert "First response Met Met Mon 23 Nov, 09:30 (Europe/Berlin) Took 30 min of 1 h" in card
    assert "Resolution On track" in card

    services.ticket_transition(
        ticket=sla_ticket, actor=it_agent, to_status=Status.RESOLVED, now=berlin(24, 10, 30)
    )
    card = sla_card(agent_client, sla_ticket, berlin(24, 12))
    assert "Resolution Met late Met Tue 24 Nov, 10:30" in card
    assert "1 h 30 min over the 8 h target" in card


def test_no_sla_applies_when_no_policy_matches(client, hr_type, hr_agent, requester):
    ticket = services.ticket_create(
        created_by=requester, request_type=hr_type, title="Payslip", description="Wrong."
    )
    client.force_login(hr_agent)
    assert sla_card(client, ticket, datetime.now(BERLIN)) == "Service level No SLA applies."


# --- The timeline ---------------------------------------------------------------------


def test_agents_see_the_timeline_with_pauses_and_business_time_counted(
    agent_client, sla_ticket, it_agent
):
    services.ticket_transition(
        ticket=sla_ticket, actor=it_agent, to_status=Status.WAITING, now=berlin(23, 9, 30)
    )
    services.comment_add(
        ticket=sla_ticket, author=sla_ticket.requester, body="Here.", now=berlin(23, 16, 30)
    )
    card = sla_card(agent_client, sla_ticket, berlin(24, 9, 15))
    assert "Timeline (3)" in card
    assert f"Running · IT Mon 23 Nov, 09:00{TO}09:30 30 min counted" in card
    assert f"Paused — waiting on requester · IT Mon 23 Nov, 09:30{TO}16:30 Not counted" in card
    # Still running: counted up to now (16:30-17:00 on Monday, 09:00-09:15 on Tuesday).
    assert f"Running · IT Mon 23 Nov, 16:30{TO}now 45 min counted" in card


def test_a_stretch_over_several_days_shows_both_dates(agent_client, sla_ticket, it_agent):
    services.ticket_transition(
        ticket=sla_ticket, actor=it_agent, to_status=Status.WAITING, now=berlin(23, 9, 30)
    )
    services.ticket_transition(
        ticket=sla_ticket, actor=it_agent, to_status=Status.OPEN, now=berlin(25, 10)
    )
    card = sla_card(agent_client, sla_ticket, berlin(25, 11))
    assert f"Paused — waiting on requester · IT Mon 23 Nov, 09:30{TO}Wed 25 Nov, 10:00" in card


def test_a_transfer_keeps_the_old_departments_targets_as_earlier_ones(
    client, sla_ticket, it_agent, hr, hr_type, hr_agent
):
    services.ticket_transfer(
        ticket=sla_ticket,
        actor=it_agent,
        request_type=hr_type,
        reason="Payroll",
        now=berlin(23, 10),
    )
    client.force_login(hr_agent)
    card = sla_card(client, sla_ticket, berlin(23, 11))
    assert card.startswith("Service level No SLA applies in Human Resources.")
    assert "Earlier targets (2)" in card
    assert (
        "Resolution · IT Stopped Stopped Mon 23 Nov, 10:00: Transferred to Human Resources" in card
    )
    assert "Used 1 h of 8 h" in card


# --- What requesters see --------------------------------------------------------------


def test_requester_sees_targets_and_due_times_but_no_timeline(requester_client, sla_ticket):
    card = sla_card(requester_client, sla_ticket, berlin(23, 9, 20))
    assert "First response On track Due Mon 23 Nov, 10:00 (Europe/Berlin)" in card
    assert "Resolution On track Due Mon 23 Nov, 17:00" in card
    assert "Timeline" not in card


def test_requester_is_not_shown_the_internal_at_risk_warning(requester_client, sla_ticket):
    card = sla_card(requester_client, sla_ticket, berlin(23, 9, 50))
    assert "At risk" not in card
    assert "First response On track" in card
    assert "10 min left" in card
    assert "Breached" in sla_card(requester_client, sla_ticket, berlin(23, 10, 30))


def test_requester_sees_paused_until_they_reply(requester_client, sla_ticket, it_agent):
    services.ticket_transition(
        ticket=sla_ticket, actor=it_agent, to_status=Status.WAITING, now=berlin(23, 9, 30)
    )
    card = sla_card(requester_client, sla_ticket, berlin(23, 12))
    assert "Resolution Paused Paused until you reply" in card


def test_requester_sees_only_the_current_departments_targets(
    requester_client, sla_ticket, it_agent, hr_type
):
    services.ticket_transfer(
        ticket=sla_ticket, actor=it_agent, request_type=hr_type, reason="HR", now=berlin(23, 10)
    )
    card = sla_card(requester_client, sla_ticket, berlin(23, 11))
    assert card == "Service level No SLA applies."


def test_requester_is_not_shown_next_response_targets(
    requester_client, sla_ticket, policy, it_agent, requester
):
    policy.next_response_minutes = 120
    policy.save()
    services.comment_add(ticket=sla_ticket, author=it_agent, body="Hi", now=berlin(23, 9, 10))
    services.comment_add(ticket=sla_ticket, author=requester, body="Yes", now=berlin(23, 9, 20))
    views = sla_selectors.ticket_sla_for(user=it_agent, ticket=sla_ticket, now=berlin(23, 10))
    assert [v.kind for v in views] == ["first_response", "next_response", "resolution"]
    card = sla_card(requester_client, sla_ticket, berlin(23, 10))
    assert "Next response" not in card


def test_requester_sees_targets_stopped_by_a_cancellation(requester_client, sla_ticket, requester):
    services.ticket_transition(
        ticket=sla_ticket, actor=requester, to_status=Status.CANCELLED, now=berlin(23, 9, 30)
    )
    card = sla_card(requester_client, sla_ticket, berlin(23, 12))
    assert "First response Stopped Stopped Mon 23 Nov, 09:30: Cancelled" in card
    assert "Used 30 min of 1 h" in card


def test_people_who_cannot_see_the_ticket_get_404(client, sla_ticket, hr_agent):
    client.force_login(UserFactory(username="outsider"))
    response = client.get(reverse("ticket_detail", args=[sla_ticket.reference]))
    assert response.status_code == 404


# --- The selector ---------------------------------------------------------------------


def test_clock_view_figures(it_agent, sla_ticket):
    first, resolution = sla_selectors.ticket_sla_for(
        user=it_agent, ticket=sla_ticket, now=berlin(23, 9, 50)
    )
    assert (first.kind, first.state, first.department, first.time_zone) == (
        "first_response", "at_risk", "IT", "Europe/Berlin"
    )  # fmt: skip
    assert (first.target_seconds, first.used_seconds, first.seconds_left) == (3600, 3000, 600)
    assert first.due_at == berlin(23, 10)
    assert first.is_current and not first.is_finished and not first.is_overdue
    assert resolution.due_at == berlin(23, 17)
    assert [s.state for s in first.segments] == ["running"]


def test_deadline_state_boundaries():
    due, at_risk = berlin(23, 10), berlin(23, 9, 45)
    state = sla_selectors.deadline_state
    assert state(due, at_risk, at_risk - timedelta(microseconds=1)) == "on_track"
    assert state(due, at_risk, at_risk) == "at_risk"
    assert state(due, at_risk, due) == "breached"
    assert state(None, None, due) is None


def test_selector_query_count_does_not_grow_with_the_timeline(
    it_agent, sla_ticket, django_assert_num_queries
):
    user_department_ids(it_agent)  # the page has asked already (access check), cached
    # Clocks (with departments and calendars), segments (with departments), the calendar.
    with django_assert_num_queries(3):
        sla_selectors.ticket_sla_for(user=it_agent, ticket=sla_ticket, now=berlin(23, 9, 30))
    for hour in range(10, 16):
        for status, minute in ((Status.WAITING, 0), (Status.OPEN, 30)):
            services.ticket_transition(
                ticket=sla_ticket, actor=it_agent, to_status=status, now=berlin(23, hour, minute)
            )
    with django_assert_num_queries(3):
        views = sla_selectors.ticket_sla_for(user=it_agent, ticket=sla_ticket, now=berlin(23, 16))
    assert len(views[-1].segments) == 13


def test_requesters_read_costs_no_segment_query(requester, sla_ticket, django_assert_num_queries):
    user_department_ids(requester)
    with django_assert_num_queries(2):  # the clocks; the calendar of the running ones
        sla_selectors.ticket_sla_for(user=requester, ticket=sla_ticket, now=berlin(23, 9, 30))


def test_ticket_page_adds_a_bounded_number_of_queries(agent_client, sla_ticket, it_agent):
    url = reverse("ticket_detail", args=[sla_ticket.reference])
    with (
        time_machine.travel(berlin(23, 9, 30), tick=False),
        CaptureQueriesContext(connection) as before,
    ):
        agent_client.get(url)
    for hour in range(10, 13):
        for status, minute in ((Status.WAITING, 0), (Status.OPEN, 30)):
            services.ticket_transition(
                ticket=sla_ticket, actor=it_agent, to_status=status, now=berlin(23, hour, minute)
            )
    with (
        time_machine.travel(berlin(23, 14), tick=False),
        CaptureQueriesContext(connection) as after,
    ):
        agent_client.get(url)
    sla_queries = [q for q in after.captured_queries if "slas_" in q["sql"]]
    assert len(sla_queries) == 3
    # The status changes add activity rows, not queries.
    assert len(after.captured_queries) == len(before.captured_queries)


# --- Formatting -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0 min"),
        (59, "under 1 min"),
        (60, "1 min"),
        (3600, "1 h"),
        (3900, "1 h 5 min"),
        (-3900, "1 h 5 min"),
        (23 * 3600 + 59 * 60, "23 h 59 min"),
        (40 * 3600 + 60, "40 h"),
    ],
)
def test_business_duration(seconds, text):
    assert business_duration(seconds) == text


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(seconds=30), "in <1 min"),
        (timedelta(minutes=45), "in 45 min"),
        (timedelta(hours=2, minutes=59), "in 2 h"),
        (timedelta(hours=47), "in 47 h"),
        (timedelta(days=3, hours=5), "in 3 days"),
        (timedelta(0), "overdue <1 min"),
        (-timedelta(hours=3), "overdue 3 h"),
    ],
)
def test_due_relative(delta, text):
    now = berlin(23, 12)
    assert due_relative(now + delta, now) == text

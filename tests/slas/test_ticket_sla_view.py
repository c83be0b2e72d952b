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
from slas.escalations import sla_event_handle
from slas.idle import idle_timers_reschedule
from slas.models import (
    BusinessCalendar,
    EscalationAction,
    EscalationRule,
    SlaEvent,
    SlaPolicy,
    WorkingInterval,
)
from slas.sweep import sla_sweep
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
    # Clocks (with departments and calendars, whose last change picks the cached
    # calendar), segments (with departments).
    with django_assert_num_queries(2):
        sla_selectors.ticket_sla_for(user=it_agent, ticket=sla_ticket, now=berlin(23, 9, 30))
    for hour in range(10, 16):
        for status, minute in ((Status.WAITING, 0), (Status.OPEN, 30)):
            services.ticket_transition(
                ticket=sla_ticket, actor=it_agent, to_status=status, now=berlin(23, hour, minute)
            )
    with django_assert_num_queries(2):
        views = sla_selectors.ticket_sla_for(user=it_agent, ticket=sla_ticket, now=berlin(23, 16))
    assert len(views[-1].segments) == 13
    # Without the timeline (the API): the clocks alone, the same figures.
    with django_assert_num_queries(1):
        bare = sla_selectors.ticket_sla_for(
            user=it_agent, ticket=sla_ticket, now=berlin(23, 16), timeline=False
        )
    assert [(v.kind, v.state, v.used_seconds, v.due_at) for v in bare] == [
        (v.kind, v.state, v.used_seconds, v.due_at) for v in views
    ]
    assert all(v.segments == () for v in bare)


def test_requesters_read_costs_no_segment_query(requester, sla_ticket, django_assert_num_queries):
    user_department_ids(requester)
    with django_assert_num_queries(1):  # the clocks (with their calendars)
        sla_selectors.ticket_sla_for(user=requester, ticket=sla_ticket, now=berlin(23, 9, 30))


# --- Escalations on the ticket page (agents only) -------------------------------------


@pytest.fixture
def escalated(sla_ticket, it, it_agent, it_lead) -> Ticket:
    """The first response warned at 75 % (level 1 nudges the assignee) and breached
    (level 2 tells the lead and raises the priority); the sweep and the rules ran at
    10:05, as beat and the workers would."""
    services.ticket_assign(ticket=sla_ticket, actor=it_agent, assignee=it_agent, now=FILED)
    nudge = EscalationRule.objects.create(
        department=it, level=1, name="Nudge the assignee", trigger="warning", warning_percent=75
    )
    EscalationAction.objects.create(rule=nudge, kind="notify", target="assignee")
    lead = EscalationRule.objects.create(
        department=it, level=2, name="Tell the lead", trigger="breach", clock_kind="first_response"
    )
    EscalationAction.objects.create(rule=lead, position=0, kind="notify", target="leads")
    EscalationAction.objects.create(rule=lead, position=1, kind="raise_priority")
    run_escalations(berlin(23, 10, 5))
    return Ticket.objects.get(pk=sla_ticket.pk)


def run_escalations(now: datetime) -> None:
    with time_machine.travel(now, tick=False):
        sla_sweep(now=now)
        for event_id in SlaEvent.objects.filter(handled_at__isnull=True).values_list(
            "pk", flat=True
        ):
            sla_event_handle(event_id=event_id, now=now)


def page_text(client, ticket: Ticket, at: datetime) -> str:
    with time_machine.travel(at, tick=False):
        response = client.get(reverse("ticket_detail", args=[ticket.reference]))
    assert response.status_code == 200
    text = re.sub(r"<[^>]+>", " ", response.content.decode())
    return re.sub(r"\s+", " ", html.unescape(text)).strip()


def test_agents_see_each_event_with_its_instant_and_what_the_rules_did(agent_client, escalated):
    card = sla_card(agent_client, escalated, berlin(23, 10, 30))

    assert card.startswith("Service level Escalated · level 2 First response Breached")
    assert "Escalations (3)" in card
    assert (
        "First response: 50 % of the target used Mon 23 Nov, 09:30 No escalation rule applies."
    ) in card
    assert (
        "First response: 75 % of the target used Mon 23 Nov, 09:45 "
        "Level 1 “Nudge the assignee”: notified the assignee (1): 1 email"
    ) in card
    assert (
        "First response target breached Mon 23 Nov, 10:00 "
        "Level 2 “Tell the lead”: Raise priority by one step: now High; "
        "notified the department's lead(s) (1): 1 email"
    ) in card


def test_an_event_whose_rules_have_not_run_yet_says_so(agent_client, sla_ticket, it):
    rule = EscalationRule.objects.create(department=it, name="Nudge", trigger="warning")
    EscalationAction.objects.create(rule=rule, kind="notify", target="assignee")
    with time_machine.travel(berlin(23, 9, 31), tick=False):
        sla_sweep(now=berlin(23, 9, 31))  # no worker has taken the outbox message yet

    card = sla_card(agent_client, sla_ticket, berlin(23, 9, 32))

    assert "First response: 50 % of the target used Mon 23 Nov, 09:30" in card
    assert "Escalation rules not run yet." in card
    assert "Escalated" not in card  # no level reached yet


def test_no_update_events_and_the_service_desks_note_for_agents(
    agent_client, sla_ticket, it, it_agent
):
    rule = EscalationRule.objects.create(
        department=it, name="Quiet", trigger="no_update", idle_hours=2
    )
    EscalationAction.objects.create(
        rule=rule, kind="internal_note", text="Nobody has told the requester anything."
    )
    idle_timers_reschedule(department_id=it.pk, now=berlin(23, 9, 1))
    run_escalations(berlin(23, 11, 1))

    card = sla_card(agent_client, sla_ticket, berlin(23, 11, 30))
    assert (
        "No update for 2 business hours Mon 23 Nov, 11:00 "
        "Level 1 “Quiet”: Post an internal note: posted"
    ) in card
    text = page_text(agent_client, sla_ticket, berlin(23, 11, 30))
    # The note is the service desk's: its name and avatar, never an empty author.
    assert "SD Service desk" in text and "Nobody has told the requester anything." in text
    assert "Service desk escalated it: Level 1: Quiet" in text
    assert "Service desk added an internal note" in text
    assert "None" not in text


def test_the_activity_list_shows_the_escalations_by_the_service_desk(agent_client, escalated):
    text = page_text(agent_client, escalated, berlin(23, 10, 30))
    assert "Service desk escalated it: Level 1: Nudge the assignee" in text
    assert "Service desk escalated it: Level 2: Tell the lead" in text
    assert "First response target breached." in text  # the audit entry's details
    assert "Service desk changed priority from Normal to High" in text


def test_requesters_see_no_escalations_no_level_and_no_escalation_activity(
    requester_client, escalated
):
    card = sla_card(requester_client, escalated, berlin(23, 10, 30))
    assert "Escalat" not in card
    assert "Level" not in card
    assert "75 %" not in card
    text = page_text(requester_client, escalated, berlin(23, 10, 30))
    assert "escalated" not in text.lower()
    assert "Tell the lead" not in text and "Nudge" not in text


def test_the_level_badge_is_the_current_departments(client, escalated, it_agent, hr_type, hr_agent):
    services.ticket_transfer(
        ticket=escalated, actor=it_agent, request_type=hr_type, reason="Payroll",
        now=berlin(23, 10, 10),
    )  # fmt: skip
    client.force_login(hr_agent)
    card = sla_card(client, escalated, berlin(23, 10, 30))
    assert "Escalated" not in card  # IT's ladder is not HR's
    # Another department's events name it and the zone they are shown in.
    assert "First response target breached · IT Mon 23 Nov, 10:00 (Europe/Berlin)" in card


def test_other_departments_agents_still_get_404(client, escalated, hr_agent):
    client.force_login(hr_agent)
    response = client.get(reverse("ticket_detail", args=[escalated.reference]))
    assert response.status_code == 404


def test_escalations_selector_is_one_query_for_agents_and_none_for_requesters(
    it_agent, requester, escalated, django_assert_num_queries
):
    user_department_ids(it_agent)
    user_department_ids(requester)
    with django_assert_num_queries(1):
        shown = sla_selectors.ticket_escalations_for(user=it_agent, ticket=escalated)
    assert [e.kind for e in shown.events] == ["warning", "warning", "breach"]
    assert shown.level == 2
    with django_assert_num_queries(0):
        assert not sla_selectors.ticket_escalations_for(user=requester, ticket=escalated)


def test_a_long_history_shows_the_latest_events(it_agent, sla_ticket, monkeypatch):
    monkeypatch.setattr(sla_selectors, "ESCALATION_EVENTS_SHOWN", 2)
    run_escalations(berlin(23, 10, 5))  # 50 %, 75 %, breach of the first response
    shown = sla_selectors.ticket_escalations_for(user=it_agent, ticket=sla_ticket)
    assert [e.description for e in shown.events] == [
        "First response: 75 % of the target used",
        "First response target breached",
    ]
    assert shown.more


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
    # Clocks (with calendars), segments, and (agents only) the SLA events with escalations.
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

"""The lead dashboard's figures, each against a hand count on a small fixed history.

IT works Monday to Friday 09:00-17:00 in Berlin (UTC+1 until 29 March 2026), first
response within 1 business hour, resolution within 8. Everything is filed and worked
through the ticket services at frozen instants. The period is 2-15 March 2026, local.
"""

from __future__ import annotations

import zoneinfo
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.urls import reverse

from dashboards.selectors import (
    _finished_clocks,
    _sla_figures_grouping_sets,
    _sla_figures_portable,
    lead_dashboard,
    live_lists,
)
from slas.models import SlaClock
from surveys.models import SurveyInvitation, SurveyResponse
from tests.dashboards.history import BERLIN, FIRST_DAY, HOUR, LAST_DAY, MIN, NOW, Desk, Status, at
from tests.factories import RequestTypeFactory, UserFactory, agent_of, lead_of
from tickets import services
from tickets.models import Priority
from tickets.selectors import department_time_zone, local_days


def test_the_period_is_whole_local_days():
    since, until = local_days(first_day=FIRST_DAY, last_day=LAST_DAY, tz=BERLIN)
    assert since == datetime(2026, 3, 1, 23, 0, tzinfo=UTC)
    assert until == datetime(2026, 3, 15, 23, 0, tzinfo=UTC)
    # Across the change to summer time (29 March) the last day has 23 hours.
    since, until = local_days(first_day=date(2026, 3, 29), last_day=date(2026, 3, 29), tz=BERLIN)
    assert (since, until - since) == (datetime(2026, 3, 28, 23, 0, tzinfo=UTC), timedelta(hours=23))


def test_department_without_calendar_counts_in_utc(hr):
    assert department_time_zone(hr) == zoneinfo.ZoneInfo("UTC")


def test_first_response_compliance_and_business_times(board, history):
    # Met in the period: A 30, B 45, C 120 (breached), D 10, E 20, F 5, M 30 minutes.
    assert SlaClock.objects.get(ticket=history["B"], kind="first_response").consumed_seconds == (
        45 * MIN
    )  # 16:30-17:00 Monday and 09:00-09:15 Tuesday: business time, not 16 h 45 min
    f = board.first_response
    assert (f.finished, f.met, f.breached, f.percent_met) == (7, 6, 1, 85.7)
    # Sorted: 5, 10, 20, 30, 30, 45, 120 min. Rank ceil(3.5) = 4, ceil(6.3) = 7.
    assert (f.median_seconds, f.p90_seconds) == (30 * MIN, 120 * MIN)


def test_resolution_compliance_and_business_times(board):
    # Met: A 4 h, B 2 h, C 4 h, D 11 h (breached), E 2 h (1 h + 1 h after reopening),
    # F 7.5 h, M 30 min.
    r = board.resolution
    assert (r.finished, r.met, r.breached, r.percent_met) == (7, 6, 1, 85.7)
    # Sorted: 0.5, 2, 2, 4, 4, 7.5, 11 h.
    assert (r.median_seconds, r.p90_seconds) == (4 * HOUR, 11 * HOUR)


def test_volume_per_local_week(board):
    weeks = [(w.start, w.created, w.resolved) for w in board.weeks]
    assert weeks == [
        # Created A B C D E H1 (H1 at 00:30 local, still Sunday in UTC); resolved A B C D
        # E M (M at 00:30 local).
        (date(2026, 3, 2), 6, 6),
        (date(2026, 3, 9), 3, 1),  # created F G I; resolved F
    ]
    assert (board.created, board.resolved) == (9, 7)


def test_reopen_rate(board):
    # Created in the period and resolved at least once: A B C D E F; reopened: E.
    assert (board.resolved_once, board.reopened, board.reopen_percent) == (6, 1, 16.7)


def test_open_backlog_by_age_and_live_sla(board):
    # Open at Monday 16 March 12:00: K L (under a day), I (2 days), G (6 days),
    # H1 (14 days), J (38 days).
    assert [(b.label, b.count) for b in board.backlog] == [
        ("Under 1 day", 2),
        ("1 to 3 days", 1),
        ("3 to 7 days", 1),
        ("7 to 30 days", 1),
        ("Over 30 days", 1),
    ]
    assert board.open_total == 6
    # G H1 I J are past their first-response deadline; K is past 75 % of it; L is not.
    assert (board.breached_now, board.at_risk_now) == (4, 1)


def test_breakdown_by_requesting_department(board, requester, hr):
    rows = {row.name: row for row in board.by_requesting_department}
    assert [row.name for row in board.by_requesting_department] == [
        "Sales",
        "Human Resources",
        "No department",
    ]
    sales = rows["Sales"]
    assert sales.key == requester.home_department_id
    assert sales.created == 6  # A B C E F I (M, J, K, L are outside)
    assert (sales.first_response.finished, sales.first_response.percent_met) == (6, 83.3)
    assert (sales.resolution.finished, sales.resolution.percent_met) == (6, 100.0)
    # 0.5, 2, 2, 4, 4, 7.5 h: rank 3.
    assert sales.resolution.median_seconds == 2 * HOUR
    hr_row = rows["Human Resources"]
    assert (hr_row.key, hr_row.created) == (hr.pk, 2)  # D G
    assert (hr_row.resolution.percent_met, hr_row.resolution.breached) == (0.0, 1)
    assert hr_row.resolution.median_seconds == 11 * HOUR
    nobody = rows["No department"]
    assert (nobody.key, nobody.created) == (None, 1)  # H1
    assert nobody.resolution.finished == 0 and nobody.resolution.percent_met is None


def figures(rows):
    """name -> (created, first response %, resolution %, resolution breached, median)."""
    return [
        (
            row.name,
            row.created,
            row.first_response.percent_met,
            row.resolution.percent_met,
            row.resolution.breached,
            row.resolution.median_seconds,
        )
        for row in rows
    ]


def test_breakdown_by_request_type(board_of, spread):
    board = board_of()
    assert figures(board.by_request_type) == [
        # Created A B C E F H1 I. First responses A B C E F, C breached; resolutions A 4,
        # B 2, C 4, E 2, F 7.5 h, all met: 2 2 4 4 7.5, rank 3.
        ("Laptop", 7, 80.0, 100.0, 0, 4 * HOUR),
        # Created D G (M before the period, but its clocks finished in it). First
        # responses D 10, M 30 min, met; resolutions D 11 h breached, M 0.5 h: rank 1.
        ("Monitor", 2, 100.0, 50.0, 1, 30 * MIN),
    ]
    keys = [(row.key, row.queue_query) for row in board.by_request_type]
    laptop, monitor = spread["laptop"].pk, spread["monitor"].pk
    assert keys == [(laptop, f"request_type={laptop}"), (monitor, f"request_type={monitor}")]


def test_breakdown_by_assignee_with_the_unassigned(board_of, spread):
    board = board_of()
    assert figures(board.by_assignee) == [
        # Created A B C D. First responses A 30, B 45, C 120 (breached), D 10 min;
        # resolutions A 4, B 2, C 4, D 11 h (breached): 2 4 4 11, rank 2.
        ("Pia Ross", 4, 75.0, 75.0, 1, 4 * HOUR),
        ("Unassigned", 3, None, None, 0, None),  # H1 G I, none answered
        # Created E F; first responses E F M met; resolutions E 2, F 7.5, M 0.5 h: rank 2.
        ("quinn", 2, 100.0, 100.0, 0, 2 * HOUR),
    ]
    pia, quinn = spread["pia"].pk, spread["quinn"].pk
    assert [(row.key, row.queue_query) for row in board.by_assignee] == [
        (pia, f"assignee={pia}"),
        (None, "assignee=none"),
        (quinn, f"assignee={quinn}"),
    ]


def test_breakdown_by_priority_most_urgent_first(board_of, spread):
    board = board_of()
    assert figures(board.by_priority) == [
        # C D: first responses C 120 (breached) and D 10 min; resolutions C 4, D 11 h
        # (breached): rank 1.
        ("Urgent", 2, 50.0, 50.0, 1, 4 * HOUR),
        ("High", 1, 100.0, 100.0, 0, 4 * HOUR),  # A
        # Created B E F G H1; clocks of B E F M: resolutions 0.5 2 2 7.5 h, rank 2.
        ("Normal", 5, 100.0, 100.0, 0, 2 * HOUR),
        ("Low", 1, None, None, 0, None),  # I, open
    ]
    assert [row.queue_query for row in board.by_priority] == [
        "priority=4", "priority=3", "priority=2", "priority=1"
    ]  # fmt: skip


def test_every_breakdown_adds_up_to_the_totals(board_of, spread):
    board = board_of()
    for rows in (board.by_requesting_department, board.by_request_type, board.by_assignee,
                 board.by_priority):  # fmt: skip
        assert sum(row.created for row in rows) == board.created == 9
        assert sum(row.first_response.finished for row in rows) == 7
        assert sum(row.resolution.met for row in rows) == board.resolution.met == 6
        assert sum(row.resolution.breached for row in rows) == 1


def test_period_edges_are_local_not_utc(berlin_it, history):
    """The same data read with UTC days: H1 and M fall out of the first day."""
    utc = zoneinfo.ZoneInfo("UTC")
    since, until = local_days(first_day=FIRST_DAY, last_day=LAST_DAY, tz=utc)
    board = lead_dashboard(department=berlin_it, since=since, until=until, tz=utc, now=NOW)
    assert board.created == 8
    assert board.first_response.finished == 6


def test_stopped_clocks_count_only_when_breached(berlin_it, desk, requester):
    # Cancelled before work started, within its first hour: neither met nor missed.
    early = desk.file(requester, at(2, 9))
    desk.move(early, Status.CANCELLED, at(2, 9, 30))
    # Cancelled after its first response was due: a breach.
    late = desk.file(requester, at(2, 9))
    desk.move(late, Status.CANCELLED, at(2, 11))
    since, until = local_days(first_day=FIRST_DAY, last_day=LAST_DAY, tz=BERLIN)
    board = lead_dashboard(department=berlin_it, since=since, until=until, tz=BERLIN, now=NOW)
    f = board.first_response
    assert (f.finished, f.met, f.breached, f.percent_met) == (1, 0, 1, 0.0)
    assert (f.median_seconds, f.p90_seconds) == (None, None)  # nothing was met


def test_a_later_reassignment_does_not_move_a_finished_clock(berlin_it, desk, requester):
    """A finished clock counts for the ticket as it was when it finished: Pia answers at
    Normal priority; then the ticket goes to Quinn at Urgent, who resolves it. The first
    response stays Pia's and Normal's, the resolution is Quinn's and Urgent's; the
    ticket itself (created) counts as it is now: Quinn's, Urgent."""
    pia = agent_of(berlin_it, username="pia", first_name="Pia", last_name="Ross")
    quinn = agent_of(berlin_it, username="quinn", first_name="Quinn", last_name="Lee")
    ticket = desk.file(requester, at(2, 9))
    with time_machine.travel(at(2, 9, 5), tick=False):
        services.ticket_assign(ticket=ticket, actor=pia, assignee=pia, now=at(2, 9, 5))
    with time_machine.travel(at(2, 9, 20), tick=False):
        services.comment_add(ticket=ticket, author=pia, body="Looking.", now=at(2, 9, 20))
    with time_machine.travel(at(2, 10), tick=False):
        services.ticket_assign(ticket=ticket, actor=pia, assignee=quinn, now=at(2, 10))
        services.ticket_set_priority(
            ticket=ticket, actor=quinn, priority=Priority.URGENT, now=at(2, 10)
        )
    desk.move(ticket, Status.RESOLVED, at(2, 12), actor=quinn)  # 3 business hours
    since, until = local_days(first_day=FIRST_DAY, last_day=LAST_DAY, tz=BERLIN)
    board = lead_dashboard(department=berlin_it, since=since, until=until, tz=BERLIN, now=NOW)

    def row(rows, name):
        (found,) = [r for r in rows if r.name == name]
        return (
            found.created,
            found.first_response.finished,
            found.first_response.median_seconds,
            found.resolution.finished,
            found.resolution.median_seconds,
        )

    assert row(board.by_assignee, "Pia Ross") == (0, 1, 20 * MIN, 0, None)
    assert row(board.by_assignee, "Quinn Lee") == (1, 0, None, 1, 3 * HOUR)
    assert row(board.by_priority, "Normal") == (0, 1, 20 * MIN, 0, None)
    assert row(board.by_priority, "Urgent") == (1, 0, None, 1, 3 * HOUR)
    # Quinn reopens it and Pia takes it back: the resolution leaves the day it no longer
    # counts in, and counts for Pia when she resolves it again (1 more business hour).
    desk.move(ticket, Status.OPEN, at(3, 9), actor=requester)
    with time_machine.travel(at(3, 9), tick=False):
        services.ticket_assign(ticket=ticket, actor=pia, assignee=pia, now=at(3, 9))
    reopened = lead_dashboard(department=berlin_it, since=since, until=until, tz=BERLIN, now=NOW)
    assert reopened.resolution.finished == 0
    desk.move(ticket, Status.RESOLVED, at(3, 10), actor=pia)
    board = lead_dashboard(department=berlin_it, since=since, until=until, tz=BERLIN, now=NOW)
    assert row(board.by_assignee, "Pia Ross") == (1, 1, 20 * MIN, 1, 4 * HOUR)
    assert [r.name for r in board.by_assignee] == ["Pia Ross"]


def test_a_clock_stopped_by_a_transfer_counts_as_the_old_department_held_it(
    berlin_it, desk, requester, hr
):
    """Pia holds a Laptop ticket past its first-response deadline (09:00 + 1 business
    hour), then moves it to HR: IT's clocks stop late, breached, and count for Laptop
    and Pia (the ticket now has HR's request type and no assignee)."""
    pia = agent_of(berlin_it, username="pia", first_name="Pia", last_name="Ross")
    ticket = desk.file(requester, at(2, 9))
    with time_machine.travel(at(2, 9, 5), tick=False):
        services.ticket_assign(ticket=ticket, actor=pia, assignee=pia, now=at(2, 9, 5))
    with time_machine.travel(at(2, 11), tick=False):
        services.ticket_transfer(
            ticket=ticket,
            actor=pia,
            request_type=RequestTypeFactory(department=hr, name="Payroll"),
            reason="Not ours.",
            now=at(2, 11),
        )
    since, until = local_days(first_day=FIRST_DAY, last_day=LAST_DAY, tz=BERLIN)
    board = lead_dashboard(department=berlin_it, since=since, until=until, tz=BERLIN, now=NOW)
    f = board.first_response
    assert (f.finished, f.met, f.breached) == (1, 0, 1)
    assert [(r.name, r.first_response.breached) for r in board.by_request_type] == [("Laptop", 1)]
    assert [(r.name, r.first_response.breached) for r in board.by_assignee] == [("Pia Ross", 1)]


def test_percentiles_are_nearest_rank_per_group(hr, sales, make_policy):
    """Round the clock (no calendar): business time is wall time. First responses after
    1..10 minutes from Sales, and 7 and 3 minutes from HR's own people."""
    make_policy(hr, first_response_minutes=60, resolution_minutes=600)
    desk = Desk(RequestTypeFactory(department=hr), agent_of(hr))
    seller = UserFactory(username="sam", home_department=sales)
    own = UserFactory(username="olga", home_department=hr)
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    for minutes in [4, 9, 1, 10, 2, 8, 3, 7, 5, 6]:
        desk.work(seller, start, start + timedelta(minutes=minutes))
    for minutes in [7, 3]:
        desk.work(own, start, start + timedelta(minutes=minutes))
    utc = zoneinfo.ZoneInfo("UTC")
    since, until = local_days(first_day=FIRST_DAY, last_day=LAST_DAY, tz=utc)
    board = lead_dashboard(department=hr, since=since, until=until, tz=utc, now=NOW)
    # All 12: 1 2 3 3 4 5 6 7 7 8 9 10; rank 6 and ceil(10.8) = 11.
    assert (board.first_response.median_seconds, board.first_response.p90_seconds) == (
        5 * MIN,
        9 * MIN,
    )
    rows = {row.name: row.first_response for row in board.by_requesting_department}
    # Sales: 1..10, rank 5 and 9. HR: 3 7, rank 1 and 2.
    assert (rows["Sales"].median_seconds, rows["Sales"].p90_seconds) == (5 * MIN, 9 * MIN)
    assert (rows["Human Resources"].median_seconds, rows["Human Resources"].p90_seconds) == (
        3 * MIN,
        7 * MIN,
    )


def test_figures_take_a_fixed_number_of_queries(berlin_it, history, django_assert_num_queries):
    since, until = local_days(first_day=FIRST_DAY, last_day=LAST_DAY, tz=BERLIN)
    # SLA counts 1, percentiles 1, weeks and the reopen rate 2 (the created tickets' weeks
    # and reopen counts one), live 1, volume 1, surveys 3 (4 with answers to name), the
    # groups' names 2 (requesting departments and request types by primary key; agents
    # too when a ticket has one, none in this history).
    # Was 13 before the breakdowns by request type, assignee and priority: the counts and
    # the percentiles are one query each for the total and every breakdown (grouped by
    # every dimension at once; the percentiles a UNION ALL). The names came with the
    # counts and the volume until the clocks copied what they count (finished_*): they
    # are read without a join to the tickets now, and the names looked up once. On
    # PostgreSQL two as well: the counts per bucket of business time, then the exact
    # percentiles from the buckets holding their ranks (dashboards.clock_figures). The
    # live counts were 2 (the backlog, then at risk and breached). On PostgreSQL the
    # volume comes with the created weeks (one GROUPING SETS): 10. On PostgreSQL the
    # counts, weeks, volume and percentiles now come from the daily figures
    # (dashboards.daily.period_rows): the roll-up's watermark, then, no day being rolled
    # up here, one query computing every day: 8 (with rolled days, see test_daily.py).
    # And the survey counts by requesting department with them: 7; and by SLA met: 6.
    with django_assert_num_queries(11 if connection.vendor == "sqlite" else 6):
        lead_dashboard(department=berlin_it, since=since, until=until, tz=BERLIN, now=NOW)


def test_satisfaction_per_requesting_department_comes_from_the_surveys(
    berlin_it, desk, requester, hr
):
    """Scores as surveys.stats gives them (invitations made directly: only read here)."""
    hr_person = UserFactory(username="hilda", home_department=hr)
    sales_ticket = desk.file(requester, at(2, 9))
    hr_ticket = desk.file(hr_person, at(2, 9))
    sent = at(3, 9)
    for number, (ticket, score) in enumerate(
        [(sales_ticket, 5), (sales_ticket, 4), (sales_ticket, None), (hr_ticket, 2)], start=1
    ):
        invitation = SurveyInvitation.objects.create(
            ticket=ticket,
            resolution=number,
            department=berlin_it,
            requesting_department=ticket.requesting_department,
            requester=ticket.requester,
            token_seed=str(number),
            token_hash=f"{number:064d}",
            created_at=sent,
            send_at=sent,
            expires_at=sent + timedelta(days=14),
            answered_at=sent if score else None,
            score=score,  # as survey_respond copies it
        )
        if score:
            SurveyResponse.objects.create(invitation=invitation, score=score, created_at=sent)
    since, until = local_days(first_day=FIRST_DAY, last_day=LAST_DAY, tz=BERLIN)
    board = lead_dashboard(department=berlin_it, since=since, until=until, tz=BERLIN, now=NOW)
    rows = {row.name: row.satisfaction for row in board.by_requesting_department}
    sales, hr_figures = rows["Sales"], rows["Human Resources"]
    assert sales is not None and hr_figures is not None
    assert (sales.invited, sales.responses, sales.csat_average) == (3, 2, 4.5)
    assert (hr_figures.invited, hr_figures.responses, hr_figures.csat_average) == (1, 1, 2.0)
    assert (board.satisfaction.overall.responses, board.satisfaction.overall.csat_average) == (
        3,
        3.67,
    )


# --- Live lists ---------------------------------------------------------------------------


def test_live_lists_soonest_deadline_first(berlin_it, history):
    live = live_lists(department=berlin_it, now=NOW)
    # K is past 75 % of its first-response time; L is not yet.
    assert [t.pk for t in live.at_risk.rows] == [history["K"].pk]
    # Due: J 6 Feb 11:00, H1 2 Mar 10:00, G 10 Mar 10:00, I 16 Mar 10:00.
    assert [t.pk for t in live.breached.rows] == [history[k].pk for k in ("J", "H1", "G", "I")]
    assert (live.at_risk.total, live.breached.total) == (1, 4)


def test_live_section_refreshes_in_place(client, berlin_it, history, monkeypatch, requester):
    monkeypatch.setattr("dashboards.selectors.LIVE_LIST_SIZE", 2)
    live_url = reverse("lead_dashboard_live", args=["IT"])
    client.force_login(lead_of(berlin_it, username="lena"))
    with time_machine.travel(NOW, tick=False):
        page = client.get(reverse("lead_dashboard", args=["IT"])).content.decode()
        assert f'hx-get="{live_url}"' in page and 'hx-trigger="every 60s"' in page
        response = client.get(live_url)
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert history["J"].reference in html and history["G"].reference not in html  # 2 shown
    assert "2 more not shown" in html
    assert "/queue/IT/?status=active&amp;sla=breached&amp;sort=due" in html
    client.force_login(requester)
    assert client.get(live_url).status_code == 403


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the one-query figures are PostgreSQL's"
)
@pytest.mark.parametrize("tz_name", ["Europe/Berlin", "UTC"])
def test_one_query_figures_equal_the_portable_ones(berlin_it, spread, desk, requester, tz_name):
    """PostgreSQL reads the SLA counts and percentiles in one GROUPING SETS query over the
    finished clocks' index-only rows; every group's figures are the portable two queries'
    (over the spread history, whose groups differ per dimension and hold several met
    clocks each, and a clock stopped after its breach)."""
    late = desk.file(requester, at(11, 9))
    desk.move(late, Status.CANCELLED, at(11, 11))  # after its first response was due
    tz = zoneinfo.ZoneInfo(tz_name)
    since, until = local_days(first_day=FIRST_DAY, last_day=LAST_DAY, tz=tz)
    clocks = _finished_clocks(department=berlin_it, since=since, until=until)
    assert clocks.filter(state=SlaClock.State.STOPPED).exists()
    figures = _sla_figures_grouping_sets(department=berlin_it, since=since, until=until)
    assert len(figures) > 10 and any(f.median_seconds for f in figures.values())
    assert figures == _sla_figures_portable(clocks)

"""The daily figures (dashboards.daily, PostgreSQL): rolled up, read back, kept fresh.

The dashboards must say the same whether a day is rolled up, stale or live: each test
compares a board read from stored days with one computed from the tickets and clocks, or
with a hand count.
"""

from __future__ import annotations

import zoneinfo
from bisect import bisect_right
from datetime import UTC, date, datetime, timedelta

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from dashboards.daily import (
    BOUNDS,
    SlaTotals,
    _bucket_range,
    _unpacked,
    daily_rollup,
    period_rows,
)
from dashboards.map import department_map
from dashboards.models import BucketSeconds, DailyFigures, DailyRollup, StaleDay
from dashboards.selectors import (
    _finished_clocks,
    _from_daily,
    _sla_figures_portable,
    lead_dashboard,
    lead_satisfaction,
)
from slas.models import SlaClock
from surveys.models import SurveyInvitation
from surveys.services import survey_respond
from surveys.stats import survey_stats
from tests.dashboards.history import (
    BERLIN,
    FIRST_DAY,
    LAST_DAY,
    NOW,
    SINCE,
    UNTIL,
    Status,
    at,
)
from tests.factories import RequestTypeFactory, TicketFactory
from tickets.models import Ticket
from tickets.selectors import local_days

UTC_ZONE = zoneinfo.ZoneInfo("UTC")
pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the daily figures are PostgreSQL's"
)


def read(department, tz=BERLIN):
    since, until = local_days(first_day=FIRST_DAY, last_day=LAST_DAY, tz=tz)
    return lead_dashboard(department=department, since=since, until=until, tz=tz, now=NOW)


def test_rolled_days_give_the_live_figures(berlin_it, history, spread, django_assert_num_queries):
    live = read(berlin_it)
    assert not DailyRollup.objects.exists()
    rolled = daily_rollup(now=NOW)
    # Every day from the first ticket (6 February) to the last before the live ones.
    last_rolled = date(2026, 3, 14)  # 15 March ended at 00:00 on the 16th, under 14 h ago
    assert rolled >= (last_rolled - date(2026, 2, 6)).days + 1
    state = DailyRollup.objects.get(department=berlin_it)
    assert (state.rolled_until, state.time_zone) == (last_rolled + timedelta(days=1), BERLIN.key)
    assert not StaleDay.objects.exists()  # the history's markers were cleared
    # The roll-up's watermark, the stale days, the stored rows, the live ones, the stored
    # seconds of the buckets holding the percentiles; then the rest as before
    # (test_figures_take_a_fixed_number_of_queries), with the agents' names (the spread
    # history has assignees), less the survey counts by requesting department and by SLA
    # met (from the daily rows).
    with django_assert_num_queries(10):
        stored = read(berlin_it)
    assert stored == live
    assert stored.resolution.finished and stored.by_assignee and stored.weeks


def test_days_are_the_departments_local_days(berlin_it, history):
    """M is resolved and H1 filed at 00:30 on 2 March in Berlin, Sunday 23:30 UTC: both on
    the local 2 March."""
    daily_rollup(now=NOW)
    rows = {row.day: row for row in DailyFigures.objects.filter(department=berlin_it, dimension=0)}
    for day in (date(2026, 3, 1), date(2026, 3, 2)):
        created = [
            t for t in Ticket.objects.filter(department=berlin_it)
            if t.created_at.astimezone(BERLIN).date() == day
        ]  # fmt: skip
        assert (rows[day].created if day in rows else 0) == len(created)
    assert history["H1"].pk in {t.pk for t in Ticket.objects.filter(created_at__lt=at(2, 1))}
    assert rows[date(2026, 3, 2)].res_finished >= 1  # M's resolution, at 00:30 local
    assert date(2026, 3, 1) not in rows  # Sunday 1 March, local: nothing


def test_a_change_after_its_day_was_rolled_is_read_at_once_and_rolled_again(
    berlin_it, history, desk, requester
):
    daily_rollup(now=NOW)
    before = read(berlin_it)
    # F (resolved 10 March) is reopened on 12 March: its resolution no longer counts,
    # and the ticket is no longer resolved; both days were rolled up.
    desk.move(history["F"], Status.OPEN, at(12, 9), actor=requester)
    assert StaleDay.objects.filter(department_id=berlin_it.pk).exists()
    changed = read(berlin_it)
    assert changed.resolution.finished == before.resolution.finished - 1
    assert changed.resolved == before.resolved - 1
    assert changed.reopened == before.reopened + 1
    # A new ticket on a rolled day (its created_at set back, as an import would).
    ticket = TicketFactory(request_type=desk.request_type, created_by=requester, now=at(11, 10))
    assert read(berlin_it).created == before.created + 1
    daily_rollup(now=NOW)
    assert not StaleDay.objects.exists()
    assert read(berlin_it) == read_live(berlin_it)
    assert ticket.pk and read(berlin_it).created == before.created + 1


def read_live(department):
    """The board with no day rolled up (every day computed from tickets and clocks)."""
    DailyRollup.objects.filter(department=department).delete()
    return read(department)


def test_a_changed_group_moves_the_ticket_in_the_rolled_day(berlin_it, history, spread):
    daily_rollup(now=NOW)
    Ticket.objects.filter(pk=history["A"].pk).update(assignee=spread["quinn"])
    rows = {row.name: row.created for row in read(berlin_it).by_assignee}
    assert rows == {row.name: row.created for row in read_live(berlin_it).by_assignee}
    assert rows["quinn"] == 3  # E, F and now A (M was filed before the period)


def test_a_new_zone_reads_live_until_rolled_again(berlin_it, history):
    daily_rollup(now=NOW)
    in_berlin = read(berlin_it)
    calendar = berlin_it.calendar
    calendar.time_zone = "America/New_York"
    calendar.save(update_fields=["time_zone"])
    new_york = zoneinfo.ZoneInfo("America/New_York")
    live = read(berlin_it, tz=new_york)  # Berlin's days are not New York's: read live
    assert live.created == in_berlin.created - 1  # H1 was filed on 1 March in New York
    daily_rollup(now=NOW)
    assert DailyRollup.objects.get(department=berlin_it).time_zone == new_york.key
    assert read(berlin_it, tz=new_york) == live


def test_filing_now_notes_nothing(berlin_it, desk, requester):
    """Instants under 12 hours old are on live days: no marker, so filing pays nothing."""
    TicketFactory(request_type=desk.request_type, created_by=requester, now=timezone.now())
    assert not StaleDay.objects.exists()
    TicketFactory(
        request_type=desk.request_type, created_by=requester, now=timezone.now() - timedelta(days=3)
    )
    (marker,) = StaleDay.objects.all()
    assert marker.department_id == berlin_it.pk


def test_the_map_reads_the_same_rolled_or_live(berlin_it, history, spread, hr):
    live = department_map(first_day=FIRST_DAY, last_day=LAST_DAY)
    daily_rollup(now=NOW)
    assert DailyRollup.objects.filter(department=hr).exists()
    assert department_map(first_day=FIRST_DAY, last_day=LAST_DAY) == live
    assert live.total.resolution.median_seconds is not None


def test_period_rows_mix_stored_stale_and_live_days(berlin_it, history):
    daily_rollup(now=datetime(2026, 3, 9, 12, tzinfo=UTC))  # rolled until 8 March
    desk_day = date(2026, 3, 4)
    Ticket.objects.filter(pk=history["D"].pk).update(priority=1)  # filed 4 March: stale
    rows = period_rows(
        departments=[(berlin_it.pk, BERLIN)], first_day=FIRST_DAY, last_day=LAST_DAY
    ).rows
    days = {row.day for row in rows}
    assert desk_day in days and date(2026, 3, 10) in days
    stored = set(DailyFigures.objects.filter(department=berlin_it).values_list("day", flat=True))
    assert date(2026, 3, 10) not in stored  # a live day
    assert len([r for r in rows if r.day == desk_day and r.dimension == 0]) == 1


def test_beat_rolls_up_every_ten_minutes():
    entry = settings.CELERY_BEAT_SCHEDULE["dashboards-daily-rollup"]
    assert entry == {"task": "dashboards.tasks.daily_rollup_task", "schedule": 600.0}


def test_percentiles_from_the_histograms_equal_the_portable_ones(clocks, it, hr):
    """Over 800 clocks in many buckets (tests/dashboards/conftest.py `clocks`): rolled up
    until 19 March, 10 March changed after it was rolled (so read live), the rest live;
    every group's counts and nearest ranks equal those computed from the clocks. So does
    the map, rolled or not."""
    # Each department's roll-up starts at its first ticket (HR's clocks are on IT's).
    TicketFactory(request_type=RequestTypeFactory(department=hr))
    Ticket.objects.update(created_at=SINCE - timedelta(days=10))
    daily_rollup(now=datetime(2026, 3, 20, 14, 30, tzinfo=UTC))
    assert DailyRollup.objects.get(department=it).rolled_until == date(2026, 3, 20)
    changed = next(c for c in clocks if c.met_at and c.met_at.date() == date(2026, 3, 10))
    SlaClock.objects.filter(pk=changed.pk).update(consumed_seconds=12345)
    assert StaleDay.objects.filter(department_id=it.pk).exists()
    days = (SINCE.date(), UNTIL.date() - timedelta(days=1))
    period = period_rows(departments=[(it.pk, UTC_ZONE)], first_day=days[0], last_day=days[1])
    assert {row.fr_seconds is None for row in period.rows} == {True, False}  # stored and live
    _, sla, _, _ = _from_daily(period, since=SINCE, until=UNTIL, tz=UTC_ZONE)
    portable = _sla_figures_portable(_finished_clocks(department=it, since=SINCE, until=UNTIL))
    assert len(portable) > 20 and sla == portable
    rolled = department_map(first_day=days[0], last_day=days[1])
    DailyRollup.objects.all().delete()
    assert department_map(first_day=days[0], last_day=days[1]) == rolled
    assert rolled.total.resolution.median_seconds is not None


def test_the_seconds_by_bucket_are_each_rolled_rows_met_seconds(clocks, it, hr):
    """Every stored day's and month's row has its met clocks' seconds in BucketSeconds,
    bucket by bucket (each in its bucket's range, sorted), per group and kind, as the
    clocks say; a day rolled again replaces its rows (a clock moved to another bucket
    leaves nothing in its old one)."""
    TicketFactory(request_type=RequestTypeFactory(department=hr))
    Ticket.objects.update(created_at=SINCE - timedelta(days=10))
    groups = {
        DailyFigures.Dimension.ALL: lambda c: 0,
        DailyFigures.Dimension.REQUESTING_DEPARTMENT: lambda c: c.finished_requesting_department_id,
        DailyFigures.Dimension.REQUEST_TYPE: lambda c: c.finished_request_type_id,
        DailyFigures.Dimension.ASSIGNEE: lambda c: c.finished_assignee_id,
        DailyFigures.Dimension.PRIORITY: lambda c: c.finished_priority,
    }
    kinds = {SlaClock.Kind.FIRST_RESPONSE: 0, SlaClock.Kind.RESOLUTION: 1}

    def check():
        rolled = set(
            DailyFigures.objects.filter(department=it).values_list(
                "month", "day", "dimension", "key"
            )
        )
        expected: dict[tuple, list[int]] = {}
        for clock in SlaClock.objects.filter(department=it, state=SlaClock.State.MET):
            day = clock.met_at.date()
            for month, dimension in ((m, d) for m in (False, True) for d in groups):
                key = (month, day.replace(day=1) if month else day, dimension)
                key += (groups[dimension](clock) or 0,)
                if key in rolled:
                    expected.setdefault((*key, kinds[clock.kind]), []).append(
                        clock.consumed_seconds
                    )
        stored: dict[tuple, list[int]] = {}
        for row in BucketSeconds.objects.filter(department=it).order_by("bucket"):
            values = _unpacked(row.seconds)
            lo, hi = _bucket_range(row.bucket)
            assert values == sorted(values) and all(lo <= v < hi for v in values)
            key = (row.month, row.day, row.dimension, row.key, row.kind)
            stored.setdefault(key, []).extend(values)
        assert len(expected) > 100 and {k: sorted(v) for k, v in expected.items()} == stored
        assert any(month for month, *_ in stored)

    daily_rollup(now=datetime(2026, 3, 20, 14, 30, tzinfo=UTC))
    check()
    changed = next(
        c
        for c in clocks
        if c.met_at and c.met_at.date() == date(2026, 3, 10) and c.department == it
    )
    SlaClock.objects.filter(pk=changed.pk).update(consumed_seconds=changed.consumed_seconds + 86400)
    daily_rollup(now=datetime(2026, 3, 20, 14, 40, tzinfo=UTC))
    assert not StaleDay.objects.exists()
    check()


@pytest.mark.django_db(transaction=True)
def test_the_migrations_drop_the_rolled_rows_for_a_full_roll_up(it):
    """Migrations 0003 (the seconds move to BucketSeconds) and 0004 (survey rows by SLA
    met) leave no rolled row behind: the next roll-up rolls every day again, into both
    tables, rather than the dashboards reading rows without seconds or dimension."""
    before = [("dashboards", "0002_histograms")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old = executor.loader.project_state(before).apps
    old.get_model("dashboards", "DailyFigures").objects.create(
        department_id=it.pk, day=date(2026, 3, 1), dimension=2, key=7,
        fr_seconds=(5).to_bytes(4, "big"), fr_buckets=[5], fr_ends=[1],
    )  # fmt: skip
    old.get_model("dashboards", "DailyRollup").objects.create(
        department_id=it.pk, rolled_until=date(2026, 3, 2), time_zone="UTC",
        rolled_at=datetime(2026, 3, 2, 14, tzinfo=UTC),
    )  # fmt: skip
    call_command("migrate", "dashboards", verbosity=0)
    assert not DailyFigures.objects.exists() and not DailyRollup.objects.exists()


def test_a_key_of_some_groups_of_a_dimension_reads_only_theirs(clocks, it, hr):
    """SlaTotals reads a department's dimension-0 seconds for a key holding all of its
    groups of a dimension (the map's totals), and only the groups' own for a key holding
    some: every bucket's seconds, and so the nearest ranks, are the clocks' own."""
    TicketFactory(request_type=RequestTypeFactory(department=hr))
    Ticket.objects.update(created_at=SINCE - timedelta(days=10))
    daily_rollup(now=datetime(2026, 3, 20, 14, 30, tzinfo=UTC))
    days = (SINCE.date(), UNTIL.date() - timedelta(days=1))
    period = period_rows(
        departments=[(it.pk, UTC_ZONE)], first_day=days[0], last_day=days[1],
        dimensions=[DailyFigures.Dimension.REQUESTING_DEPARTMENT],
    )  # fmt: skip
    totals = SlaTotals(period)
    for row in period.rows:
        totals.add("all", row)
        if row.key in (it.pk, hr.pk):
            totals.add("some", row)
    found = {(kind, key): figures[3:] for kind, key, figures in totals.figures()}
    expected: dict = {}
    for key, requesters in (("all", {it.pk, hr.pk, None}), ("some", {it.pk, hr.pk})):
        for kind in (SlaClock.Kind.FIRST_RESPONSE, SlaClock.Kind.RESOLUTION):
            values = sorted(
                c.consumed_seconds
                for c in clocks
                if c.department == it and c.kind == kind and c.met_at
                and SINCE <= c.met_at < UNTIL and c.finished_requesting_department_id in requesters
            )  # fmt: skip
            ranks = [values[-(-p * len(values) // 100) - 1] for p in (50, 90)]
            assert found[(kind, key)] == tuple(ranks)
            for value in values:
                bucket = bisect_right(BOUNDS, value)
                expected.setdefault(((kind, key), bucket), []).append(value)
    assert totals._bucket_seconds(set(expected)) == expected


def test_a_whole_month_is_read_from_its_own_row(clocks, it, hr):
    """20 February to 5 April: March from its month's row (while none of its days is
    stale), the edge days from theirs; the figures, the weeks' tickets included, equal
    those computed from the tickets and clocks."""
    TicketFactory(request_type=RequestTypeFactory(department=hr))
    Ticket.objects.update(created_at=SINCE - timedelta(days=10))
    request_type = RequestTypeFactory(department=it)
    for day in (1, 2, 9, 16, 31):  # tickets of March's weeks, and of its edges
        ticket = TicketFactory(request_type=request_type)
        Ticket.objects.filter(pk=ticket.pk).update(created_at=datetime(2026, 3, day, 9, tzinfo=UTC))
    daily_rollup(now=datetime(2026, 4, 10, 14, 30, tzinfo=UTC))
    march = date(2026, 3, 1)
    assert DailyFigures.objects.filter(department=it, month=True, day=march).exists()
    first, last = date(2026, 2, 20), date(2026, 4, 5)
    since, until = local_days(first_day=first, last_day=last, tz=UTC_ZONE)

    def read_both(months):
        period = period_rows(departments=[(it.pk, UTC_ZONE)], first_day=first, last_day=last)
        assert [p.months for p in period.stored] == [months]
        _, sla, _, _ = _from_daily(period, since=since, until=until, tz=UTC_ZONE)
        portable = _sla_figures_portable(_finished_clocks(department=it, since=since, until=until))
        assert len(portable) > 20 and sla == portable
        board = lead_dashboard(department=it, since=since, until=until, tz=UTC_ZONE, now=NOW)
        assert board.created == 5 and [w.created for w in board.weeks][:7] == [0, 1, 1, 1, 1, 0, 1]
        return board

    rolled = read_both([march])
    changed = next(c for c in clocks if c.met_at and c.met_at.date() == date(2026, 3, 10))
    moved = hr.pk if changed.finished_requesting_department_id == it.pk else it.pk
    SlaClock.objects.filter(pk=changed.pk).update(finished_requesting_department_id=moved)
    stale = read_both([])  # March's days, 10 March live
    daily_rollup(now=datetime(2026, 4, 10, 14, 40, tzinfo=UTC))
    assert read_both([march]) == stale != rolled
    DailyRollup.objects.all().delete()
    live = lead_dashboard(department=it, since=since, until=until, tz=UTC_ZONE, now=NOW)
    assert live == stale


def test_the_maps_satisfaction_reads_the_same_rolled_or_live(answered, it):
    """The survey counts come from the daily figures too: an answer given after its
    invitation's day was rolled up is counted at once, and rolled again."""
    live = department_map(first_day=FIRST_DAY, last_day=LAST_DAY)
    daily_rollup(now=NOW)
    assert DailyFigures.objects.filter(department=it, invited__gt=0).exists()
    assert department_map(first_day=FIRST_DAY, last_day=LAST_DAY) == live
    total = next(cell for p, cell in live.totals if p == it).satisfaction
    assert (total.invited, total.responses) == (6, 5)
    invitation = SurveyInvitation.objects.get(ticket=answered[3])  # 5 March, unanswered
    survey_respond(invitation=invitation, score=2, nps=None, comment="", now=NOW)
    answered_now = department_map(first_day=FIRST_DAY, last_day=LAST_DAY)
    total = next(cell for p, cell in answered_now.totals if p == it).satisfaction
    assert (total.invited, total.responses) == (6, 6)
    daily_rollup(now=NOW + timedelta(minutes=10))
    assert not StaleDay.objects.exists()
    assert department_map(first_day=FIRST_DAY, last_day=LAST_DAY) == answered_now


def test_the_lead_dashboards_satisfaction_reads_the_same_rolled_or_live(answered, it):
    """The survey figures by requesting department and per week come from the daily
    figures (a whole month's weeks from its days' rows), as the invitations count them."""
    first, last = date(2026, 2, 20), date(2026, 4, 5)
    since, until = local_days(first_day=first, last_day=last, tz=UTC_ZONE)

    def section():
        board = lead_dashboard(department=it, since=since, until=until, tz=UTC_ZONE, now=NOW)
        return lead_satisfaction(stats=board.satisfaction, tz=UTC_ZONE, weeks=board.survey_weeks)

    counted = lead_satisfaction(
        stats=survey_stats(department=it, since=since, until=until, by_requesting_department=True),
        tz=UTC_ZONE,
    )
    assert section() == counted
    daily_rollup(now=datetime(2026, 4, 10, 14, 30, tzinfo=UTC))
    assert DailyFigures.objects.filter(department=it, month=True, invited=6).exists()
    rolled = section()
    assert rolled == counted
    assert [(w.start, w.figures.responses) for w in rolled.weeks if w.figures.invited] == [
        (date(2026, 3, 2), 3),
        (date(2026, 3, 9), 2),
    ]
    assert [(f.invited, f.responses) for f in rolled.stats.by_requesting_department] == [(6, 5)]


def test_the_lead_dashboards_survey_by_sla_met_reads_the_same_rolled_or_live(answered, it):
    """The satisfaction by SLA met comes from the daily figures (dimension SURVEY_SLA), as
    the invitations count it: rolled up, after an answer given once its day was rolled, and
    after an invitation's SLA outcome (its sla_met) is changed by hand on a rolled day."""
    first, last = date(2026, 2, 20), date(2026, 4, 5)
    since, until = local_days(first_day=first, last_day=last, tz=UTC_ZONE)
    invitations = [SurveyInvitation.objects.get(ticket=ticket) for ticket in answered]
    # 2 and 3 March missed their SLA, 4 March had none; the others met it.
    SurveyInvitation.objects.filter(pk__in=[i.pk for i in invitations[:2]]).update(sla_met=False)
    SurveyInvitation.objects.filter(pk=invitations[2].pk).update(sla_met=None)
    SurveyInvitation.objects.filter(pk__in=[i.pk for i in invitations[3:]]).update(sla_met=True)

    def by_sla():
        board = lead_dashboard(department=it, since=since, until=until, tz=UTC_ZONE, now=NOW)
        counted = survey_stats(department=it, since=since, until=until)
        assert board.satisfaction.by_sla == counted.by_sla
        assert board.satisfaction.overall == counted.overall
        return [(f.label, f.invited, f.responses, f.csat_average) for f in counted.by_sla]

    assert by_sla() == [
        ("SLA met", 3, 2, 2.0), ("SLA missed", 2, 2, 4.5), ("No SLA", 1, 1, 2.0),
    ]  # fmt: skip
    daily_rollup(now=datetime(2026, 4, 10, 14, 30, tzinfo=UTC))
    assert DailyFigures.objects.filter(
        department=it, dimension=DailyFigures.Dimension.SURVEY_SLA, month=True, key=1, invited=3
    ).exists()
    assert by_sla() == [
        ("SLA met", 3, 2, 2.0), ("SLA missed", 2, 2, 4.5), ("No SLA", 1, 1, 2.0),
    ]  # fmt: skip
    # 5 March (SLA met) answered now, after its day was rolled; 2 March's outcome corrected.
    survey_respond(invitation=invitations[3], score=5, nps=None, comment="", now=NOW)
    SurveyInvitation.objects.filter(pk=invitations[0].pk).update(sla_met=True)
    expected = [("SLA met", 4, 4, 3.5), ("SLA missed", 1, 1, 4.0), ("No SLA", 1, 1, 2.0)]
    assert by_sla() == expected
    daily_rollup(now=datetime(2026, 4, 10, 14, 40, tzinfo=UTC))
    assert not StaleDay.objects.exists()
    assert by_sla() == expected

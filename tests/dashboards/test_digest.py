"""The leads' weekly digest: when it is due in each department's time zone, its figures
against a hand count, and that each lead gets it exactly once.

The figures: IT works Monday to Friday 09:00-17:00 in Berlin, first response within 1
business hour, resolution within 8. The week is Monday 2 to Sunday 8 March 2026; its
digest is due on Monday 9 March at 07:00 Berlin (06:00 UTC).

    ticket  requester  filed          answered   resolved       first response  resolution
    A       Rita/Sales Mon 2 09:00    09:30      Mon 2 13:00    30 min met      4 h met
    B       Rita/Sales Mon 2 10:00    12:00      Tue 3 09:30    2 h breached    7.5 h met
    C       Rita/Sales Tue 3 09:00    09:10      Wed 4 12:00    10 min met      11 h breached
    D       Hilda/HR   Wed 4 09:00    09:20      Thu 5 15:00    20 min met      14 h breached
    E       Hilda/HR   Thu 5 09:00    -          -              open: breached now
    H       Hilda/HR   Thu 5 10:00    10:30      Fri 6 09:30    30 min met      7.5 h met
    Z       Rita/Sales Thu 26 Feb 09:00, answered and resolved that day: the week before
    K       Rita/Sales Mon 9 07:10 (after the week; not yet at risk at 07:30)

Surveys (made directly, created in the week): A 5 (NPS 10), B 4 (9), C 2 (3, an open
follow-up), D 1 (no NPS; a closed follow-up), H not answered.
"""

from __future__ import annotations

import logging
import zoneinfo
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.conf import settings
from django.core import mail

from dashboards import digest as digest_module
from dashboards.digest import (
    DIGEST_RUN_INTERVAL,
    digest_build,
    digest_week_due,
    weekly_digest_send,
    worst_served,
)
from dashboards.selectors import NO_CLOCKS, BreakdownRow, SlaFigures
from dashboards.tasks import weekly_digest_task
from outbox.models import Message
from surveys.models import FollowUp, SurveyInvitation, SurveyResponse, SurveySettings
from tests.factories import (
    DepartmentFactory,
    MembershipFactory,
    UserFactory,
    lead_of,
)
from tickets.models import Department, Membership

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
TOKYO = zoneinfo.ZoneInfo("Asia/Tokyo")
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
MONDAY = date(2026, 3, 9)
NOW = datetime(2026, 3, 9, 7, 30, tzinfo=BERLIN)  # the Monday the week's digest is due
WEEK_URL = "http://desk.test/dashboard/IT/?first_day=2026-03-02&last_day=2026-03-08"


def at(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=BERLIN)


def send(now: datetime) -> int:
    with time_machine.travel(now, tick=False):
        return weekly_digest_send(now=now)


def digests() -> set[str]:
    """The dedupe keys of the digests in the outbox."""
    return set(Message.objects.filter(dedupe_key__startswith="digest:").values_list(
        "dedupe_key", flat=True
    ))  # fmt: skip


# --- When a digest is due ---------------------------------------------------------------


def test_due_from_monday_at_the_send_hour_local():
    assert digest_week_due(tz=BERLIN, now=at(9, 6, 59), send_hour=7) is None
    week = digest_week_due(tz=BERLIN, now=at(9, 7), send_hour=7)
    assert week is not None
    assert (week.first_day, week.last_day, week.iso_week) == (
        date(2026, 3, 2), date(2026, 3, 8), "2026-W10"
    )  # fmt: skip
    assert (week.since, week.until) == (
        datetime(2026, 3, 1, 23, tzinfo=UTC),
        datetime(2026, 3, 8, 23, tzinfo=UTC),
    )


def test_tokyo_gets_it_on_sunday_evening_utc():
    # Monday 07:00 in Tokyo (UTC+9) is Sunday 22:00 UTC.
    assert (
        digest_week_due(tz=TOKYO, now=datetime(2026, 3, 8, 21, 59, tzinfo=UTC), send_hour=7) is None
    )
    week = digest_week_due(tz=TOKYO, now=datetime(2026, 3, 8, 22, 0, tzinfo=UTC), send_hour=7)
    assert week is not None and week.first_day == date(2026, 3, 2)
    assert week.since == datetime(2026, 3, 1, 15, tzinfo=UTC)  # Monday 00:00 JST


def test_new_york_week_across_the_change_to_summer_time():
    # Summer time begins on Sunday 8 March 2026: the week starts in EST (UTC-5) and ends
    # in EDT (UTC-4), so it lasts 167 hours, and the digest is due at 11:00 UTC.
    before = datetime(2026, 3, 9, 10, 59, tzinfo=UTC)
    assert digest_week_due(tz=NEW_YORK, now=before, send_hour=7) is None
    week = digest_week_due(tz=NEW_YORK, now=datetime(2026, 3, 9, 11, tzinfo=UTC), send_hour=7)
    assert week is not None
    assert week.since == datetime(2026, 3, 2, 5, tzinfo=UTC)
    assert week.until == datetime(2026, 3, 9, 4, tzinfo=UTC)
    assert week.until - week.since == timedelta(hours=167)


def test_berlin_week_across_the_change_to_summer_time():
    # 29 March 2026: Monday 30 March 07:00 CEST is 05:00 UTC.
    assert (
        digest_week_due(tz=BERLIN, now=datetime(2026, 3, 30, 4, 59, tzinfo=UTC), send_hour=7)
        is None
    )
    week = digest_week_due(tz=BERLIN, now=datetime(2026, 3, 30, 5, tzinfo=UTC), send_hour=7)
    assert week is not None and week.first_day == date(2026, 3, 23)
    assert week.until - week.since == timedelta(hours=167)


def test_due_late_in_the_week_but_never_a_week_later():
    # Workers down all Monday: still the week of 2 March on Sunday night...
    week = digest_week_due(tz=BERLIN, now=at(15, 23, 59), send_hour=7)
    assert week is not None and week.first_day == date(2026, 3, 2)
    # ... but not on the next Monday morning: nothing is due before 07:00, and then the
    # week of 9 March is.
    assert digest_week_due(tz=BERLIN, now=at(16, 6, 59), send_hour=7) is None
    week = digest_week_due(tz=BERLIN, now=at(16, 7), send_hour=7)
    assert week is not None and week.first_day == date(2026, 3, 9)


def test_iso_week_of_a_week_across_new_year():
    week = digest_week_due(tz=BERLIN, now=datetime(2026, 1, 5, 8, tzinfo=BERLIN), send_hour=7)
    assert week is not None
    assert (week.first_day, week.iso_week) == (date(2025, 12, 29), "2026-W01")


# --- Who gets it, and once ----------------------------------------------------------------


@pytest.fixture
def zones(it, hr, make_calendar):
    """IT in Tokyo, HR in New York; a lead each."""
    make_calendar("Tokyo", "Asia/Tokyo", department=it)
    make_calendar("New York", "America/New_York", department=hr)
    return {"it": lead_of(it, username="ken"), "hr": lead_of(hr, username="nina")}


def test_each_department_at_its_own_monday_morning(it, hr, zones):
    ken, nina = zones["it"], zones["hr"]
    tokyo = f"digest:{it.pk}:{ken.pk}:2026-W10"
    # Sunday 21:30 UTC: Monday 06:30 in Tokyo, too early; still Sunday in New York, where
    # the week of 23 February's digest is due until midnight (the first run ever sends it).
    assert send(datetime(2026, 3, 8, 21, 30, tzinfo=UTC)) == 1
    assert digests() == {f"digest:{hr.pk}:{nina.pk}:2026-W09"}
    assert send(datetime(2026, 3, 8, 22, 30, tzinfo=UTC)) == 1  # Monday 07:30 in Tokyo
    assert digests() == {f"digest:{hr.pk}:{nina.pk}:2026-W09", tokyo}
    assert send(datetime(2026, 3, 9, 10, 30, tzinfo=UTC)) == 0  # 06:30 in New York
    assert send(datetime(2026, 3, 9, 11, 30, tzinfo=UTC)) == 1  # 07:30 in New York
    assert digests() == {
        f"digest:{hr.pk}:{nina.pk}:2026-W09", f"digest:{hr.pk}:{nina.pk}:2026-W10", tokyo
    }  # fmt: skip


def test_the_send_hour_is_a_setting(it, zones, settings):
    settings.DIGEST_SEND_HOUR = 9
    tokyo = f"digest:{it.pk}:"
    send(datetime(2026, 3, 8, 23, 30, tzinfo=UTC))  # 08:30 in Tokyo
    assert not [key for key in digests() if key.startswith(tokyo)]
    send(datetime(2026, 3, 9, 0, 0, tzinfo=UTC))  # 09:00 in Tokyo
    assert [key for key in digests() if key.startswith(tokyo)] == [
        f"{tokyo}{zones['it'].pk}:2026-W10"
    ]


def test_run_twice_sends_once(it, zones):
    now = datetime(2026, 3, 9, 12, tzinfo=UTC)
    assert send(now) == 2
    assert send(now) == 0
    assert send(now + timedelta(days=3)) == 0  # Thursday: still that week, already sent
    assert len(digests()) == 2


def test_the_unique_key_not_the_look_up_makes_it_once(it, zones, monkeypatch, caplog):
    """Another run enqueued the digests between this run's look-up and its inserts: the
    outbox's UNIQUE dedupe_key refuses them, and the run goes on."""
    now = datetime(2026, 3, 9, 12, tzinfo=UTC)
    assert send(now) == 2
    monkeypatch.setattr(digest_module, "_enqueued", lambda keys: set())
    with caplog.at_level(logging.INFO, logger="dashboards.digest"):
        assert send(now) == 0
    assert len(digests()) == 2
    assert "already enqueued by another run" in caplog.text
    assert Message.objects.count() == 2  # and the savepoint left the transaction usable


def test_missed_monday_goes_out_later_that_week(it, zones):
    assert send(datetime(2026, 3, 11, 9, tzinfo=UTC)) == 2  # Wednesday
    assert len(digests()) == 2


def test_a_week_is_never_sent_once_the_next_one_is_due(it, zones):
    # Workers down from Monday 9 March to Monday 16 March, 12:00 UTC: only the week of
    # 9 March goes out.
    assert send(datetime(2026, 3, 16, 12, tzinfo=UTC)) == 2
    assert all(key.endswith(":2026-W11") for key in digests())


def test_a_lead_of_two_departments_gets_two(it, hr, zones):
    both = lead_of(it, username="bea")
    MembershipFactory(department=hr, user=both, role=Membership.Role.LEAD)
    send(datetime(2026, 3, 9, 12, tzinfo=UTC))
    assert {key for key in digests() if key.split(":")[2] == str(both.pk)} == {
        f"digest:{it.pk}:{both.pk}:2026-W10",
        f"digest:{hr.pk}:{both.pk}:2026-W10",
    }


def test_leads_without_email_are_skipped_and_logged(it, zones, caplog):
    UserFactory(username="mute", email="")
    lead_of(it, username="silent", email="")
    with caplog.at_level(logging.WARNING, logger="dashboards.digest"):
        send(datetime(2026, 3, 9, 12, tzinfo=UTC))
    ken = zones["it"]
    assert [key for key in digests() if key.startswith(f"digest:{it.pk}:")] == [
        f"digest:{it.pk}:{ken.pk}:2026-W10"
    ]
    assert "no email address for lead(s) silent; skipped" in caplog.text


def test_a_department_without_any_lead_email_is_logged_once(it, make_calendar, caplog):
    make_calendar("Berlin", "Europe/Berlin", department=it)
    lead_of(it, username="silent", email="")
    with caplog.at_level(logging.WARNING, logger="dashboards.digest"):
        assert send(at(9, 7, 10)) == 0
        assert send(at(9, 7, 10) + DIGEST_RUN_INTERVAL) == 0
    assert caplog.text.count("no email address for lead(s) silent; not sent") == 1
    assert digests() == set()


def test_inactive_leads_and_departments_get_none(it, hr, zones):
    zones["it"].is_active = False
    zones["it"].save(update_fields=["is_active"])
    Department.objects.filter(pk=hr.pk).update(is_active=False)
    assert send(datetime(2026, 3, 9, 12, tzinfo=UTC)) == 0


def test_beat_runs_the_task_hourly(it, zones):
    entry = settings.CELERY_BEAT_SCHEDULE["weekly-digest"]
    assert entry["task"] == weekly_digest_task.name
    assert entry["schedule"] == DIGEST_RUN_INTERVAL.total_seconds()
    with time_machine.travel(datetime(2026, 3, 9, 12, tzinfo=UTC), tick=False):
        weekly_digest_task()
    assert len(digests()) == 2


# --- The worst-served requesting department ---------------------------------------------


def row(key: int | None, name: str, finished: int, breached: int) -> BreakdownRow:
    resolution = SlaFigures(finished=finished, met=finished - breached, breached=breached)
    return BreakdownRow(key=key, name=name, created=finished, first_response=NO_CLOCKS,
                        resolution=resolution)  # fmt: skip


def test_worst_served_is_the_lowest_share_met_among_those_with_enough_clocks():
    rows = [
        row(1, "Sales", 10, 3),  # 70 %
        row(2, "Legal", 4, 4),  # 0 %, but only 4 finished
        row(3, "Finance", 5, 2),  # 60 %: the worst that qualifies
        row(None, "No department", 9, 9),  # not a department
    ]
    chosen = worst_served(rows, min_clocks=5)
    assert chosen is not None and chosen.name == "Finance"
    chosen = worst_served(rows, min_clocks=4)
    assert chosen is not None and chosen.name == "Legal"


def test_worst_served_tie_goes_to_more_breaches_then_the_name():
    chosen = worst_served([row(1, "Sales", 5, 1), row(2, "Finance", 10, 2)], min_clocks=5)
    assert chosen is not None and chosen.name == "Finance"  # both 80 %; 2 breaches
    chosen = worst_served([row(1, "Sales", 5, 1), row(2, "Finance", 5, 1)], min_clocks=5)
    assert chosen is not None and chosen.name == "Finance"


def test_worst_served_none_when_nobody_qualifies_or_nobody_breached():
    assert worst_served([], min_clocks=5) is None
    assert worst_served([row(1, "Sales", 4, 4)], min_clocks=5) is None
    assert worst_served([row(1, "Sales", 12, 0)], min_clocks=5) is None


# --- The figures and the email -----------------------------------------------------------


@pytest.fixture
def week(berlin_it, desk, requester, hr):
    """The table in the module's docstring (berlin_it and desk: conftest.py)."""
    hilda = UserFactory(username="hilda", home_department=hr)
    t = {
        "Z": desk.work(requester, at(26, 9, month=2), at(26, 9, 5, month=2), at(26, 10, month=2)),
        "A": desk.work(requester, at(2, 9), at(2, 9, 30), at(2, 13)),
        "B": desk.work(requester, at(2, 10), at(2, 12), at(3, 9, 30)),
        "C": desk.work(requester, at(3, 9), at(3, 9, 10), at(4, 12)),
        "D": desk.work(hilda, at(4, 9), at(4, 9, 20), at(5, 15)),
        "E": desk.file(hilda, at(5, 9)),
        "H": desk.work(hilda, at(5, 10), at(5, 10, 30), at(6, 9, 30)),
        "K": desk.file(requester, at(9, 7, 10)),
    }
    answers = [("A", 5, 10), ("B", 4, 9), ("C", 2, 3), ("D", 1, None), ("H", None, None)]
    for number, (name, score, nps) in enumerate(answers, start=1):
        ticket = t[name]
        sent = ticket.resolved_at
        invitation = SurveyInvitation.objects.create(
            ticket=ticket, resolution=1, department=berlin_it,
            requesting_department=ticket.requesting_department, requester=ticket.requester,
            token_seed=str(number), token_hash=f"{number:064d}", created_at=sent,
            send_at=sent, expires_at=sent + timedelta(days=14),
            answered_at=sent if score else None, score=score, nps=nps,
        )  # fmt: skip
        if score is None:
            continue
        response = SurveyResponse.objects.create(
            invitation=invitation, score=score, nps=nps, created_at=sent
        )
        if score <= 2:
            FollowUp.objects.create(
                response=response, department=berlin_it, created_at=sent,
                closed_at=at(7, 10) if score == 1 else None,
            )  # fmt: skip
    return t


@pytest.fixture
def leads(berlin_it):
    return [lead_of(berlin_it, username="lena", first_name="Lena"),
            lead_of(berlin_it, username="leo", first_name="Leo")]  # fmt: skip


def build(department):
    week = digest_week_due(tz=BERLIN, now=NOW, send_hour=7)
    assert week is not None
    return digest_build(department=department, week=week, now=NOW)


def test_the_weeks_figures(berlin_it, week):
    digest = build(berlin_it)
    board = digest.board
    f, r = board.first_response, board.resolution
    # First responses A B C D H, B breached; resolutions A B C D H, C D breached.
    assert (f.finished, f.met, f.breached, f.percent_met) == (5, 4, 1, 80.0)
    assert (r.finished, r.met, r.breached, r.percent_met) == (5, 3, 2, 60.0)
    assert (board.created, board.resolved) == (6, 5)  # A B C D E H; A B C D H
    assert (board.at_risk_now, board.breached_now) == (0, 1)  # E; K is due at 10:00
    s = board.satisfaction.overall
    assert (s.invited, s.responses, s.csat_average) == (5, 4, 3.0)  # (5 + 4 + 2 + 1) / 4
    assert (s.nps_responses, s.nps) == (3, 33)  # (2 promoters - 1 detractor) / 3
    assert digest.open_follow_ups == 1  # C's; D's is closed
    assert digest.worst_served is None  # Sales 3 resolutions, HR 2: under 5
    assert not digest.quiet
    assert digest.dashboard_url == WEEK_URL


def test_the_worst_served_with_fewer_clocks_required(berlin_it, week, monkeypatch):
    monkeypatch.setattr(digest_module, "WORST_SERVED_MIN_CLOCKS", 2)
    worst = build(berlin_it).worst_served
    # Sales: A B met, C breached (66.7 %); HR: H met, D breached (50 %).
    assert worst is not None
    assert (worst.name, worst.resolution.percent_met, worst.resolution.breached) == (
        "Human Resources", 50.0, 1
    )  # fmt: skip


def test_the_email_through_the_outbox(berlin_it, week, leads, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        assert send(NOW) == 2
    assert sorted(m.to[0] for m in mail.outbox) == ["lena@example.com", "leo@example.com"]
    (sent,) = [m for m in mail.outbox if m.to == ["lena@example.com"]]
    assert sent.subject == "IT weekly digest: 2 to 8 March 2026"
    assert sent.body == (
        "Hello Lena,\n\n"
        "IT, week of 2 to 8 March 2026 (Europe/Berlin).\n"
        "\nService levels\n"
        "  First response: 80% met (4 of 5) · 1 breached\n"
        "  Resolution: 60% met (3 of 5) · 2 breached\n"
        "  At sending: 0 at risk · 1 breached\n"
        "\nTickets\n"
        "  Created: 6\n"
        "  Resolved: 5\n"
        "\nSatisfaction\n"
        "  Average: 3.0 / 5 from 4 responses (5 asked)\n"
        "  NPS: +33 (3 answers)\n"
        "  Open low-score follow-ups: 1\n"
        "\nWorst served\n"
        "  Requesting department: none (no requesting department with 5 or more resolution "
        "targets finished missed any)\n"
        f"\nThe week on the dashboard: {WEEK_URL}\n\n— servicedesk\n\n"
    )
    html, mime = sent.alternatives[0]
    assert mime == "text/html"
    assert "80% met (4 of 5) · 1 breached" in html
    assert f'href="{WEEK_URL.replace("&", "&amp;")}"' in html
    assert sent.extra_headers == {"Auto-Submitted": "auto-generated"}
    assert (
        Message.objects.filter(dedupe_key__startswith="digest:", delivered_at__isnull=False).count()
        == 2
    )


def test_anonymous_survey_figures_say_hidden(berlin_it, week, leads):
    # Four answers, five needed in an anonymous survey.
    SurveySettings.objects.create(department=berlin_it, anonymous=True, min_group_size=5)
    send(NOW)
    text = Message.objects.filter(dedupe_key__startswith="digest:").first().payload["text"]
    assert "  Average: hidden: 4 responses, fewer than 5 in an anonymous survey\n" in text
    assert "  NPS: hidden\n" in text
    assert "3.0" not in text and "+33" not in text


def test_a_quiet_week_still_goes_out_and_says_so(berlin_it, leads):
    send(NOW)
    payload = Message.objects.filter(dedupe_key__startswith="digest:").first().payload
    assert "No activity this week" in payload["text"]
    assert "  First response: no targets finished\n" in payload["text"]
    assert "  Average: no surveys sent\n" in payload["text"]
    assert "No activity this week" in payload["html"]


def test_the_link_opens_the_same_week_on_the_dashboard(client, berlin_it, week, leads):
    digest = build(berlin_it)
    client.force_login(leads[0])
    with time_machine.travel(NOW, tick=False):
        response = client.get(digest.dashboard_url.removeprefix(settings.SITE_URL))
    assert response.status_code == 200
    board = response.context["board"]
    assert (board.since, board.until) == (digest.week.since, digest.week.until)
    assert board.resolution == digest.board.resolution


def test_the_figures_count_the_other_departments_nothing(berlin_it, week, leads, hr):
    """HR (no calendar: UTC) has a lead but no tickets: its digest is a quiet one."""
    lead_of(hr, username="hugo")
    DepartmentFactory(code="FIN", name="Finance")  # no lead: nothing to do
    send(datetime(2026, 3, 9, 12, tzinfo=UTC))
    hr_digest = Message.objects.get(dedupe_key__startswith=f"digest:{hr.pk}:")
    assert "No activity this week" in hr_digest.payload["text"]
    assert len(digests()) == 3

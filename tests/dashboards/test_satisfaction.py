"""The lead dashboard's satisfaction section, against a hand count: IT (round the clock,
UTC) resolves six of Rita's requests in 2-15 March 2026 and she answers five surveys
through the survey services.

    resolved        score  nps   comment
    Mon 2 Mar 10:00   5     10   "Quick and kind"
    Tue 3 Mar 10:00   4      9
    Wed 4 Mar 10:00   2      3   "Took a week"      (a follow-up)
    Thu 5 Mar 10:00   -                             (never answered)
    Mon 9 Mar 10:00   3      7   "=SUM(A1)"
    Tue 10 Mar 10:00  1      -   "Not solved"       (a follow-up, closed later)
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import time_machine
from django.urls import reverse

from dashboards.selectors import lead_dashboard, lead_satisfaction
from surveys.models import SurveyInvitation
from tickets.selectors import department_time_zone, local_days

NOW = datetime(2026, 3, 16, 11, 0, tzinfo=UTC)


def section(department, first_day=date(2026, 3, 2), last_day=date(2026, 3, 15)):
    tz = department_time_zone(department)
    since, until = local_days(first_day=first_day, last_day=last_day, tz=tz)
    board = lead_dashboard(department=department, since=since, until=until, tz=tz, now=NOW)
    return lead_satisfaction(stats=board.satisfaction, tz=tz, weeks=board.survey_weeks)


def test_average_distribution_rate_and_nps(it, answered):
    s = section(it).stats.overall
    assert (s.invited, s.responses) == (6, 5)
    assert s.response_rate == pytest.approx(5 / 6)
    assert s.csat_average == 3.0  # (5 + 4 + 2 + 3 + 1) / 5
    # NPS of the four who answered it: promoters 10, 9; detractor 3; 7 is passive.
    assert (s.nps_responses, s.nps) == (4, 25)
    assert section(it).distribution == [(1, 1, 20), (2, 1, 20), (3, 1, 20), (4, 1, 20), (5, 1, 20)]


def test_average_per_local_week(it, answered):
    weeks = [(w.start, w.figures.responses, w.figures.csat_average) for w in section(it).weeks]
    # (5 + 4 + 2) / 3 and (3 + 1) / 2.
    assert weeks == [(date(2026, 3, 2), 3, 3.67), (date(2026, 3, 9), 2, 2.0)]


def test_recent_comments_newest_first_with_the_requester(it, answered, requester):
    comments = section(it).comments
    assert [(c.score, c.comment) for c in comments] == [
        (1, "Not solved"),
        (3, "=SUM(A1)"),
        (2, "Took a week"),
        (5, "Quick and kind"),
    ]
    assert comments[0].reference == answered[5].reference
    assert (comments[0].requester, comments[0].requesting_department) == (str(requester), "Sales")


def test_recent_comments_are_of_the_surveys_of_the_period(it, answered):
    # The invitations of 9 March alone (each answered an hour after it was made).
    one_day = section(it, first_day=date(2026, 3, 9), last_day=date(2026, 3, 9))
    assert [c.comment for c in one_day.comments] == ["=SUM(A1)"]
    from_the_ninth = section(it, first_day=date(2026, 3, 9), last_day=date(2026, 3, 15))
    assert [c.comment for c in from_the_ninth.comments] == ["Not solved", "=SUM(A1)"]


def test_at_most_ten_comments(it, answered, monkeypatch):
    monkeypatch.setattr("dashboards.selectors.RECENT_COMMENTS", 2)
    assert [c.score for c in section(it).comments] == [1, 3]


def test_open_follow_ups_are_counted_now(it, answered):
    # Scores 2 and 1 opened follow-ups; the 1 was closed.
    assert section(it).open_follow_ups == 1
    # Open now, whatever the period.
    assert section(it, date(2026, 1, 1), date(2026, 1, 2)).open_follow_ups == 1


def test_anonymous_survey_shows_no_requester_and_no_small_week(it, it_surveys, answered):
    it_surveys.anonymous = True  # min_group_size 5: the five answers show, no week does
    it_surveys.save()
    s = section(it)
    assert s.stats.overall.csat_average == 3.0
    assert [(w.figures.responses, w.figures.hidden, w.figures.csat_average) for w in s.weeks] == [
        (3, True, None),
        (2, True, None),
    ]
    assert len(s.comments) == 4
    assert {(c.reference, c.requester, c.requesting_department) for c in s.comments} == {
        (None, None, None)
    }


def test_anonymous_survey_under_the_group_size_shows_no_comment(it, it_surveys, answered):
    it_surveys.anonymous = True
    it_surveys.min_group_size = 6
    it_surveys.save()
    s = section(it)
    assert s.stats.overall.hidden and s.distribution == []
    assert (s.comments, s.comments_withheld) == ([], True)


def test_answer_given_under_anonymity_stays_anonymous(it, it_surveys, answered):
    """The department surveys openly now, but one answer was promised anonymity."""
    SurveyInvitation.objects.filter(ticket=answered[0]).update(anonymous=True)
    # Five answers: enough to show; the anonymous answer names no one.
    comments = {c.comment: c for c in section(it).comments}
    assert comments["Quick and kind"].requester is None
    assert comments["Quick and kind"].reference is None


def test_one_small_week_is_hidden_with_its_complement(it, it_surveys, answered):
    """Anonymous, group size 3: the week of 9 March (2 answers) is hidden, and so is the
    week of 2 March, else 3.0 overall would give it away."""
    it_surveys.anonymous = True
    it_surveys.min_group_size = 3
    it_surveys.save()
    assert [w.figures.hidden for w in section(it).weeks] == [True, True]


def test_no_surveys_no_figures(it):
    s = section(it)
    assert (s.stats.overall.invited, s.distribution, s.comments, s.open_follow_ups) == (
        0,
        [],
        [],
        0,
    )
    assert [w.figures.csat_average for w in s.weeks] == [None, None]


def test_section_takes_three_queries(it, answered, django_assert_num_queries):
    tz = department_time_zone(it)
    since, until = local_days(first_day=date(2026, 3, 2), last_day=date(2026, 3, 15), tz=tz)
    board = lead_dashboard(department=it, since=since, until=until, tz=tz, now=NOW)
    with django_assert_num_queries(3):
        lead_satisfaction(stats=board.satisfaction, tz=tz)


def test_page_shows_the_section(client, it, it_lead, answered):
    client.force_login(it_lead)
    with time_machine.travel(NOW, tick=False):
        response = client.get(
            reverse("lead_dashboard", args=["IT"]) + "?first_day=2026-03-02&last_day=2026-03-15"
        )
    html = response.content.decode()
    assert response.status_code == 200
    assert "Took a week" in html and answered[2].reference in html
    assert f'href="{reverse("survey_follow_ups")}">1</a>' in html

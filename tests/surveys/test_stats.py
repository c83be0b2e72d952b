"""The selector the dashboards use: response rate, average CSAT, score distribution and
NPS for a department, per requesting department and split by SLA; in an anonymous survey
no group of fewer than the minimum number of responses shows its scores, nor can be
worked out from the others."""

from __future__ import annotations

from datetime import timedelta

import pytest

from surveys.models import SurveyInvitation, SurveyResponse
from surveys.stats import survey_stats
from tests.factories import DepartmentFactory, TicketFactory
from tests.surveys.conftest import T0

SINCE, UNTIL = T0, T0 + timedelta(days=30)


@pytest.fixture
def ticket(it_surveys, it_type, requester):
    return TicketFactory(request_type=it_type, created_by=requester)


class Answers:
    """Invitations (and answers) made directly: the selector only reads them. One ticket
    carries them all, as successive resolutions."""

    def __init__(self, ticket):
        self.ticket = ticket
        self.resolution = 0

    def add(
        self,
        score=None,
        *,
        nps=None,
        requesting=None,
        sla_met=None,
        at=T0 + timedelta(days=1),
        withdrawn=False,
        anonymous=False,
    ):
        self.resolution += 1
        invitation = SurveyInvitation.objects.create(
            ticket=self.ticket,
            resolution=self.resolution,
            department=self.ticket.department,
            requesting_department=requesting or self.ticket.requesting_department,
            requester=self.ticket.requester,
            token_seed=str(self.resolution),
            token_hash=f"{self.resolution:064d}",
            sla_met=sla_met,
            anonymous=anonymous,
            created_at=at,
            send_at=at,
            expires_at=at + timedelta(days=14),
            withdrawn_at=at if withdrawn else None,
            answered_at=at if score else None,
            # The answer's copy, as survey_respond writes it.
            score=score or None,
            nps=nps if score else None,
        )
        if score:
            SurveyResponse.objects.create(
                invitation=invitation, score=score, nps=nps, created_at=at
            )
        return invitation


@pytest.fixture
def answers(ticket):
    return Answers(ticket)


def test_the_figures_of_a_department(answers, it, django_assert_num_queries):
    for score, nps in zip([5, 5, 4, 4, 4, 3, 2, 1], [10, 9, 9, 8, 7, 6, 3, None], strict=True):
        answers.add(score, nps=nps)
    answers.add()  # asked, never answered
    answers.add()
    answers.add(withdrawn=True)  # reopened: not counted
    answers.add(5, at=SINCE - timedelta(seconds=1))  # before the period
    answers.add(5, at=UNTIL)  # after it
    with django_assert_num_queries(2):
        stats = survey_stats(department=it, since=SINCE, until=UNTIL)
    overall = stats.overall
    assert (overall.invited, overall.responses) == (10, 8)
    assert overall.response_rate == 0.8
    assert overall.csat_average == 3.5
    assert overall.csat_percent == 62.5  # five 4s and 5s of eight
    assert overall.distribution == {1: 1, 2: 1, 3: 1, 4: 3, 5: 2}
    # Seven NPS answers: three promoters (9-10), two detractors (0-6): (3 - 2) / 7 = 14 %.
    assert (overall.nps, overall.nps_responses) == (14, 7)
    assert not overall.hidden and not stats.anonymous


def test_no_answers_no_figures(it_surveys, it):
    overall = survey_stats(department=it, since=SINCE, until=UNTIL).overall
    assert (overall.invited, overall.responses, overall.response_rate) == (0, 0, None)
    assert overall.csat_average is None and overall.nps is None


def test_per_requesting_department(answers, it, sales, hr, django_assert_num_queries):
    answers.add(5, requesting=sales)
    answers.add(3, requesting=sales)
    answers.add(requesting=sales)
    answers.add(1, requesting=hr, nps=0)
    with django_assert_num_queries(4):
        stats = survey_stats(department=it, since=SINCE, until=UNTIL, by_requesting_department=True)
    rows = {f.label: f for f in stats.by_requesting_department}
    assert set(rows) == {"Sales", "Human Resources"}
    assert (rows["Sales"].invited, rows["Sales"].responses, rows["Sales"].csat_average) == (
        3,
        2,
        4.0,
    )
    assert rows["Sales"].response_rate == pytest.approx(2 / 3)
    assert (rows["Human Resources"].csat_average, rows["Human Resources"].nps) == (1.0, -100)


def test_anonymous_groups_under_the_minimum_are_hidden(answers, it, it_surveys, sales, hr):
    it_surveys.anonymous = True
    it_surveys.save()  # min_group_size 5
    finance = DepartmentFactory(code="FIN", name="Finance")
    for _ in range(6):
        answers.add(5, requesting=sales)
    for _ in range(5):
        answers.add(4, requesting=finance)
    for _ in range(3):
        answers.add(1, requesting=hr)
    answers.add(requesting=hr)
    stats = survey_stats(department=it, since=SINCE, until=UNTIL, by_requesting_department=True)
    rows = {f.label: f for f in stats.by_requesting_department}
    # HR (3) is under five; alone it could be read off the total, so the smallest other
    # group (Finance, 5) is hidden with it. Sales stays.
    assert rows["Human Resources"].hidden and rows["Finance"].hidden
    assert rows["Human Resources"].csat_average is None
    assert rows["Human Resources"].distribution is None and rows["Finance"].nps is None
    assert (rows["Human Resources"].invited, rows["Human Resources"].responses) == (4, 3)
    assert not rows["Sales"].hidden and rows["Sales"].csat_average == 5.0
    assert not stats.overall.hidden and stats.overall.responses == 14


def test_an_anonymous_department_with_few_answers_shows_no_scores_at_all(
    answers, it, it_surveys, sales
):
    it_surveys.anonymous = True
    it_surveys.min_group_size = 5
    it_surveys.save()
    for score in (1, 2, 5, 5):
        answers.add(score, requesting=sales)
    stats = survey_stats(department=it, since=SINCE, until=UNTIL, by_requesting_department=True)
    assert stats.overall.hidden and stats.overall.csat_average is None
    assert stats.overall.responses == 4 and stats.overall.response_rate == 1.0
    assert all(f.hidden for f in stats.by_requesting_department)


def test_answers_given_anonymously_stay_protected_after_the_setting_is_turned_off(
    answers, it, it_surveys, sales
):
    for score in (1, 2):
        answers.add(score, requesting=sales, anonymous=True)
    stats = survey_stats(department=it, since=SINCE, until=UNTIL)
    assert stats.anonymous and stats.overall.hidden


def test_small_groups_are_shown_when_the_survey_is_not_anonymous(answers, it, sales):
    answers.add(2, requesting=sales)
    stats = survey_stats(department=it, since=SINCE, until=UNTIL, by_requesting_department=True)
    assert stats.by_requesting_department[0].csat_average == 2.0


def test_csat_split_by_sla(answers, it):
    for score in (5, 4, 4):
        answers.add(score, sla_met=True)
    for score in (2, 1):
        answers.add(score, sla_met=False)
    answers.add(3, sla_met=None)
    answers.add(sla_met=False)
    by_sla = survey_stats(department=it, since=SINCE, until=UNTIL).by_sla
    assert [(f.label, f.invited, f.responses, f.csat_average) for f in by_sla] == [
        ("SLA met", 3, 3, 4.33),
        ("SLA missed", 3, 2, 1.5),
        ("No SLA", 1, 1, 3.0),
    ]

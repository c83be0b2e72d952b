"""Colleagues are not flooded: a department surveys a share of its resolutions, and
nobody is asked more than once per the department's cap, whichever department asked."""

from __future__ import annotations

from surveys.models import SurveyInvitation, SurveySettings
from surveys.services import is_sampled
from tests.factories import TicketFactory, UserFactory
from tests.surveys.conftest import reopen, resolve


def test_sampling_is_stable_and_close_to_the_percentage():
    picks = [is_sampled(ticket_id=n, resolution=1, percent=30) for n in range(1, 2001)]
    assert 500 <= sum(picks) <= 700  # 30 % of 2,000 = 600
    assert picks == [is_sampled(ticket_id=n, resolution=1, percent=30) for n in range(1, 2001)]
    assert all(is_sampled(ticket_id=n, resolution=1, percent=100) for n in range(1, 200))
    assert not any(is_sampled(ticket_id=n, resolution=1, percent=0) for n in range(1, 200))


def test_a_sampled_department_surveys_only_the_resolutions_in_its_sample(
    clock, it_surveys, it_type, it_agent, sales
):
    it_surveys.sample_percent = 50
    it_surveys.save()
    tickets = [
        TicketFactory(request_type=it_type, created_by=UserFactory(home_department=sales))
        for _ in range(20)
    ]
    for ticket in tickets:
        resolve(ticket, it_agent)
    surveyed = set(SurveyInvitation.objects.values_list("ticket_id", flat=True))
    expected = {t.pk for t in tickets if is_sampled(ticket_id=t.pk, resolution=1, percent=50)}
    assert surveyed == expected
    assert 3 <= len(surveyed) <= 17


def test_the_cap_skips_a_second_survey_within_the_period(
    clock, it_surveys, it_type, hr, hr_type, requester, it_agent, hr_agent
):
    it_surveys.per_person_cap_days = 7
    it_surveys.save()
    SurveySettings.objects.create(department=hr, per_person_cap_days=0)
    resolve(TicketFactory(request_type=it_type, created_by=requester), it_agent)

    clock.advance(days=6, hours=23)
    resolve(TicketFactory(request_type=it_type, created_by=requester), it_agent)
    assert SurveyInvitation.objects.count() == 1

    clock.advance(hours=1, seconds=1)
    resolve(TicketFactory(request_type=it_type, created_by=requester), it_agent)
    assert SurveyInvitation.objects.count() == 2


def test_the_cap_counts_other_departments_surveys(
    clock, it_surveys, hr, hr_type, it_type, requester, it_agent, hr_agent
):
    it_surveys.per_person_cap_days = 30
    it_surveys.save()
    SurveySettings.objects.create(department=hr, per_person_cap_days=0)
    resolve(TicketFactory(request_type=hr_type, created_by=requester), hr_agent)
    clock.advance(days=2)
    resolve(TicketFactory(request_type=it_type, created_by=requester), it_agent)
    assert [i.department for i in SurveyInvitation.objects.all()] == [hr]
    # HR has no cap: it asks again whatever IT did.
    resolve(TicketFactory(request_type=hr_type, created_by=requester), hr_agent)
    assert SurveyInvitation.objects.filter(department=hr).count() == 2


def test_the_cap_is_per_person(clock, it_surveys, it_type, requester, colleague, it_agent):
    it_surveys.per_person_cap_days = 30
    it_surveys.save()
    resolve(TicketFactory(request_type=it_type, created_by=requester), it_agent)
    resolve(TicketFactory(request_type=it_type, created_by=colleague), it_agent)
    assert SurveyInvitation.objects.count() == 2


def test_a_withdrawn_survey_does_not_count_against_the_cap(
    clock, it_surveys, it_type, requester, it_agent
):
    it_surveys.per_person_cap_days = 30
    it_surveys.save()
    ticket = resolve(TicketFactory(request_type=it_type, created_by=requester), it_agent)
    clock.advance(minutes=10)
    ticket = reopen(ticket, requester)  # before any answer: the invitation is withdrawn
    clock.advance(days=1)
    resolve(ticket, it_agent)
    assert list(
        SurveyInvitation.objects.order_by("resolution").values_list("resolution", flat=True)
    ) == [1, 2]

"""Every survey records whether the ticket met its SLA targets (at the resolution), so
satisfaction can be compared with SLA compliance."""

from __future__ import annotations

from datetime import timedelta

import pytest

from slas.models import SlaPolicy
from surveys import services as survey_services
from surveys.models import SurveyInvitation
from surveys.stats import survey_stats
from tests.factories import TicketFactory
from tests.surveys.conftest import resolve
from tickets import services


@pytest.fixture
def it_policy(it):
    """Round the clock (no calendar): first response within 1 h, resolution within 8 h."""
    return SlaPolicy.objects.create(
        name="IT", department=it, first_response_minutes=60, resolution_minutes=480
    )


def file_and_resolve(it_type, requester, agent, clock, *, reply_after, resolve_after):
    ticket = TicketFactory(request_type=it_type, created_by=requester)
    clock.advance(**reply_after)
    services.comment_add(ticket=ticket, author=agent, body="On it.")
    clock.advance(**resolve_after)
    return resolve(ticket, agent)


def test_targets_met(clock, it_surveys, it_policy, it_type, requester, it_agent):
    file_and_resolve(
        it_type, requester, it_agent, clock, reply_after={"minutes": 20}, resolve_after={"hours": 2}
    )
    assert SurveyInvitation.objects.get().sla_met is True


def test_a_late_first_response_is_a_miss_even_if_resolved_in_time(
    clock, it_surveys, it_policy, it_type, requester, it_agent
):
    file_and_resolve(
        it_type, requester, it_agent, clock, reply_after={"minutes": 61}, resolve_after={"hours": 1}
    )
    assert SurveyInvitation.objects.get().sla_met is False


def test_a_late_resolution_is_a_miss(clock, it_surveys, it_policy, it_type, requester, it_agent):
    file_and_resolve(
        it_type, requester, it_agent, clock, reply_after={"minutes": 5}, resolve_after={"hours": 9}
    )
    assert SurveyInvitation.objects.get().sla_met is False


def test_no_sla_no_verdict(clock, it_surveys, it_type, requester, it_agent):
    resolve(TicketFactory(request_type=it_type, created_by=requester), it_agent)
    assert SurveyInvitation.objects.get().sla_met is None


def test_the_stats_compare_satisfaction_with_sla_compliance(
    clock, it, it_surveys, it_policy, it_type, requester, colleague, it_agent
):
    start = clock.now
    file_and_resolve(
        it_type, requester, it_agent, clock, reply_after={"minutes": 5}, resolve_after={"hours": 1}
    )
    file_and_resolve(
        it_type, colleague, it_agent, clock, reply_after={"hours": 2}, resolve_after={"hours": 1}
    )
    clock.advance(hours=1)
    met, missed = SurveyInvitation.objects.order_by("pk")
    survey_services.survey_respond(invitation=met, score=5, now=clock.now)
    survey_services.survey_respond(invitation=missed, score=2, now=clock.now)
    by_sla = survey_stats(department=it, since=start, until=clock.now + timedelta(days=1)).by_sla
    assert [(f.label, f.csat_average) for f in by_sla] == [("SLA met", 5.0), ("SLA missed", 2.0)]

"""`seed_scale --history`: the clocks and surveys a bulk-loaded history leaves behind, as
the services would have left them (the dashboards benchmark reads them).

COPY is PostgreSQL's, so this runs on PostgreSQL only.
"""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import Count, F, Q

from slas.models import SlaClock
from surveys.models import FollowUp, SurveyInvitation, SurveyResponse
from tickets.models import Department, Ticket

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="seed_scale writes with COPY: run with DATABASE_URL=postgres://...",
    ),
    pytest.mark.django_db(transaction=True),
]

Status = Ticket.Status


@pytest.fixture
def history():
    call_command("seed_scale", tickets=3000, employees=300, history=True, verbosity=0)


def test_finished_tickets_have_finished_clocks_and_open_ones_running(history):
    finished = Ticket.objects.filter(status__in=[Status.RESOLVED, Status.CLOSED])
    assert finished.count() > 2000
    clocks = SlaClock.objects.filter(ticket__in=finished)
    # Every finished ticket of a department with an SLA: both clocks met, at its times.
    assert clocks.count() == 2 * finished.filter(sla_clocks__isnull=False).distinct().count()
    assert not clocks.exclude(state=SlaClock.State.MET).exists()
    resolution = clocks.filter(kind=SlaClock.Kind.RESOLUTION)
    assert not resolution.exclude(met_at=F("ticket__resolved_at")).exists()
    first = clocks.filter(kind=SlaClock.Kind.FIRST_RESPONSE)
    assert not first.exclude(met_at=F("ticket__first_response_at")).exists()
    # Breached exactly when over target, and never after the clock finished.
    assert not clocks.filter(consumed_seconds__gt=F("target_seconds"), breached_at=None).exists()
    assert not clocks.filter(
        consumed_seconds__lte=F("target_seconds"), breached_at__isnull=False
    ).exists()
    assert not clocks.filter(breached_at__gt=F("met_at")).exists()
    assert 0 < clocks.filter(breached_at__isnull=False).count() < clocks.count() / 2
    # Cancelled: stopped.
    cancelled = SlaClock.objects.filter(ticket__status=Status.CANCELLED)
    assert cancelled.exists() and not cancelled.exclude(state=SlaClock.State.STOPPED).exists()
    # Open tickets carry their soonest running deadline, as the services copy it.
    running = Ticket.objects.filter(
        status__in=[Status.NEW, Status.OPEN], sla_clocks__state="running"
    )
    assert running.exists()
    assert not running.filter(sla_due_at=None).exists()


def test_surveys_of_about_a_third_of_the_resolutions_answered_by_some(history):
    resolved = Ticket.objects.filter(resolved_at__isnull=False).count()
    invited = SurveyInvitation.objects.count()
    answered = SurveyResponse.objects.count()
    assert 0.2 * resolved < invited < 0.4 * resolved
    assert 0.3 * invited < answered < 0.5 * invited
    assert not SurveyInvitation.objects.filter(
        Q(ticket__resolved_at=None) | ~Q(created_at=F("ticket__resolved_at"))
    ).exists()
    assert not SurveyInvitation.objects.exclude(resolution=F("ticket__reopen_count") + 1).exists()
    assert not SurveyResponse.objects.exclude(created_at=F("invitation__answered_at")).exists()
    # An answered invitation carries its answer's figures, as survey_respond copies them.
    answers = SurveyInvitation.objects.filter(response__isnull=False)
    assert answers.filter(score=F("response__score")).count() == answered
    assert (
        answers.filter(commented=True).count()
        == answered - answers.filter(response__comment="").count()
    )
    assert (
        not answers.exclude(nps=F("response__nps")).exclude(nps=None, response__nps=None).exists()
    )
    assert not SurveyInvitation.objects.filter(response=None).exclude(score=None).exists()
    # Every low score has its follow-up, and nothing else does.
    assert FollowUp.objects.count() == SurveyResponse.objects.filter(score__lte=2).count() > 0


def test_a_second_run_adds_nothing_and_requesters_come_from_many_departments(history):
    clocks = SlaClock.objects.count()
    call_command("seed_scale", tickets=0, history=True, verbosity=0)
    assert SlaClock.objects.count() == clocks
    requesting = Ticket.objects.values("requesting_department").annotate(n=Count("id"))
    assert len(requesting) >= 12
    assert Department.objects.filter(request_types__isnull=True).count() == 6

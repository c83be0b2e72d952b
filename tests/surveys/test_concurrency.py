"""Two submits at the same moment (a double click, two tabs) on PostgreSQL, in two real
database connections: exactly one response; the other submit is told it was answered."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from surveys import services
from surveys.models import SurveyInvitation, SurveyResponse
from tests.factories import TicketFactory
from tests.surveys.conftest import resolve

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="row locks are PostgreSQL's (SQLite serialises writers; test_answering covers "
        "the sequential double submit): run with DATABASE_URL=postgres://...",
    ),
]


def test_two_simultaneous_submits_record_one_response(it_surveys, it_type, requester, it_agent):
    resolve(TicketFactory(request_type=it_type, created_by=requester), it_agent)
    invitation = SurveyInvitation.objects.get()
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def submit(score: int) -> None:
        try:
            start.wait(timeout=10)
            services.survey_respond(invitation=invitation, score=score, now=invitation.send_at)
            outcomes.append("recorded")
        except services.AlreadyAnswered:
            outcomes.append("already answered")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=submit, args=(score,)) for score in (1, 5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["already answered", "recorded"]
    assert SurveyResponse.objects.count() == 1

"""Reopening: the unanswered survey of the resolution is withdrawn (its emails are not
sent); the next resolution may be surveyed again; never two surveys for one resolution.
The requester may reopen from the survey's thank-you page while the ticket is resolved."""

from __future__ import annotations

from datetime import timedelta

import pytest

from outbox.models import Message
from surveys import services
from surveys.models import SurveyInvitation
from tests.surveys.conftest import deliver_due, reopen, resolve, survey_emails, survey_path
from tickets.models import Ticket, TicketEvent
from tickets.services import TransitionRefused, ticket_transition

Status = Ticket.Status


def test_reopening_before_the_email_withdraws_it(resolved, clock, requester):
    clock.advance(minutes=30)
    reopen(resolved, requester)
    invitation = SurveyInvitation.objects.get()
    assert invitation.withdrawn_at == clock.now
    assert invitation.state_at(clock.now) == SurveyInvitation.State.WITHDRAWN
    clock.advance(days=5)
    assert survey_emails(deliver_due()) == []
    assert not Message.objects.filter(
        topic=Message.Topic.SURVEY, delivered_at__isnull=True
    ).exists()


def test_a_withdrawn_link_shows_a_friendly_page(client, resolved, clock, requester):
    path = survey_path(SurveyInvitation.objects.get())
    reopen(resolved, requester)
    response = client.get(path)
    assert response.status_code == 410
    assert b"This survey no longer applies" in response.content
    assert client.post(path, {"score": "2"}).status_code == 410


def test_the_next_resolution_is_surveyed_again(resolved, clock, requester, it_agent):
    reopen(resolved, requester)
    clock.advance(days=1)
    ticket = resolve(resolved, it_agent)
    assert list(
        SurveyInvitation.objects.order_by("resolution").values_list("resolution", "withdrawn_at")
    ) == [(1, clock.now - timedelta(days=1)), (2, None)]
    clock.advance(hours=1)
    (email,) = survey_emails(deliver_due())
    assert ticket.reference in email.subject


def test_an_answered_survey_stays_answered_after_a_reopen(resolved, clock, requester, it_agent):
    invitation = SurveyInvitation.objects.get()
    services.survey_respond(invitation=invitation, score=2, now=clock.now)
    reopen(resolved, requester)
    invitation.refresh_from_db()
    assert invitation.withdrawn_at is None and invitation.answered_at is not None
    resolve(resolved, it_agent)
    assert SurveyInvitation.objects.count() == 2


def test_never_two_surveys_for_one_resolution(resolved, clock):
    assert services.survey_invite(ticket=resolved, now=clock.now) is None
    assert SurveyInvitation.objects.count() == 1


# --- Reopening from the thank-you page ------------------------------------------------


@pytest.fixture
def answered(client, resolved, clock):
    invitation = SurveyInvitation.objects.get()
    path = survey_path(invitation)
    client.post(path, {"score": "1", "comment": "It still does not print."})
    return path


def test_the_thank_you_page_offers_to_reopen(client, answered):
    page = client.get(answered).content.decode()
    assert "Not solved after all?" in page and "Reopen my request" in page


def test_reopening_from_the_thank_you_page(client, answered, resolved, requester, clock):
    response = client.post(answered + "reopen/", follow=True)
    assert response.status_code == 200
    assert f"{resolved.reference} is open again" in response.content.decode()
    resolved.refresh_from_db()
    assert resolved.status == Status.OPEN and resolved.reopen_count == 1
    event = TicketEvent.objects.filter(ticket=resolved, action="status").latest("id")
    assert (event.actor, event.new_value, event.message) == (
        requester,
        "open",
        "Reopened from the satisfaction survey.",
    )
    assert "Reopen my request" not in response.content.decode()  # not twice


def test_no_reopening_once_the_ticket_moved_on(client, answered, resolved, it_agent):
    ticket_transition(ticket=resolved, actor=it_agent, to_status=Status.CLOSED)
    response = client.post(answered + "reopen/", follow=True)
    assert "closed now" in response.content.decode()
    resolved.refresh_from_db()
    assert resolved.status == Status.CLOSED


def test_an_old_surveys_link_cannot_reopen_a_later_resolution(resolved, clock, requester, it_agent):
    first = SurveyInvitation.objects.get()
    services.survey_respond(invitation=first, score=5, now=clock.now)
    reopen(resolved, requester)
    resolve(resolved, it_agent)
    with pytest.raises(TransitionRefused):
        services.survey_reopen_ticket(invitation=first, now=clock.now)


def test_reopening_is_post_only(client, answered):
    assert client.get(answered + "reopen/").status_code == 405

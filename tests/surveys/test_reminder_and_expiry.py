"""One reminder if unanswered, never after an answer; the link expires. Both follow from
timestamps checked when they matter (delivery, answering), not from a task on time."""

from __future__ import annotations

from datetime import timedelta

import pytest

from outbox.models import Message
from surveys import services
from surveys.models import SurveyInvitation
from tests.factories import TicketFactory
from tests.surveys.conftest import deliver_due, link_in, resolve, survey_emails, survey_path


def test_one_reminder_after_the_reminder_days_if_unanswered(resolved, clock, requester):
    clock.advance(hours=1)
    (first,) = survey_emails(deliver_due())
    clock.move_to(SurveyInvitation.objects.get().reminder_at - timedelta(seconds=1))
    assert survey_emails(deliver_due()) == []
    clock.advance(seconds=1)
    (reminder,) = survey_emails(deliver_due())
    assert reminder.subject.startswith("Reminder: ")
    assert reminder.to == [requester.email]
    assert link_in(reminder) == link_in(first)  # the same link, made again at delivery
    assert SurveyInvitation.objects.get().reminded_at == clock.now
    clock.advance(days=30)
    assert survey_emails(deliver_due()) == []  # only one


def test_no_reminder_after_an_answer(resolved, clock):
    clock.advance(hours=2)
    deliver_due()
    services.survey_respond(invitation=SurveyInvitation.objects.get(), score=4, now=clock.now)
    clock.advance(days=3)
    assert survey_emails(deliver_due()) == []
    reminder = Message.objects.get(dedupe_key__endswith=":reminder")
    assert reminder.delivered_at is not None  # handled: nothing to send
    assert SurveyInvitation.objects.get().reminded_at is None


def test_no_reminder_when_it_would_come_after_the_expiry(
    it_surveys, clock, it_type, requester, it_agent
):
    it_surveys.reminder_days = it_surveys.expiry_days
    it_surveys.save()
    resolve(TicketFactory(request_type=it_type, created_by=requester), it_agent)
    assert SurveyInvitation.objects.get().reminder_at is None
    assert not Message.objects.filter(dedupe_key__endswith=":reminder").exists()


def test_the_survey_expires_after_the_expiry_days(resolved, clock, client):
    invitation = SurveyInvitation.objects.get()
    path = survey_path(invitation)
    clock.move_to(invitation.expires_at - timedelta(seconds=1))
    assert client.get(path).status_code == 200
    clock.advance(seconds=1)
    response = client.get(path)
    assert response.status_code == 410
    assert b"This survey has closed" in response.content
    response = client.post(path, {"score": "5"})
    assert response.status_code == 410
    with pytest.raises(services.SurveyClosed):
        services.survey_respond(invitation=invitation, score=5, now=clock.now)
    assert invitation.state_at(clock.now) == SurveyInvitation.State.EXPIRED


def test_an_email_held_up_past_the_expiry_is_not_sent(resolved, clock):
    """The relay was down for weeks: the invitation would link to a closed survey."""
    clock.advance(days=15, hours=1)
    assert survey_emails(deliver_due()) == []
    assert (
        Message.objects.filter(topic=Message.Topic.SURVEY, delivered_at__isnull=True).count() == 0
    )

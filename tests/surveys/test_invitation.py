"""A resolution invites the requester: one invitation per (ticket, resolution), its email
held in the outbox until the department's delay has passed, with a link to the survey."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction

from outbox.models import Message
from surveys.models import SurveyInvitation, SurveyTemplate
from surveys.selectors import survey_template_of
from tests.factories import TicketFactory, UserFactory, move_to
from tests.surveys.conftest import deliver_due, link_in, resolve, survey_emails
from tickets.models import Ticket

Status = Ticket.Status


def test_resolving_creates_one_invitation_for_the_first_resolution(resolved, clock, requester):
    invitation = SurveyInvitation.objects.get()
    assert invitation.ticket == resolved
    assert invitation.resolution == 1
    assert invitation.requester == requester
    assert invitation.department_id == resolved.department_id
    assert invitation.requesting_department_id == requester.home_department_id
    assert invitation.created_at == clock.now
    assert invitation.send_at == clock.now + timedelta(minutes=60)
    assert invitation.expires_at == invitation.send_at + timedelta(days=14)
    assert invitation.reminder_at == invitation.send_at + timedelta(days=3)
    assert invitation.state_at(clock.now) == SurveyInvitation.State.SCHEDULED


def test_the_email_waits_for_the_delay(resolved, clock, requester):
    message = Message.objects.get(topic=Message.Topic.SURVEY, dedupe_key__endswith=":invitation")
    assert message.available_at == clock.now + timedelta(minutes=60)
    assert message.payload == {
        "invitation": SurveyInvitation.objects.get().pk,
        "kind": "invitation",
    }

    clock.advance(minutes=59)
    assert survey_emails(deliver_due()) == []

    clock.advance(minutes=1)
    sent = survey_emails(deliver_due())
    assert [m.to for m in sent] == [[requester.email]]
    assert sent[0].subject == f"[{resolved.reference}] How did IT do?"
    assert SurveyInvitation.objects.get().sent_at == clock.now


def test_the_email_links_the_survey_and_each_score(resolved, clock):
    clock.advance(hours=1)
    (message,) = survey_emails(deliver_due())
    token = link_in(message)
    for score in range(1, 6):
        assert f"http://desk.test/survey/{token}/?score={score}" in message.body
    html = message.alternatives[0][0]
    assert f"http://desk.test/survey/{token}/?score=5" in html
    assert "Very satisfied" in message.body and "Very dissatisfied" in html


def test_an_immediate_survey_goes_out_after_commit(
    it_surveys, it_type, requester, it_agent, django_capture_on_commit_callbacks, mailoutbox
):
    it_surveys.delay_minutes = 0
    it_surveys.save()
    ticket = TicketFactory(request_type=it_type, created_by=requester)
    with django_capture_on_commit_callbacks(execute=True):
        resolve(ticket, it_agent)
    assert len(survey_emails(mailoutbox)) == 1


def test_no_survey_without_settings_or_when_disabled(
    it_surveys, it_type, hr_type, requester, it_agent, hr_agent
):
    hr_ticket = TicketFactory(request_type=hr_type, created_by=requester)
    resolve(hr_ticket, hr_agent)
    it_surveys.enabled = False
    it_surveys.save()
    resolve(TicketFactory(request_type=it_type, created_by=requester), it_agent)
    assert not SurveyInvitation.objects.exists()
    assert not Message.objects.filter(topic=Message.Topic.SURVEY).exists()


def test_only_resolving_invites(it_surveys, it_type, requester, it_agent):
    move_to(
        TicketFactory(request_type=it_type, created_by=requester), Status.WAITING, agent=it_agent
    )
    move_to(
        TicketFactory(request_type=it_type, created_by=requester), Status.CANCELLED, agent=it_agent
    )
    assert not SurveyInvitation.objects.exists()
    closed = TicketFactory(request_type=it_type, created_by=requester)
    move_to(closed, Status.CLOSED, agent=it_agent)  # resolved, then closed
    assert list(SurveyInvitation.objects.values_list("ticket", flat=True)) == [closed.pk]


def test_inactive_requesters_are_not_asked(it_surveys, it_type, it_agent, sales):
    gone = UserFactory(username="gone", home_department=sales)
    ticket = TicketFactory(request_type=it_type, created_by=gone)
    gone.is_active = False
    gone.save()
    resolve(ticket, it_agent)
    assert not SurveyInvitation.objects.exists()


def test_a_requester_without_email_is_asked_on_the_ticket_page_only(
    it_surveys, it_type, it_agent, sales
):
    quiet = UserFactory(username="quiet", email="", home_department=sales)
    resolve(TicketFactory(request_type=it_type, created_by=quiet), it_agent)
    assert SurveyInvitation.objects.filter(requester=quiet).exists()
    assert not Message.objects.filter(topic=Message.Topic.SURVEY).exists()


def test_one_invitation_per_resolution_is_a_database_constraint(resolved):
    invitation = SurveyInvitation.objects.get()
    duplicate = SurveyInvitation(
        ticket=resolved,
        resolution=invitation.resolution,
        department=invitation.department,
        requester=invitation.requester,
        token_seed="x",
        token_hash="0" * 64,
        created_at=invitation.created_at,
        send_at=invitation.send_at,
        expires_at=invitation.expires_at,
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        duplicate.save()


def test_the_settings_template_wins_then_the_departments_then_the_global_one(
    it, it_surveys, it_type, requester, it_agent
):
    global_template = SurveyTemplate.objects.create(name="Company")
    resolve(TicketFactory(request_type=it_type, created_by=requester), it_agent)
    department_template = SurveyTemplate.objects.create(name="IT's", department=it)
    resolve(TicketFactory(request_type=it_type, created_by=requester), it_agent)
    chosen = SurveyTemplate.objects.create(name="Chosen", department=None)
    it_surveys.template = chosen
    it_surveys.save()
    resolve(TicketFactory(request_type=it_type, created_by=requester), it_agent)
    used = [i.template for i in SurveyInvitation.objects.order_by("pk")]
    assert used == [global_template, department_template, chosen]


def test_without_any_template_the_built_in_questions_are_asked(resolved):
    template = survey_template_of(SurveyInvitation.objects.get())
    assert template.pk is None
    assert (
        template.label_for(1) == "Very dissatisfied" and template.label_for(5) == "Very satisfied"
    )

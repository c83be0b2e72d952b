"""A low score opens a follow-up for the department's leads: emailed with the ticket,
score and comment, listed on their page, closed with a note of what was done. Nobody
else sees or closes it; in an anonymous survey the leads get neither name nor request
unless the requester agreed to be contacted."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from surveys import services
from surveys.models import FollowUp, SurveyInvitation
from tests.factories import TicketFactory, lead_of
from tests.surveys.conftest import deliver_due, resolve, token_of

FOLLOW_UPS = reverse("survey_follow_ups")


def close_url(follow_up: FollowUp) -> str:
    return reverse("survey_follow_up_close", args=[follow_up.pk])


@pytest.fixture
def invitation(resolved, clock) -> SurveyInvitation:
    clock.advance(hours=1)
    deliver_due()
    return SurveyInvitation.objects.get()


def answer(invitation, score, comment="", **kwargs):
    return services.survey_respond(
        invitation=invitation, score=score, comment=comment, now=invitation.send_at, **kwargs
    )


def test_a_low_score_opens_a_follow_up_and_emails_the_leads(invitation, it_lead, it, clock):
    second_lead = lead_of(it, username="leo")
    answer(invitation, 2, "Took a week and nobody told me why.")
    follow_up = FollowUp.objects.get()
    assert follow_up.department == it and follow_up.is_open
    sent = deliver_due()
    assert sorted(m.to[0] for m in sent) == [it_lead.email, second_lead.email]
    message = sent[0]
    ticket = invitation.ticket
    assert message.subject == f"[{ticket.reference}] Low satisfaction score: 2/5"
    assert "Score: 2/5 (Dissatisfied)" in message.body
    assert "Took a week and nobody told me why." in message.body
    assert ticket.reference in message.body and "Rita" in message.body
    assert "http://desk.test/survey/follow-ups/" in message.body


def test_agents_get_no_follow_up_email(invitation, it_lead, it_agent):
    answer(invitation, 1)
    assert it_agent.email not in [m.to[0] for m in deliver_due()]


def test_scores_above_the_threshold_open_nothing(invitation, it_lead):
    answer(invitation, 3)
    assert not FollowUp.objects.exists()
    assert deliver_due() == []


def test_the_threshold_is_the_departments(invitation, it_surveys, it_lead):
    it_surveys.low_score_threshold = 3
    it_surveys.save()
    answer(invitation, 3)
    assert FollowUp.objects.count() == 1


def test_without_leads_the_departments_address_is_told(invitation, it):
    it.contact_email = "it-desk@example.com"
    it.save()
    answer(invitation, 1)
    assert [m.to for m in deliver_due()] == [["it-desk@example.com"]]


def test_the_lead_sees_the_open_follow_up(client, invitation, it_lead):
    answer(invitation, 1, "Still broken.")
    client.force_login(it_lead)
    response = client.get(FOLLOW_UPS)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Still broken." in page
    assert invitation.ticket.reference in page and "Rita" in page
    assert "1/5 · Very dissatisfied" in page


def test_the_lead_closes_it_with_a_note(client, invitation, it_lead, clock):
    answer(invitation, 1)
    follow_up = FollowUp.objects.get()
    client.force_login(it_lead)
    response = client.post(close_url(follow_up), {"notes": "Called Rita; replaced the dock."})
    assert response.status_code == 302 and response["Location"] == FOLLOW_UPS
    follow_up.refresh_from_db()
    assert (follow_up.notes, follow_up.closed_by, follow_up.closed_at) == (
        "Called Rita; replaced the dock.",
        it_lead,
        clock.now,
    )
    page = client.get(FOLLOW_UPS).content.decode()
    assert "Nothing to follow up" in page and "replaced the dock" in page  # recently closed


def test_closing_needs_a_note(client, invitation, it_lead):
    answer(invitation, 1)
    follow_up = FollowUp.objects.get()
    client.force_login(it_lead)
    response = client.post(close_url(follow_up), {"notes": "   "})
    assert response.status_code == 400
    assert b"Say what was done." in response.content
    assert FollowUp.objects.get().is_open


def test_closing_twice_is_refused(invitation, it_lead, clock):
    answer(invitation, 1)
    follow_up = FollowUp.objects.get()
    services.follow_up_close(follow_up=follow_up, actor=it_lead, notes="Done", now=clock.now)
    with pytest.raises(Exception, match="already closed"):
        services.follow_up_close(follow_up=follow_up, actor=it_lead, notes="Again", now=clock.now)


def test_agents_and_requesters_get_403(client, invitation, it_agent, requester):
    answer(invitation, 1)
    follow_up = FollowUp.objects.get()
    for user in (it_agent, requester):
        client.force_login(user)
        assert client.get(FOLLOW_UPS).status_code == 403
        assert client.post(close_url(follow_up), {"notes": "x"}).status_code == 403
    assert FollowUp.objects.get().is_open


def test_another_departments_lead_neither_sees_nor_closes_it(client, invitation, hr, it_lead):
    answer(invitation, 1, "Still broken.")
    hr_lead = lead_of(hr, username="hanna")
    client.force_login(hr_lead)
    assert b"Still broken." not in client.get(FOLLOW_UPS).content
    assert client.post(close_url(FollowUp.objects.get()), {"notes": "x"}).status_code == 403
    with pytest.raises(PermissionDenied):
        services.follow_up_close(
            follow_up=FollowUp.objects.get(), actor=hr_lead, notes="x", now=invitation.send_at
        )


def test_an_unknown_follow_up_is_404(client, it_lead):
    client.force_login(it_lead)
    assert (
        client.post(reverse("survey_follow_up_close", args=[999]), {"notes": "x"}).status_code
        == 404
    )


def test_signed_out_visitors_are_sent_to_sign_in(client, invitation):
    answer(invitation, 1)
    assert client.get(FOLLOW_UPS).status_code == 302
    assert client.post(close_url(FollowUp.objects.get()), {"notes": "x"}).status_code == 302


def test_closing_is_post_only(client, invitation, it_lead):
    answer(invitation, 1)
    client.force_login(it_lead)
    assert client.get(close_url(FollowUp.objects.get())).status_code == 405


# --- Anonymous surveys ----------------------------------------------------------------


@pytest.fixture
def anonymous_invitation(clock, it_surveys, it_type, requester, it_agent) -> SurveyInvitation:
    it_surveys.anonymous = True
    it_surveys.save()
    resolve(TicketFactory(request_type=it_type, created_by=requester), it_agent)
    clock.advance(hours=1)
    deliver_due()
    return SurveyInvitation.objects.get()


def test_an_anonymous_follow_up_names_neither_requester_nor_request(
    client, anonymous_invitation, it_lead
):
    answer(anonymous_invitation, 1, "Nobody called back.")
    ticket = anonymous_invitation.ticket
    (message,) = deliver_due()
    assert "Nobody called back." in message.body
    assert ticket.reference not in message.body + message.subject
    assert "Rita" not in message.body and ticket.title not in message.body
    client.force_login(it_lead)
    page = client.get(FOLLOW_UPS).content.decode()
    assert "Nobody called back." in page and "Anonymous" in page
    assert ticket.reference not in page and "Rita" not in page


def test_the_requester_may_agree_to_be_contacted(client, anonymous_invitation, it_lead):
    page = client.get(f"/survey/{token_of(anonymous_invitation)}/").content.decode()
    assert "without your name or request" in page and 'name="may_contact"' in page
    client.post(
        f"/survey/{token_of(anonymous_invitation)}/",
        {"score": "1", "comment": "Call me", "may_contact": "on"},
    )
    (message,) = deliver_due()
    assert anonymous_invitation.ticket.reference in message.body
    assert "agreed to be contacted" in message.body
    client.force_login(it_lead)
    assert anonymous_invitation.ticket.reference in client.get(FOLLOW_UPS).content.decode()


def test_may_contact_means_nothing_outside_anonymous_surveys(invitation):
    assert answer(invitation, 1, may_contact=True).may_contact is False


def test_anonymity_is_what_the_requester_was_promised(anonymous_invitation, it_surveys, it_lead):
    """Turning anonymity off later does not reveal answers given under it."""
    it_surveys.anonymous = False
    it_surveys.save()
    answer(anonymous_invitation, 1)
    (message,) = deliver_due()
    assert anonymous_invitation.ticket.reference not in message.body


def test_the_page_costs_the_same_queries_for_one_follow_up_or_many(
    client, clock, it_surveys, it_type, requester, it_agent, it_lead
):
    def add_low_score(closed: bool = False) -> None:
        resolve(TicketFactory(request_type=it_type, created_by=requester), it_agent)
        invitation = SurveyInvitation.objects.latest("pk")
        answer(invitation, 1, "Slow.")
        if closed:
            services.follow_up_close(
                follow_up=FollowUp.objects.latest("pk"), actor=it_lead, notes="Ok", now=clock.now
            )

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(FOLLOW_UPS).status_code == 200
        return len(queries)

    client.force_login(it_lead)
    add_low_score()
    add_low_score(closed=True)
    few = count()
    for closed in (False, False, True, True):
        add_low_score(closed=closed)
    assert count() == few <= 7

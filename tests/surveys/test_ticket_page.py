"""The requester also meets the survey on the ticket page and in "My requests"; nobody
else does, and agents' ticket pages pay no query for it."""

from __future__ import annotations

from django.urls import reverse

from surveys import services
from surveys.models import SurveyInvitation
from surveys.selectors import survey_card_for
from tests.surveys.conftest import reopen, survey_path
from tickets.services import ticket_add_watcher


def ticket_page(client, ticket):
    return client.get(reverse("ticket_detail", args=[ticket.reference])).content.decode()


def test_the_ticket_page_shows_the_survey_once_it_has_gone_out(client, resolved, clock, requester):
    client.force_login(requester)
    assert "How did we do?" not in ticket_page(client, resolved)  # during the delay
    clock.advance(hours=1)
    page = ticket_page(client, resolved)
    assert "How did we do?" in page
    path = survey_path(SurveyInvitation.objects.get())
    for score in range(1, 6):
        assert f'href="{path}?score={score}"' in page


def test_after_answering_the_ticket_page_shows_the_answer(client, resolved, clock, requester):
    clock.advance(hours=1)
    services.survey_respond(invitation=SurveyInvitation.objects.get(), score=4, now=clock.now)
    client.force_login(requester)
    page = ticket_page(client, resolved)
    assert "You rated this <strong>4/5</strong> (satisfied)" in page
    assert "?score=" not in page


def test_agents_and_watchers_do_not_see_it(client, resolved, clock, it_agent, colleague):
    clock.advance(hours=1)
    ticket_add_watcher(ticket=resolved, actor=it_agent, watcher=colleague)
    for user in (it_agent, colleague):
        client.force_login(user)
        assert "How did we do?" not in ticket_page(client, resolved)


def test_the_card_costs_agents_no_query(resolved, clock, it_agent, django_assert_num_queries):
    clock.advance(hours=1)
    with django_assert_num_queries(0):
        assert survey_card_for(user=it_agent, ticket=resolved, now=clock.now) is None


def test_the_card_is_one_query_for_the_requester(
    resolved, clock, requester, django_assert_num_queries
):
    clock.advance(hours=1)
    with django_assert_num_queries(1):
        assert survey_card_for(user=requester, ticket=resolved, now=clock.now) is not None


def test_expired_and_withdrawn_surveys_leave_the_ticket_page(client, resolved, clock, requester):
    client.force_login(requester)
    clock.advance(days=15, hours=1)
    assert "How did we do?" not in ticket_page(client, resolved)
    reopen(resolved, requester)
    assert "How did we do?" not in ticket_page(client, resolved)


def test_my_requests_lists_pending_surveys(client, resolved, clock, requester, colleague):
    my_requests = reverse("my_requests")
    client.force_login(requester)
    assert "Tell us how it went" not in client.get(my_requests).content.decode()
    clock.advance(hours=1)
    page = client.get(my_requests).content.decode()
    assert "Tell us how it went" in page
    assert f'href="{survey_path(SurveyInvitation.objects.get())}"' in page
    client.force_login(colleague)
    assert "Tell us how it went" not in client.get(my_requests).content.decode()
    client.force_login(requester)
    services.survey_respond(invitation=SurveyInvitation.objects.get(), score=5, now=clock.now)
    assert "Tell us how it went" not in client.get(my_requests).content.decode()

"""Agents and articles on tickets: drafting an article from a resolved ticket's answer,
linking articles in replies (the picker, and the links recorded on the ticket)."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from knowledge import services
from knowledge.models import Article, TicketArticle
from tests.factories import move_to
from tickets import services as ticket_services


def test_draft_from_a_resolved_ticket_takes_its_title_and_last_public_answer(
    client, ticket, it_agent
):
    ticket_services.comment_add(ticket=ticket, author=it_agent, body="Try turning it off.")
    ticket_services.comment_add(
        ticket=ticket, author=it_agent, body="Secret note", is_internal=True
    )
    ticket_services.comment_add(ticket=ticket, author=it_agent, body="Replace the **fuser**.")
    ticket_services.comment_add(ticket=ticket, author=ticket.requester, body="Thanks, it works")
    move_to(ticket, "resolved", agent=it_agent)
    client.force_login(it_agent)
    response = client.post(reverse("kb_draft_from_ticket", args=[ticket.reference]))
    article = Article.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("kb_article_edit", args=[article.slug])
    assert (article.title, article.body, article.status) == (
        ticket.title, "Replace the **fuser**.", "draft",
    )  # fmt: skip
    assert (article.owner, article.source_ticket, article.department) == (
        it_agent, ticket, ticket.department,
    )  # fmt: skip
    assert "Drafted from" in client.get(response.url).content.decode()


def test_ticket_page_offers_drafting_when_resolved_to_agents_only(client, ticket, it_agent):
    client.force_login(it_agent)
    url = reverse("ticket_detail", args=[ticket.reference])
    assert "Draft an article" not in client.get(url).content.decode()
    move_to(ticket, "resolved", agent=it_agent)
    assert "Draft an article" in client.get(url).content.decode()
    client.force_login(ticket.requester)
    assert "Draft an article" not in client.get(url).content.decode()


def test_open_ticket_or_no_answer_drafts_nothing(client, ticket, it_agent):
    with pytest.raises(ValidationError, match="resolved or closed"):
        services.article_draft_from_ticket(ticket=ticket, actor=it_agent)
    move_to(ticket, "resolved", agent=it_agent)
    client.force_login(it_agent)
    response = client.post(reverse("kb_draft_from_ticket", args=[ticket.reference]), follow=True)
    assert "has no public reply" in response.content.decode()
    assert not Article.objects.exists()


def test_requester_and_other_departments_cannot_draft(client, ticket, it_agent, hr_agent):
    ticket_services.comment_add(ticket=ticket, author=it_agent, body="Done.")
    move_to(ticket, "resolved", agent=it_agent)
    with pytest.raises(PermissionDenied):
        services.article_draft_from_ticket(ticket=ticket, actor=ticket.requester)
    client.force_login(ticket.requester)
    assert client.post(reverse("kb_draft_from_ticket", args=[ticket.reference])).status_code == 403
    client.force_login(hr_agent)  # cannot see the ticket at all
    assert client.post(reverse("kb_draft_from_ticket", args=[ticket.reference])).status_code == 404
    assert not Article.objects.exists()


def test_public_reply_linking_articles_records_them_on_the_ticket(
    ticket, it_agent, published, internal
):
    body = (
        f"See [this](http://desk.test/kb/articles/{published.slug}/) and "
        f"/kb/articles/{internal.slug}/ and /kb/articles/no-such-thing/"
    )
    ticket_services.comment_add(ticket=ticket, author=it_agent, body=body)
    links = list(TicketArticle.objects.values_list("article__title", "kind"))
    assert links == [(published.title, "reply")]  # internal articles are never linked


def test_internal_note_links_nothing(ticket, it_agent, published):
    body = f"/kb/articles/{published.slug}/"
    ticket_services.comment_add(ticket=ticket, author=it_agent, body=body, is_internal=True)
    assert not TicketArticle.objects.exists()


def test_picker_offers_published_public_articles_to_agents(
    client, ticket, it_agent, published, internal
):
    client.force_login(it_agent)
    url = reverse("kb_pick", args=[ticket.reference])
    response = client.get(url, {"q": "vpn"})
    assert response.status_code == 200
    html = response.content.decode()
    assert f"/kb/articles/{published.slug}/" in html and "data-insert-link" in html
    assert internal.title not in client.get(url, {"q": "imaging"}).content.decode()


def test_picker_is_for_the_departments_agents(client, ticket, hr_agent):
    client.force_login(ticket.requester)
    assert client.get(reverse("kb_pick", args=[ticket.reference]), {"q": "x"}).status_code == 403
    client.force_login(hr_agent)
    assert client.get(reverse("kb_pick", args=[ticket.reference]), {"q": "x"}).status_code == 404

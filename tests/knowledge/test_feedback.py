"""'Did this answer your question?': one answer per person, a comment goes to the owner."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from knowledge import services
from knowledge.models import ArticleFeedback
from outbox.models import Message


def test_yes_is_recorded_without_email(client, requester, published):
    client.force_login(requester)
    response = client.post(
        reverse("kb_article_feedback", args=[published.slug]), {"helpful": "yes"}
    )
    assert response.status_code == 302
    feedback = ArticleFeedback.objects.get()
    assert (feedback.helpful, feedback.user, feedback.department_id) == (
        True, requester, published.department_id,
    )  # fmt: skip
    assert not Message.objects.filter(dedupe_key__startswith="kb-feedback").exists()


def test_a_second_answer_replaces_the_first(requester, published):
    services.article_feedback_give(article=published, user=requester, helpful=True)
    services.article_feedback_give(article=published, user=requester, helpful=False)
    assert list(ArticleFeedback.objects.values_list("helpful", flat=True)) == [False]


def test_comment_is_emailed_to_the_owner(
    client, requester, published, mailoutbox, django_capture_on_commit_callbacks
):
    client.force_login(requester)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("kb_article_feedback", args=[published.slug]),
            {"helpful": "no", "comment": "Step 2 is missing the badge PIN."},
        )
    message = Message.objects.get(dedupe_key__startswith="kb-feedback")
    assert message.payload["to"] == published.owner.email
    assert "did not help" in message.payload["subject"]
    assert "Step 2 is missing the badge PIN." in message.payload["text"]
    assert [m.to for m in mailoutbox] == [[published.owner.email]]  # delivered after commit


def test_invalid_answer_changes_nothing(client, requester, published):
    client.force_login(requester)
    response = client.post(
        reverse("kb_article_feedback", args=[published.slug]), {"helpful": "maybe"}
    )
    assert response.status_code == 400
    response = client.post(
        reverse("kb_article_feedback", args=[published.slug]),
        {"helpful": "yes", "comment": "x" * 2001},
    )
    assert response.status_code == 400
    assert not ArticleFeedback.objects.exists()


def test_feedback_on_hidden_articles_is_not_found(client, requester, draft, internal):
    client.force_login(requester)
    for article in (draft, internal):
        url = reverse("kb_article_feedback", args=[article.slug])
        assert client.post(url, {"helpful": "yes"}).status_code == 404
    assert not ArticleFeedback.objects.exists()


def test_drafts_take_no_feedback(it_agent, draft):
    with pytest.raises(ValidationError):
        services.article_feedback_give(article=draft, user=it_agent, helpful=True)


def test_feedback_needs_post(client, requester, published):
    client.force_login(requester)
    assert client.get(reverse("kb_article_feedback", args=[published.slug])).status_code == 405

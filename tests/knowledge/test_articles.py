"""Writing articles: who may, what is checked, the audit trail, slugs, Markdown."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from knowledge import services
from knowledge.models import Article, ArticleEvent, Category
from tests.factories import lead_of

NOW = datetime(2026, 5, 4, 9, tzinfo=UTC)


def test_agent_writes_a_draft_owned_by_them(it, it_agent):
    article = services.article_create(
        actor=it_agent, department=it, title="  Printer jams ", body="Open tray 2.", now=NOW
    )
    assert article.status == Article.Status.DRAFT
    assert (article.owner, article.title, article.slug) == (
        it_agent,
        "Printer jams",
        "printer-jams",
    )
    assert article.published_at is None and article.last_reviewed_at == NOW
    assert list(article.events.values_list("action", flat=True)) == ["created"]


def test_publishing_at_creation_stamps_published_at(it, it_agent):
    article = services.article_create(
        actor=it_agent, department=it, title="Wi-Fi", body="x", status="published", now=NOW
    )
    assert article.published_at == NOW
    assert list(article.events.values_list("action", flat=True)) == ["created", "published"]


def test_someone_outside_the_department_cannot_write(it, hr_agent, requester):
    for outsider in (hr_agent, requester):
        with pytest.raises(PermissionDenied):
            services.article_create(actor=outsider, department=it, title="T", body="B")
    assert not Article.objects.exists()


def test_bad_input_is_refused_per_field_and_writes_nothing(it, hr, it_agent, hr_agent):
    hr_category = Category.objects.create(department=hr, name="Pay")
    with pytest.raises(ValidationError) as refused:
        services.article_create(
            actor=it_agent, department=it, title=" ", body="", category=hr_category,
            status="archived", owner=hr_agent,
        )  # fmt: skip
    assert set(refused.value.message_dict) == {"title", "body", "category", "status", "owner"}
    assert not Article.objects.exists() and not ArticleEvent.objects.exists()


def test_slugs_stay_unique_and_stable(it, it_agent, write):
    first = write("Reset your password")
    second = write("Reset your password")
    assert (first.slug, second.slug) == ("reset-your-password", "reset-your-password-2")
    services.article_update(
        article=first, actor=it_agent, title="Reset a forgotten password", body="b",
        category=None, is_internal=False, status="published", owner=it_agent,
    )  # fmt: skip
    first.refresh_from_db()
    assert first.slug == "reset-your-password"  # links already sent keep working


def test_body_is_rendered_sanitised(write):
    article = write(
        "Safe",
        "**Bold** <script>alert(1)</script> [x](javascript:alert(1)) "
        '<img src=x onerror="alert(1)"> <a href="https://ok.example" onclick="evil()">ok</a>',
    )
    html = article.body_html
    assert "<strong>Bold</strong>" in html
    for unsafe in ("<script", "javascript:", "onerror", "onclick", "<img"):
        assert unsafe not in html
    assert 'href="https://ok.example"' in html


def test_update_to_draft_and_back_is_in_the_trail(it_agent, published):
    fields = {
        "actor": it_agent, "title": published.title, "body": published.body, "category": None,
        "is_internal": False, "owner": it_agent,
    }  # fmt: skip
    services.article_update(article=published, status="draft", **fields)
    services.article_update(article=published, status="draft", **fields)
    services.article_update(article=published, status="published", **fields)
    actions = list(published.events.values_list("action", flat=True))
    assert actions == ["created", "published", "unpublished", "edited", "published"]


def test_owner_must_be_of_the_department(it_agent, hr_agent, published):
    with pytest.raises(ValidationError) as refused:
        services.article_update(
            article=published, actor=it_agent, title="t", body="b", category=None,
            is_internal=False, status="published", owner=hr_agent,
        )  # fmt: skip
    assert "owner" in refused.value.message_dict
    published.refresh_from_db()
    assert published.owner == it_agent


def test_owner_or_lead_marks_reviewed_others_cannot(it, it_agent, it_agent2, published):
    later = datetime(2027, 1, 1, tzinfo=UTC)
    with pytest.raises(PermissionDenied):
        services.article_mark_reviewed(article=published, actor=it_agent2, now=later)
    services.article_mark_reviewed(article=published, actor=it_agent, now=later)
    published.refresh_from_db()
    assert published.last_reviewed_at == later
    services.article_mark_reviewed(article=published, actor=lead_of(it, username="lee"), now=later)
    assert published.events.filter(action="reviewed").count() == 2

"""Owners are reminded to review articles older than their department's review age, once
per article per review period; 'Mark reviewed' starts the period again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from knowledge import services
from knowledge.models import KnowledgeSettings
from knowledge.tasks import article_review_remind_task
from outbox.models import Message
from tests.factories import lead_of

WRITTEN = datetime(2026, 1, 5, 9, tzinfo=UTC)


@pytest.fixture
def old(write):
    return write("Connect to the VPN", now=WRITTEN)


def reminders():
    return list(
        Message.objects.filter(dedupe_key__startswith="kb-review:").values_list(
            "payload__to", flat=True
        )
    )


def test_no_reminder_before_the_review_age(old):
    assert services.article_review_remind(now=WRITTEN + timedelta(days=179)) == 0
    assert reminders() == []


def test_owner_is_reminded_once_per_period(old, mailoutbox, django_capture_on_commit_callbacks):
    at = WRITTEN + timedelta(days=181)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.article_review_remind(now=at) == 1
    assert services.article_review_remind(now=at + timedelta(days=1)) == 0  # same period
    assert reminders() == [old.owner.email]
    assert "Time to review" in mailoutbox[0].subject and "/kb/articles/connect-to-the-vpn/" in (
        mailoutbox[0].body
    )
    assert services.article_review_remind(now=WRITTEN + timedelta(days=361)) == 1  # next one


def test_department_sets_its_own_review_age(it, old):
    KnowledgeSettings.objects.create(department=it, review_after_days=30)
    assert services.article_review_remind(now=WRITTEN + timedelta(days=31)) == 1


def test_drafts_are_not_reminded(write):
    write("Half written", status="draft", now=WRITTEN)
    assert services.article_review_remind(now=WRITTEN + timedelta(days=400)) == 0


def test_owner_without_email_is_skipped(old):
    old.owner.email = ""
    old.owner.save()
    assert services.article_review_remind(now=WRITTEN + timedelta(days=200)) == 0


def test_mark_reviewed_restarts_the_period(client, old):
    client.force_login(old.owner)
    response = client.post(reverse("kb_article_reviewed", args=[old.slug]))
    assert response.status_code == 302
    assert services.article_review_remind(now=WRITTEN + timedelta(days=200)) == 0


def test_others_cannot_mark_reviewed(client, it, it_agent2, requester, old):
    for someone in (it_agent2, requester):
        client.force_login(someone)
        assert client.post(reverse("kb_article_reviewed", args=[old.slug])).status_code == 403
    client.force_login(lead_of(it, username="lee"))
    assert client.post(reverse("kb_article_reviewed", args=[old.slug])).status_code == 302


def test_article_page_shows_the_review_prompt_to_the_owner(client, old):
    client.force_login(old.owner)
    html = client.get(reverse("kb_article", args=[old.slug])).content.decode()
    assert "due for review" in html


def test_daily_task_sends_what_is_due(old, time_machine):
    time_machine.move_to(WRITTEN + timedelta(days=190))
    article_review_remind_task.delay()
    assert reminders() == [old.owner.email]

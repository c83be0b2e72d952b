"""Waking the workers after commit: one publish per transaction for everything it
enqueued, none for a transaction that rolled back."""

from __future__ import annotations

import pytest
from django.db import transaction

from outbox import services
from outbox.models import Message
from outbox.services import outbox_enqueue, outbox_enqueue_many


def email(key: str) -> dict:
    payload = {"to": "rita@example.com", "subject": "Hello", "text": "Body"}
    return {"topic": Message.Topic.EMAIL, "dedupe_key": key, "payload": payload}


@pytest.fixture
def published(monkeypatch) -> list[tuple[tuple[int, ...], int]]:
    calls: list[tuple[tuple[int, ...], int]] = []
    monkeypatch.setattr(
        services, "_schedule_delivery_unsafe", lambda *ids, chunk: calls.append((ids, chunk))
    )
    return calls


def test_one_publish_for_all_a_transaction_enqueued(
    db, published, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        first = outbox_enqueue(**email("a"))
        second = outbox_enqueue(**email("b"))
        many = outbox_enqueue_many(messages=[email("c"), email("d")], delivery_chunk=10)
        assert published == []  # nothing before the commit
    assert published == [((first.pk, second.pk, *many), 10)]


def test_a_rolled_back_transaction_publishes_nothing_and_the_next_one_does(
    db, published, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError), transaction.atomic():
            outbox_enqueue(**email("lost"))
            raise RuntimeError("the change failed")
        with transaction.atomic():
            kept = outbox_enqueue(**email("kept"))
    assert published == [((kept.pk,), services.DELIVERY_CHUNK)]


def test_a_rolled_back_savepoint_does_not_lose_the_outer_wake_up(
    db, published, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        with pytest.raises(RuntimeError), transaction.atomic():
            outbox_enqueue(**email("inner"))
            raise RuntimeError("the inner step failed")
        outer = outbox_enqueue(**email("outer"))
    assert published == [((outer.pk,), services.DELIVERY_CHUNK)]

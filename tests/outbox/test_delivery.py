"""Delivering outbox rows: at most once per row however often the task runs, with
backoff on failure and a final give-up after MAX_ATTEMPTS."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail

from outbox import services
from outbox.models import Message
from outbox.services import MAX_ATTEMPTS, outbox_deliver, outbox_enqueue
from outbox.tasks import outbox_deliver_task

NOW = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


def email(key: str = "k1", to: str = "rita@example.com", **fields) -> Message:
    payload = {"to": to, "subject": "Hello", "text": "Body", "headers": {"X-Test": key}}
    return outbox_enqueue(topic=Message.Topic.EMAIL, dedupe_key=key, payload=payload, **fields)


@pytest.fixture
def due(db) -> Message:
    return email(available_at=NOW - timedelta(seconds=1))


@pytest.fixture
def broken_handler(monkeypatch):
    def fail(payload):
        raise ConnectionRefusedError("SMTP server is down")

    monkeypatch.setitem(services.HANDLERS, Message.Topic.EMAIL, fail)


def reload(message: Message) -> Message:
    return Message.objects.get(pk=message.pk)


def test_delivery_sends_the_email_and_marks_the_row(due):
    assert outbox_deliver(message_id=due.pk, now=NOW) is True
    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert (sent.to, sent.subject, sent.body) == (["rita@example.com"], "Hello", "Body")
    assert sent.extra_headers == {"X-Test": "k1"}
    row = reload(due)
    assert (row.delivered_at, row.attempts, row.claimed_until, row.state) == (
        NOW,
        1,
        None,
        "delivered",
    )


def test_delivering_twice_sends_once(due):
    assert outbox_deliver(message_id=due.pk, now=NOW) is True
    assert outbox_deliver(message_id=due.pk, now=NOW + timedelta(minutes=5)) is False
    assert len(mail.outbox) == 1
    assert reload(due).attempts == 1


def test_running_the_task_twice_sends_once(db):
    message = email()  # available now
    outbox_deliver_task(message.pk)
    outbox_deliver_task(message.pk)
    outbox_deliver_task.apply(args=[message.pk])
    assert len(mail.outbox) == 1


def test_task_for_a_missing_row_does_nothing(db):
    outbox_deliver_task(987654)
    assert mail.outbox == []


def test_a_claimed_row_is_not_sent_by_a_second_worker(due):
    # Another worker claimed the row and is sending it right now.
    Message.objects.filter(pk=due.pk).update(claimed_until=NOW + timedelta(minutes=2), attempts=1)
    assert outbox_deliver(message_id=due.pk, now=NOW) is False
    assert mail.outbox == []


def test_an_expired_claim_is_taken_over(due):
    # The worker that claimed it died; its claim ran out.
    Message.objects.filter(pk=due.pk).update(claimed_until=NOW - timedelta(seconds=1), attempts=1)
    assert outbox_deliver(message_id=due.pk, now=NOW) is True
    assert reload(due).attempts == 2


def test_a_row_not_yet_due_is_not_sent(db):
    later = email(available_at=NOW + timedelta(minutes=1))
    assert outbox_deliver(message_id=later.pk, now=NOW) is False
    assert mail.outbox == []


def test_failure_records_the_error_and_backs_off(due, broken_handler):
    assert outbox_deliver(message_id=due.pk, now=NOW) is False
    row = reload(due)
    assert row.last_error == "ConnectionRefusedError: SMTP server is down"
    assert row.attempts == 1
    assert row.claimed_until is None
    assert row.failed_at is None
    # 30 s base delay with ±50 % jitter.
    assert NOW + timedelta(seconds=15) <= row.available_at <= NOW + timedelta(seconds=45)
    # Not retried before its time.
    assert outbox_deliver(message_id=due.pk, now=NOW + timedelta(seconds=10)) is False
    assert reload(due).attempts == 1


def test_backoff_grows_with_each_attempt(due, broken_handler):
    delays = []
    now = NOW
    for _ in range(4):
        assert outbox_deliver(message_id=due.pk, now=now) is False
        row = reload(due)
        delays.append((row.available_at - now).total_seconds())
        now = row.available_at
    # Base 30 s doubling, jitter 0.5-1.5x: each range is disjoint from the one two steps on.
    assert 15 <= delays[0] <= 45
    assert 120 <= delays[3] <= 360
    assert delays[3] > delays[0]


def test_gives_up_after_max_attempts(due, broken_handler):
    now = NOW
    for attempt in range(1, MAX_ATTEMPTS + 1):
        last_try = now
        assert outbox_deliver(message_id=due.pk, now=now) is False
        row = reload(due)
        assert row.attempts == attempt
        assert (row.failed_at is not None) == (attempt == MAX_ATTEMPTS)
        now = row.available_at
    row = reload(due)
    assert row.failed_at == last_try
    assert row.state == "failed"
    assert row.last_error == "ConnectionRefusedError: SMTP server is down"
    # A failed row is never picked up again.
    assert outbox_deliver(message_id=due.pk, now=now + timedelta(days=1)) is False
    assert services.outbox_pending_ids(now=now + timedelta(days=1)) == []


def test_recovered_handler_clears_the_error(due, monkeypatch):
    calls = []

    def flaky(payload):
        calls.append(payload)
        if len(calls) == 1:
            raise TimeoutError("slow")

    monkeypatch.setitem(services.HANDLERS, Message.Topic.EMAIL, flaky)
    outbox_deliver(message_id=due.pk, now=NOW)
    row = reload(due)
    assert outbox_deliver(message_id=due.pk, now=row.available_at) is True
    row = reload(due)
    assert (row.last_error, row.attempts, row.state) == ("", 2, "delivered")


def test_retry_gives_a_failed_row_new_attempts(due, broken_handler, monkeypatch):
    Message.objects.filter(pk=due.pk).update(
        attempts=MAX_ATTEMPTS, failed_at=NOW, last_error="boom"
    )
    assert services.outbox_retry(message_ids=[due.pk], now=NOW) == 1
    monkeypatch.setitem(services.HANDLERS, Message.Topic.EMAIL, services.send_email)
    assert outbox_deliver(message_id=due.pk, now=NOW) is True
    assert len(mail.outbox) == 1


def test_retry_leaves_delivered_rows_alone(due):
    outbox_deliver(message_id=due.pk, now=NOW)
    assert services.outbox_retry(message_ids=[due.pk], now=NOW) == 0
    assert reload(due).state == "delivered"


def test_enqueue_with_available_at_schedules_nothing_after_commit(
    db, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        email("later", available_at=NOW + timedelta(hours=1))
        email("now")
    assert len(callbacks) == 1
    assert [m.to for m in mail.outbox] == [["rita@example.com"]]
    assert Message.objects.get(dedupe_key="later").state == "pending"


def test_dedupe_key_is_unique(db):
    from django.db import IntegrityError, transaction

    email("same")
    with pytest.raises(IntegrityError), transaction.atomic():
        email("same")

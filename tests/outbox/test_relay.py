"""The relay delivers what the after-commit task did not: a broker down at commit, a
lost message, a worker killed mid-delivery. Nothing is lost."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError

from outbox.models import Message
from outbox.services import CLAIM_SECONDS, outbox_relay
from outbox.tasks import outbox_deliver_task, outbox_relay_task
from tests.factories import TicketFactory
from tickets import services


@pytest.fixture
def broker_down(monkeypatch):
    """Publishing a task fails as it does when Redis is unreachable."""
    attempts = []

    def unreachable(*args, **kwargs):
        attempts.append(args)
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(outbox_deliver_task, "delay", unreachable)
    return attempts


@pytest.fixture
def filed_on_behalf(it_type, requester, colleague):
    """A ticket whose filing queues one email (to the requester); on_commit not run."""
    return TicketFactory(request_type=it_type, created_by=colleague, requester=requester)


def test_relay_delivers_rows_whose_task_was_lost(filed_on_behalf):
    # The on_commit hook never ran (the process died right after commit, say).
    assert Message.objects.filter(delivered_at__isnull=True).count() == 1
    assert outbox_relay(now=timezone.now()) == 1
    assert [m.to for m in mail.outbox] == [["rita@example.com"]]
    assert not Message.objects.filter(delivered_at__isnull=True).exists()


def test_relay_twice_sends_once(filed_on_behalf):
    now = timezone.now()
    outbox_relay(now=now)
    assert outbox_relay(now=now + timedelta(minutes=1)) == 0
    assert len(mail.outbox) == 1


def test_relay_task_delivers_pending_rows(filed_on_behalf):
    outbox_relay_task()
    assert len(mail.outbox) == 1


def test_relay_skips_rows_claimed_by_a_live_worker(filed_on_behalf):
    now = timezone.now()
    Message.objects.update(claimed_until=now + timedelta(seconds=CLAIM_SECONDS), attempts=1)
    assert outbox_relay(now=now) == 0
    # The worker died: once its claim expires the relay takes over.
    assert outbox_relay(now=now + timedelta(seconds=CLAIM_SECONDS + 1)) == 1
    assert len(mail.outbox) == 1


def test_relay_respects_its_batch_limit(it_type, requester, colleague):
    for _ in range(3):
        TicketFactory(request_type=it_type, created_by=colleague, requester=requester)
    now = timezone.now()
    assert outbox_relay(now=now, limit=2) == 2
    assert outbox_relay(now=now, limit=2) == 1
    assert len(mail.outbox) == 3


def test_broker_down_at_commit_loses_nothing(
    it_type, requester, colleague, broker_down, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        ticket = TicketFactory(request_type=it_type, created_by=colleague, requester=requester)
    # Filing succeeded and the hook tried to publish, but nothing was sent.
    assert ticket.pk is not None
    assert len(broker_down) == 1
    assert mail.outbox == []
    pending = Message.objects.get()
    assert pending.state == "pending"
    assert pending.attempts == 0
    # The broker comes back; the periodic relay finds the row.
    assert outbox_relay(now=timezone.now()) == 1
    assert [m.to for m in mail.outbox] == [["rita@example.com"]]


def test_broker_down_during_a_reply_keeps_the_reply(
    ticket, it_agent, broker_down, django_capture_on_commit_callbacks
):
    before = set(Message.objects.values_list("pk", flat=True))  # the filing receipt
    with django_capture_on_commit_callbacks(execute=True):
        comment = services.comment_add(ticket=ticket, author=it_agent, body="Fixed.")
    assert comment.pk is not None
    reply_rows = Message.objects.exclude(pk__in=before)
    assert reply_rows.filter(delivered_at__isnull=True).count() == 1
    outbox_relay(now=timezone.now())
    assert [m.to for m in mail.outbox if "Fixed." in m.body] == [["rita@example.com"]]


def test_rolled_back_change_queues_nothing(ticket, it_agent, django_capture_on_commit_callbacks):
    class Boom(Exception):
        pass

    before = set(Message.objects.values_list("pk", flat=True))  # the filing receipt

    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(Boom),
        transaction.atomic(),
    ):
        services.comment_add(ticket=ticket, author=it_agent, body="Fixed.")
        raise Boom
    assert callbacks == []
    assert not Message.objects.exclude(pk__in=before).exists()
    assert mail.outbox == []


def test_a_full_relay_asks_for_help_before_delivering(db):
    from datetime import UTC, datetime

    from outbox.models import Message
    from outbox.services import outbox_relay

    now = datetime(2026, 3, 2, 9, tzinfo=UTC)
    Message.objects.bulk_create(
        Message(topic="email", dedupe_key=f"k{n}", payload={}, available_at=now) for n in range(3)
    )
    calls: list[int] = []
    outbox_relay(
        now=now,
        limit=2,
        on_backlog=lambda: calls.append(Message.objects.filter(delivered_at__isnull=False).count()),
    )
    assert calls == [0]  # asked once, before it delivered anything
    calls.clear()
    outbox_relay(now=now, limit=5, on_backlog=lambda: calls.append(1))
    assert calls == []

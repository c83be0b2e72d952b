"""Loading history (seed_demo): notifications of past events are recorded, never sent."""

from __future__ import annotations

from datetime import UTC, datetime

from django.core import mail
from django.utils import timezone

from outbox.models import Message
from outbox.services import outbox_recorded_as_delivered, outbox_relay
from tests.factories import TicketFactory


def test_messages_enqueued_while_loading_history_are_recorded_as_delivered_and_not_sent(
    it_type, requester, django_capture_on_commit_callbacks
):
    loaded_at = datetime(2026, 1, 5, 9, tzinfo=UTC)
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        outbox_recorded_as_delivered(now=loaded_at),
    ):
        TicketFactory(request_type=it_type, created_by=requester)

    rows = list(Message.objects.all())
    assert rows, "the receipt is still written to the outbox"
    assert all(row.delivered_at == loaded_at for row in rows)
    assert callbacks == []  # no worker is asked to deliver
    assert outbox_relay(now=timezone.now()) == 0
    assert mail.outbox == []


def test_outside_the_block_messages_are_delivered_as_usual(
    it_type, requester, django_capture_on_commit_callbacks
):
    with outbox_recorded_as_delivered(now=timezone.now()):
        pass
    with django_capture_on_commit_callbacks(execute=True):
        TicketFactory(request_type=it_type, created_by=requester)
    assert len(mail.outbox) == 1
    assert Message.objects.get().delivered_at is not None

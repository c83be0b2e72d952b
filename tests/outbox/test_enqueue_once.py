"""Enqueue once by key: the second call writes nothing and leaves its transaction usable."""

from __future__ import annotations

import pytest
from django.db import transaction

from outbox.models import Message
from outbox.services import outbox_enqueue_once

pytestmark = pytest.mark.django_db


def test_the_second_enqueue_with_a_key_writes_nothing_and_the_transaction_goes_on():
    payload = {"to": "a@example.com", "subject": "s", "text": "t"}
    with transaction.atomic():
        assert outbox_enqueue_once(topic=Message.Topic.EMAIL, dedupe_key="k", payload=payload)
        assert not outbox_enqueue_once(topic=Message.Topic.EMAIL, dedupe_key="k", payload=payload)
        # The refused insert was a savepoint: the outer transaction still writes.
        assert outbox_enqueue_once(topic=Message.Topic.EMAIL, dedupe_key="k2", payload=payload)
    assert sorted(Message.objects.values_list("dedupe_key", flat=True)) == ["k", "k2"]

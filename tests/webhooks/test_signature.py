"""Signatures, checked by the receiver that docs/webhooks.md shows: the test reads the
example from the page and runs it as a real HTTP server that deliveries are sent to."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from tests.factories import TicketFactory
from tests.webhooks.conftest import deliver, deliveries, serve
from webhooks.models import Event
from webhooks.signing import signature

DOCS = Path(settings.BASE_DIR) / "docs" / "webhooks.md"


def documented_receiver() -> dict[str, Any]:
    """The namespace of the docs' receiver example (its `__main__` block not run)."""
    blocks = re.findall(r"```python\n(.*?)```", DOCS.read_text(), re.S)
    (example,) = [block for block in blocks if "class Receiver" in block]
    namespace: dict[str, Any] = {"__name__": "webhook_receiver_example"}
    exec(compile(example, str(DOCS), "exec"), namespace)  # our own docs page
    return namespace


@pytest.fixture
def docs_receiver() -> Iterator[tuple[dict[str, Any], list[dict], str]]:
    receiver = documented_receiver()
    events: list[dict] = []
    receiver["handle_event"] = events.append  # the docs' "your code here"
    with serve(receiver["Receiver"]) as url:
        yield receiver, events, url


def test_the_documented_receiver_accepts_a_real_delivery(
    frozen, docs_receiver, subscribe, it_type, requester
):
    receiver, events, url = docs_receiver
    hook = subscribe(url, events=[Event.TICKET_CREATED])
    receiver["SECRET"] = hook.secret.encode()
    ticket = TicketFactory(request_type=it_type, created_by=requester)
    assert deliver() == 1
    (event,) = events
    assert (event["type"], event["ticket"]["reference"]) == ("ticket.created", ticket.reference)
    (sent,) = deliveries(hook)
    assert (sent.last_status_code, sent.last_outcome) == (204, "HTTP 204")
    sent.message.refresh_from_db()
    assert sent.message.delivered_at is not None


def test_a_wrong_secret_is_refused_and_retried(
    frozen, docs_receiver, subscribe, it_type, requester
):
    receiver, events, url = docs_receiver
    hook = subscribe(url, events=[Event.TICKET_CREATED])
    receiver["SECRET"] = b"whsec_not-the-right-one"
    TicketFactory(request_type=it_type, created_by=requester)
    assert deliver() == 0
    assert events == []
    (sent,) = deliveries(hook)
    assert sent.last_status_code == 401
    sent.message.refresh_from_db()
    assert sent.message.delivered_at is None and sent.message.failed_at is None
    assert "HTTP 401" in sent.message.last_error
    # The receiver learns the secret (say, after a rotation): the retry goes through.
    receiver["SECRET"] = hook.secret.encode()
    frozen.move_to(sent.message.available_at)
    assert deliver() == 1
    assert len(events) == 1


def test_the_documented_check_refuses_tampering_and_stale_timestamps():
    receiver = documented_receiver()
    receiver["SECRET"] = secret = b"whsec_test"
    body = json.dumps({"id": "x", "type": "webhook.test"}).encode()
    now = int(time.time())
    good = signature(secret=secret.decode(), timestamp=now, body=body)
    verify = receiver["verify"]
    assert verify(str(now), good, body)
    assert not verify(str(now), good, body.replace(b"x", b"y"))  # body altered
    assert not verify(str(now + 1), good, body)  # timestamp altered
    assert not verify(str(now), good.upper(), body)
    assert not verify("soon", good, body)
    stale = now - int(timedelta(minutes=5, seconds=1).total_seconds())
    assert not verify(
        str(stale), signature(secret=secret.decode(), timestamp=stale, body=body), body
    )
    recent = now - 299
    assert verify(str(recent), signature(secret=secret.decode(), timestamp=recent, body=body), body)

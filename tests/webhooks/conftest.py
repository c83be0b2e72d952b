"""Fixtures for webhook tests: subscriptions, and real HTTP receivers on localhost (only
the outside world is faked; the outbox delivers for real)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from outbox.models import Message
from outbox.services import outbox_relay
from tests.slas.conftest import _fresh_calendar_cache, make_policy  # noqa: F401 (fixtures)
from webhooks.models import Event, WebhookDelivery, WebhookSubscription

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday
ALL_EVENTS = list(Event.values)


class Receiver:
    """Records each POST (path, headers, raw body) and answers the next status of
    `statuses` (the last one repeats)."""

    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []
        self.statuses = [200]

    @property
    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(post["body"]) for post in self.posts]

    def handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.posts.append(
                    {"path": self.path, "headers": dict(self.headers), "body": body}
                )
                status = receiver.statuses[min(len(receiver.posts), len(receiver.statuses)) - 1]
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        return Handler


@contextmanager
def serve(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/hooks/desk"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    target = Receiver()
    with serve(target.handler()) as url:
        yield target, url


@pytest.fixture
def frozen() -> Iterator[time_machine.Coordinates]:
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def subscribe(db, superuser) -> Callable[..., WebhookSubscription]:
    def make(
        url: str = "http://127.0.0.1:9/unused",
        *,
        events: list[str] | None = None,
        department=None,
        **fields: Any,
    ) -> WebhookSubscription:
        fields.setdefault("created_by", superuser)
        return WebhookSubscription.objects.create(
            name=fields.pop("name", f"hook {WebhookSubscription.objects.count() + 1}"),
            url=url,
            events=ALL_EVENTS if events is None else events,
            department=department,
            **fields,
        )

    return make


def deliver() -> int:
    """Run the relay now (emails too); returns how many webhook deliveries it sent."""
    sent = Message.objects.filter(topic=Message.Topic.WEBHOOK, delivered_at__isnull=False)
    before = sent.count()
    outbox_relay(now=timezone.now())
    return sent.count() - before


def deliveries(
    subscription: WebhookSubscription, event: str | None = None
) -> list[WebhookDelivery]:
    rows = WebhookDelivery.objects.filter(subscription=subscription).order_by("id")
    if event is not None:
        rows = rows.filter(event=event)
    return list(rows)

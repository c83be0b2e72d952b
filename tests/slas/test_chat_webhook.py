"""Escalations posted to the department's chat channel: a real HTTP receiver on
localhost stands in for Slack or Teams (only the outside world is faked)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import time_machine

from outbox.models import Message
from outbox.services import outbox_relay
from slas.models import EscalationAction, EscalationRule
from slas.sweep import sla_sweep
from tickets import services
from tickets.models import Priority, Ticket

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
BREACHED = T0 + timedelta(minutes=61)


class Receiver:
    def __init__(self) -> None:
        self.posts: list[dict] = []
        self.status = 200

    def handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                receiver.posts.append(
                    {
                        "path": self.path,
                        "content_type": self.headers["Content-Type"],
                        "json": json.loads(self.rfile.read(length)),
                    }
                )
                self.send_response(receiver.status)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        return Handler


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    chat = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), chat.handler())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield chat, f"http://127.0.0.1:{server.server_port}/hooks/it-desk"
    server.shutdown()
    server.server_close()


@pytest.fixture
def breached_ticket(it, make_policy, it_type, requester) -> Ticket:
    make_policy(it)
    rule = EscalationRule.objects.create(
        department=it, name="Tell the channel", trigger=EscalationRule.Trigger.BREACH, level=2,
        clock_kind="first_response",
    )  # fmt: skip
    EscalationAction.objects.create(
        rule=rule,
        kind=EscalationAction.Kind.NOTIFY,
        target=EscalationAction.Target.CHAT,
        text="Who can take it?",
    )
    with time_machine.travel(T0, tick=False):
        return services.ticket_create(
            created_by=requester,
            request_type=it_type,
            title="Laptop will not boot",
            description="Black screen.",
            priority=Priority.HIGH,
            now=T0,
        )


def run_at(now: datetime) -> None:
    with time_machine.travel(now, tick=False):
        sla_sweep(now=now)
        outbox_relay(now=now)  # the escalation writes the chat message...
        outbox_relay(now=now)  # ...which the next round posts


def test_breach_is_posted_to_the_slack_channel(it, receiver, breached_ticket):
    chat, url = receiver
    it.chat_webhook_url = url
    it.save(update_fields=["chat_webhook_url"])
    run_at(BREACHED)
    assert len(chat.posts) == 1
    post = chat.posts[0]
    assert (post["path"], post["content_type"]) == ("/hooks/it-desk", "application/json")
    text = post["json"]["text"]
    assert "Escalation level 2 (Tell the channel): First response target breached" in text
    assert f"{breached_ticket.reference} · Laptop will not boot" in text
    assert "Who can take it?" in text
    assert f"http://desk.test/tickets/{breached_ticket.reference}/" in text
    run_at(BREACHED + timedelta(minutes=5))
    assert len(chat.posts) == 1  # once


def test_teams_channels_get_a_message_card(it, receiver, breached_ticket):
    chat, url = receiver
    it.chat_webhook_url = url
    it.chat_webhook_format = "teams"
    it.save(update_fields=["chat_webhook_url", "chat_webhook_format"])
    run_at(BREACHED)
    card = chat.posts[0]["json"]
    assert card["@type"] == "MessageCard"
    assert card["summary"] == f"{breached_ticket.reference} escalated"
    assert "First response target breached<br>" in card["text"]


def test_a_failing_webhook_is_retried_with_backoff_and_blocks_nothing_else(
    it, receiver, breached_ticket, mailoutbox
):
    chat, url = receiver
    chat.status = 500
    it.chat_webhook_url = url
    it.save(update_fields=["chat_webhook_url"])
    EscalationAction.objects.create(
        rule=EscalationRule.objects.get(),
        kind=EscalationAction.Kind.NOTIFY,
        target=EscalationAction.Target.REQUESTER,
    )
    run_at(BREACHED)
    message = Message.objects.get(topic=Message.Topic.CHAT)
    assert message.delivered_at is None and message.failed_at is None
    assert message.attempts == 1
    assert "HTTP Error 500" in message.last_error
    assert message.available_at > BREACHED + timedelta(seconds=10)  # backoff
    assert [m.to for m in mailoutbox if "Escalation" in m.body] == [["rita@example.com"]]
    chat.status = 200
    run_at(message.available_at)
    message.refresh_from_db()
    assert message.delivered_at is not None
    assert len(chat.posts) == 2  # the failed attempt, then the one that went through


def test_no_webhook_set_is_reported_in_the_outcome(breached_ticket):
    run_at(BREACHED)
    event = breached_ticket.sla_events.get(kind="breach")
    assert "chat channel (none set)" in event.outcome
    assert not Message.objects.filter(topic=Message.Topic.CHAT).exists()

"""Delivery through the outbox, for real, to a local HTTP receiver: headers, retries with
backoff after a 500 or a refused connection, a failing endpoint holding up nobody else,
inactive subscriptions, a rotated secret."""

from __future__ import annotations

from tests.factories import TicketFactory
from tests.webhooks.conftest import T0, deliver, deliveries
from webhooks.models import Event
from webhooks.services import webhook_rotate_secret, webhook_send_test
from webhooks.signing import signature


def test_a_delivery_carries_its_event_id_timestamp_and_signature(
    frozen, receiver, subscribe, it_type, requester
):
    target, url = receiver
    hook = subscribe(url, events=[Event.TICKET_CREATED])
    TicketFactory(request_type=it_type, created_by=requester)
    assert deliver() == 1
    (post,) = target.posts
    (sent,) = deliveries(hook)
    headers = post["headers"]
    assert post["path"] == "/hooks/desk"
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Servicedesk-Event"] == "ticket.created"
    assert headers["X-Servicedesk-Delivery"] == str(sent.message_id)
    assert headers["X-Servicedesk-Timestamp"] == str(int(T0.timestamp()))
    assert headers["X-Servicedesk-Signature"] == signature(
        secret=hook.secret, timestamp=int(T0.timestamp()), body=post["body"]
    )
    assert post["body"] == sent.message.payload["body"].encode()  # the stored bytes exactly


def test_a_500_is_retried_with_backoff_and_a_fresh_timestamp(
    frozen, receiver, subscribe, it_type, requester
):
    target, url = receiver
    target.statuses = [500, 200]
    hook = subscribe(url, events=[Event.TICKET_CREATED])
    TicketFactory(request_type=it_type, created_by=requester)
    assert deliver() == 0
    (sent,) = deliveries(hook)
    message = sent.message
    message.refresh_from_db()
    assert (message.attempts, message.delivered_at, message.failed_at) == (1, None, None)
    assert message.last_error == "DeliveryFailed: the endpoint answered HTTP 500"
    assert sent.__class__.objects.get(pk=sent.pk).last_status_code == 500
    assert message.available_at >= T0.replace(second=15)  # 30 s ± jitter later
    assert deliver() == 0  # not due yet: nothing sent
    assert len(target.posts) == 1
    frozen.move_to(message.available_at)
    assert deliver() == 1
    message.refresh_from_db()
    assert message.delivered_at is not None and message.attempts == 2
    first, second = target.posts
    assert first["body"] == second["body"]
    assert first["headers"]["X-Servicedesk-Delivery"] == second["headers"]["X-Servicedesk-Delivery"]
    assert int(second["headers"]["X-Servicedesk-Timestamp"]) > int(
        first["headers"]["X-Servicedesk-Timestamp"]
    )
    assert sent.__class__.objects.get(pk=sent.pk).last_status_code == 200


def test_an_endpoint_that_refuses_connections_holds_up_nobody(
    frozen, receiver, subscribe, it_type, requester
):
    target, url = receiver
    dead = subscribe("http://127.0.0.1:9/nobody-listens", events=[Event.TICKET_CREATED])
    alive = subscribe(url, events=[Event.TICKET_CREATED])
    TicketFactory(request_type=it_type, created_by=requester)
    TicketFactory(request_type=it_type, created_by=requester)
    assert deliver() == 2
    assert len(target.posts) == 2
    assert all(d.message.delivered_at is not None for d in deliveries(alive))
    for failed in deliveries(dead):
        assert failed.message.delivered_at is None
        assert failed.last_status_code is None
        assert "URLError" in failed.last_outcome


def test_a_deactivated_subscription_is_sent_nothing_more(
    frozen, receiver, subscribe, it_type, requester
):
    target, url = receiver
    hook = subscribe(url, events=[Event.TICKET_CREATED])
    TicketFactory(request_type=it_type, created_by=requester)
    hook.is_active = False
    hook.save(update_fields=["is_active"])
    deliver()
    assert target.posts == []
    (sent,) = deliveries(hook)
    assert sent.last_outcome == "not sent: the subscription is inactive"


def test_a_rotated_secret_signs_what_is_still_queued(frozen, receiver, subscribe):
    target, url = receiver
    hook = subscribe(url, events=[Event.TICKET_CREATED])
    old_secret = hook.secret
    webhook_send_test(subscription=hook, now=T0)
    new_secret = webhook_rotate_secret(subscription=hook)
    assert new_secret != old_secret and new_secret.startswith("whsec_")
    assert deliver() == 1
    (post,) = target.posts
    headers = post["headers"]
    assert headers["X-Servicedesk-Event"] == "webhook.test"
    timestamp = int(headers["X-Servicedesk-Timestamp"])
    assert headers["X-Servicedesk-Signature"] == signature(
        secret=new_secret, timestamp=timestamp, body=post["body"]
    )


def test_a_redirect_is_not_followed(frozen, receiver, subscribe):
    target, url = receiver
    target.statuses = [302]
    hook = subscribe(url)
    webhook_send_test(subscription=hook, now=T0)
    assert deliver() == 0
    (sent,) = deliveries(hook)
    assert sent.last_status_code == 302
    assert len(target.posts) == 1

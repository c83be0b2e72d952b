"""Sending a webhook delivery: the outbox's handler for topic "webhook".

The outbox claims the message, counts the attempt, and on an exception retries it with
backoff and jitter (giving up after its maximum attempts, visible in admin); each message
is claimed and sent on its own, so a failing endpoint holds up no other delivery. The
signature is computed here, at send time, with the subscription's current secret: a
retry carries a fresh timestamp, and a rotated secret applies to what is still queued.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from typing import Any

from django.utils import timezone

from webhooks.models import WebhookDelivery
from webhooks.signing import signed_headers

TIMEOUT_SECONDS = 5


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer we do not follow: it fails (and is retried) like any
    other non-2xx, rather than re-sending the signed body somewhere else."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirect)


class DeliveryFailed(Exception):
    pass


def webhook_deliver(payload: dict[str, Any]) -> None:
    """POST the stored body to the subscription's URL; anything but a 2xx answer raises."""
    delivery = (
        WebhookDelivery.objects.select_related("subscription")
        .filter(subscription_id=payload["subscription"], event_id=payload["event_id"])
        .first()
    )
    if delivery is None:  # the subscription was deleted since: nobody to send it to
        return
    subscription = delivery.subscription
    if not subscription.is_active:
        _record(delivery, status=None, outcome="not sent: the subscription is inactive")
        return
    if not subscription.url.startswith(("http://", "https://")):
        _record(delivery, status=None, outcome="not sent: the URL is not http(s)")
        raise DeliveryFailed("A webhook URL must start with http:// or https://.")
    body = payload["body"].encode()
    headers = signed_headers(
        secret=subscription.secret,
        timestamp=int(time.time()),
        body=body,
        event=payload["event"],
        delivery_id=delivery.message_id,
    )
    request = urllib.request.Request(  # noqa: S310 (checked above: http or https only)
        subscription.url, data=body, headers=headers, method="POST"
    )
    try:
        with _opener.open(request, timeout=TIMEOUT_SECONDS) as response:
            status = response.status
    except urllib.error.HTTPError as error:
        _record(delivery, status=error.code, outcome=f"HTTP {error.code}")
        raise DeliveryFailed(f"the endpoint answered HTTP {error.code}") from None
    except Exception as error:  # refused, timed out, TLS: no answer at all
        _record(delivery, status=None, outcome=f"{type(error).__name__}: {error}")
        raise
    _record(delivery, status=status, outcome=f"HTTP {status}")
    if not 200 <= status < 300:
        raise DeliveryFailed(f"the endpoint answered HTTP {status}")


def _record(delivery: WebhookDelivery, *, status: int | None, outcome: str) -> None:
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        last_status_code=status, last_outcome=outcome[:200], last_attempt_at=timezone.now()
    )

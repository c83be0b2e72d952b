"""Signing a delivery: pure functions, no Django. docs/webhooks.md shows the receiver's
side of the same computation."""

from __future__ import annotations

import hashlib
import hmac

TIMESTAMP_HEADER = "X-Servicedesk-Timestamp"
SIGNATURE_HEADER = "X-Servicedesk-Signature"
EVENT_HEADER = "X-Servicedesk-Event"
DELIVERY_HEADER = "X-Servicedesk-Delivery"


def signature(*, secret: str, timestamp: int, body: bytes) -> str:
    """`sha256=` and the hex HMAC-SHA256, keyed by the secret, of "<timestamp>.<body>"."""
    signed = f"{timestamp}.".encode() + body
    return "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signed_headers(
    *, secret: str, timestamp: int, body: bytes, event: str, delivery_id: int
) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": "servicedesk-webhooks",
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: signature(secret=secret, timestamp=timestamp, body=body),
        EVENT_HEADER: event,
        DELIVERY_HEADER: str(delivery_id),
    }

"""The JSON bodies of webhook deliveries. Built when the event happens (inside its
transaction, so they describe the ticket as the event left it) and stored in the outbox
message as the exact text that is sent and signed.

Confidentiality: a confidential request type's title and requester are sent only to a
subscription of the ticket's own department (whose members may see them anyway) or to an
all-department subscription created by a superuser. Anyone else gets the reference,
departments, type, status, priority and assignee, with `title` and `requester` null.
Anonymous surveys: the ticket is left out (`ticket` null) unless the requester agreed
to be contacted, as the department's own pages do.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.urls import reverse

from accounts.models import User
from tickets.models import Priority, Ticket
from webhooks.models import WebhookSubscription


def iso(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat()


def person(user: User | None) -> dict[str, str] | None:
    if user is None:
        return None
    return {"username": user.username, "name": user.display_name, "email": user.email}


def may_see_confidential(subscription: WebhookSubscription, ticket: Ticket) -> bool:
    if not ticket.request_type.is_confidential:
        return True
    if subscription.department_id is not None:
        return subscription.department_id == ticket.department_id
    creator = subscription.created_by
    return creator is not None and creator.is_active and creator.is_superuser


def ticket_summary(ticket: Ticket, *, confidential_shown: bool) -> dict[str, Any]:
    requesting = ticket.requesting_department
    return {
        "reference": ticket.reference,
        "title": ticket.title if confidential_shown else None,
        "department": ticket.department.code,
        "requesting_department": requesting.code if requesting is not None else None,
        "request_type": ticket.request_type.name,
        "confidential": ticket.request_type.is_confidential,
        "status": ticket.status,
        "priority": Priority(ticket.priority).label.lower(),
        "assignee": person(ticket.assignee),
        "requester": person(ticket.requester) if confidential_shown else None,
        "url": settings.SITE_URL + reverse("ticket_detail", args=[ticket.reference]),
    }


def body(
    *,
    event: str,
    event_id: str,
    occurred_at: datetime,
    ticket: dict[str, Any] | None,
    data: dict[str, Any],
) -> str:
    """The exact text sent: compact JSON, keys in a fixed order."""
    return json.dumps(
        {
            "id": event_id,
            "type": event,
            "occurred_at": iso(occurred_at),
            "ticket": ticket,
            "data": data,
        },
        separators=(",", ":"),
        ensure_ascii=False,
    )

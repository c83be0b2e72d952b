"""Ticket emails: rendered when the change is made, written to the outbox in its
transaction, delivered by a worker after commit."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse

from accounts.models import User
from outbox.models import Message
from outbox.services import outbox_enqueue, outbox_enqueue_many
from tickets.models import Comment, Department, TicketEvent
from tickets.selectors import can_view


def notify(
    *,
    event: TicketEvent,
    recipients: Iterable[User | None],
    headline: str,
    comment: Comment | None = None,
    include_actor: bool = False,
) -> int:
    """Queue one email per recipient for this event (one INSERT for all of them); never to
    someone who cannot open the ticket (a watcher of a confidential request), and not to
    the person who acted unless `include_actor` (the filing receipt, which carries the
    reference).

    Returns how many emails were queued.
    """
    messages = notification_messages(
        event=event,
        recipients=recipients,
        headline=headline,
        comment=comment,
        include_actor=include_actor,
    )
    outbox_enqueue_many(messages=messages)
    return len(messages)


def notification_messages(
    *,
    event: TicketEvent,
    recipients: Iterable[User | None],
    headline: str,
    comment: Comment | None = None,
    include_actor: bool = False,
) -> list[dict[str, Any]]:
    """The outbox messages `notify` writes, for a caller that writes those of several
    events in one statement (outbox_enqueue_many): filing, its receipt and the email to
    the agent it was assigned to."""
    ticket = event.ticket
    url = settings.SITE_URL + reverse("ticket_detail", args=[ticket.reference])
    queued: set[int] = set()
    messages = []
    for user in recipients:
        if user is None or not user.is_active or not user.email:
            continue
        if (user.pk == event.actor_id and not include_actor) or user.pk in queued:
            continue
        if not can_view(user=user, ticket=ticket):
            continue
        queued.add(user.pk)
        context = {
            "ticket": ticket,
            "event": event,
            "recipient": user,
            "headline": headline,
            "comment": comment,
            "url": url,
        }
        messages.append(
            {
                "topic": Message.Topic.EMAIL,
                "dedupe_key": f"ticket-event:{event.pk}:user:{user.pk}",
                "payload": {
                    "to": user.email,
                    "subject": f"[{ticket.reference}] {ticket.title}",
                    "text": render_to_string("emails/ticket_event.txt", context),
                    "headers": {"X-Servicedesk-Ticket": ticket.reference},
                },
            }
        )
    return messages


def chat_body(*, webhook_format: str, text: str, summary: str) -> dict[str, Any]:
    """The JSON an incoming webhook takes: Slack's {"text": ...}, or a Teams MessageCard."""
    if webhook_format == "teams":
        return {
            "@type": "MessageCard",
            "@context": "https://schema.org/extensions",
            "summary": summary,
            "text": text.replace("\n", "<br>"),
        }
    return {"text": text}


def notify_chat(*, department: Department, text: str, summary: str, dedupe_key: str) -> bool:
    """Queue a post to the department's chat channel (delivered by the outbox, retried
    with backoff, a failure visible in admin). False if the department has no webhook."""
    if not department.chat_webhook_url:
        return False
    outbox_enqueue(
        topic=Message.Topic.CHAT,
        dedupe_key=dedupe_key,
        payload={
            "url": department.chat_webhook_url,
            "body": chat_body(
                webhook_format=department.chat_webhook_format, text=text, summary=summary
            ),
        },
    )
    return True

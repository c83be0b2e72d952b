"""Ticket emails: who gets one is decided when the change is made, and a compact outbox
row written in its transaction (topic "ticket_email": the event, the recipient, the
headline, the comment); a worker renders and sends it after commit.

Rendering at delivery keeps the template work off the request that made the change (a
filing sends two). The handler checks again that the recipient is active and may open
the ticket (can_view) at send time: a watcher who lost access meanwhile gets nothing.
The email shows the ticket as it is then.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse

from accounts.models import User
from outbox.models import Message
from outbox.services import outbox_enqueue, outbox_enqueue_many, send_email
from tickets.models import Comment, Department, TicketEvent
from tickets.selectors import can_view

logger = logging.getLogger(__name__)


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
        messages.append(
            {
                "topic": Message.Topic.TICKET_EMAIL,
                "dedupe_key": f"ticket-event:{event.pk}:user:{user.pk}",
                # What to send to whom; ticket_email_deliver renders it. The address and
                # the reference as at the change (admin lists them).
                "payload": {
                    "event": event.pk,
                    "user": user.pk,
                    "headline": headline,
                    "comment": comment.pk if comment is not None else None,
                    "to": user.email,
                    "headers": {"X-Servicedesk-Ticket": ticket.reference},
                },
            }
        )
    return messages


def ticket_email_deliver(payload: dict[str, Any]) -> None:
    """Outbox handler of "ticket_email": render the email `notification_messages` queued
    and send it, unless the recipient has been deactivated or can no longer open the
    ticket (then nothing: the row is done)."""
    event = (
        TicketEvent.objects.select_related("ticket__department", "ticket__request_type")
        .filter(pk=payload["event"])
        .first()
    )
    user = User.objects.filter(pk=payload["user"], is_active=True).first()
    if event is None or user is None:
        return  # deleted with its ticket, or the account was deactivated
    ticket = event.ticket
    if not can_view(user=user, ticket=ticket):
        logger.info("ticket email %s to user %s: no longer allowed", event.pk, user.pk)
        return
    comment = None
    if payload["comment"] is not None:
        comment = Comment.objects.select_related("author").filter(pk=payload["comment"]).first()
        if comment is None:
            return
    context = {
        "ticket": ticket,
        "event": event,
        "recipient": user,
        "headline": payload["headline"],
        "comment": comment,
        "url": settings.SITE_URL + reverse("ticket_detail", args=[ticket.reference]),
    }
    send_email(
        {
            "to": payload["to"],
            "subject": f"[{ticket.reference}] {ticket.title}",
            "text": render_to_string("emails/ticket_event.txt", context),
            "headers": payload["headers"],
        }
    )


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

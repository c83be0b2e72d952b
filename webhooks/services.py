"""Outgoing webhooks: which subscriptions an event goes to, and queueing one outbox
message per (subscription, event).

The listeners run inside the change's transaction (tickets.hooks, slas.hooks,
surveys.hooks, registered in WebhooksConfig.ready()): a delivery is written if and only if
the change commits, and sent after commit by the outbox (webhooks.delivery). With no
subscription, a listener costs one query on the (small) subscription table.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from django.db import transaction

from accounts.models import User
from outbox.models import Message
from outbox.services import outbox_enqueue_many
from servicedesk.config import config_cached
from slas.hooks import EventsRecorded
from slas.models import SlaClock, SlaEvent
from surveys.models import SurveyResponse
from tickets import hooks
from tickets.models import Membership, Ticket
from webhooks import payloads
from webhooks.models import TEST_EVENT, Event, WebhookDelivery, WebhookSubscription, new_secret

# Deliveries per outbox task: an endpoint that times out (5 s) delays at most the nine
# others of its task, and a sweep's thousand breaches are still a few dozen tasks.
DELIVERY_CHUNK = 10

TICKET_EVENTS = {
    hooks.CREATED: Event.TICKET_CREATED,
    hooks.ASSIGNED: Event.TICKET_ASSIGNED,
    hooks.STATUS_CHANGED: Event.TICKET_STATUS_CHANGED,
}
SLA_EVENTS: dict[str, str] = {
    SlaEvent.Kind.WARNING: Event.SLA_WARNING,
    SlaEvent.Kind.BREACH: Event.SLA_BREACHED,
}
TICKET_RELATED = ("department", "requesting_department", "request_type", "requester", "assignee")


class Outgoing(NamedTuple):
    subscription: WebhookSubscription
    event: str
    event_id: str
    body: str


def _active_subscriptions(events: Iterable[str]) -> list[WebhookSubscription]:
    wanted = set(events)
    # Most changes have no subscriber: the events anyone subscribes to are cached per
    # process (servicedesk/config.py); the subscriptions themselves are read when needed.
    subscribed = config_cached(
        "webhook_events",
        lambda: list(
            WebhookSubscription.objects.filter(is_active=True).values_list("events", flat=True)
        ),
    )
    if not any(wanted.intersection(events_of_one) for events_of_one in subscribed):
        return []
    subscriptions = WebhookSubscription.objects.filter(is_active=True).select_related("created_by")
    return [s for s in subscriptions if wanted.intersection(s.events)]


def _matching(
    subscriptions: Sequence[WebhookSubscription], *, event: str, department_id: int
) -> list[WebhookSubscription]:
    return [s for s in subscriptions if s.wants(event) and s.department_id in (None, department_id)]


def _enqueue(outgoing: list[Outgoing], *, now: datetime) -> list[WebhookDelivery]:
    """One outbox message and one delivery row per item, in two statements whatever the
    count (plus one to pair them)."""
    if not outgoing:
        return []
    keys = [f"webhook:{o.subscription.pk}:{o.event_id}" for o in outgoing]
    ids = outbox_enqueue_many(
        messages=[
            {
                "topic": Message.Topic.WEBHOOK,
                "dedupe_key": key,
                "payload": {
                    "subscription": o.subscription.pk,
                    "event": o.event,
                    "event_id": o.event_id,
                    "body": o.body,
                },
            }
            for key, o in zip(keys, outgoing, strict=True)
        ],
        delivery_chunk=DELIVERY_CHUNK,
    )
    message_ids = dict(Message.objects.filter(pk__in=ids).values_list("dedupe_key", "pk"))
    return WebhookDelivery.objects.bulk_create(
        [
            WebhookDelivery(
                subscription=o.subscription,
                message_id=message_ids[key],
                event=o.event,
                event_id=o.event_id,
                created_at=now,
            )
            for key, o in zip(keys, outgoing, strict=True)
        ]
    )


def _bodies(
    subscriptions: list[WebhookSubscription],
    *,
    event: str,
    event_id: str,
    occurred_at: datetime,
    ticket: Ticket | None,
    data: dict[str, Any],
) -> list[Outgoing]:
    """The body for each subscription: at most two variants (with and without what a
    confidential request keeps from other departments)."""
    variants: dict[bool, str] = {}
    outgoing = []
    for subscription in subscriptions:
        shown = ticket is None or payloads.may_see_confidential(subscription, ticket)
        if shown not in variants:
            summary = (
                payloads.ticket_summary(ticket, confidential_shown=shown)
                if ticket is not None
                else None
            )
            variants[shown] = payloads.body(
                event=event, event_id=event_id, occurred_at=occurred_at, ticket=summary, data=data
            )
        outgoing.append(Outgoing(subscription, event, event_id, variants[shown]))
    return outgoing


# --- Listeners --------------------------------------------------------------------------


def webhooks_on_ticket_change(change: hooks.TicketChange) -> None:
    """Ticket hook: created, assigned, status changed."""
    event = TICKET_EVENTS.get(change.kind)
    if event is None or change.event_id is None:
        return
    ticket = change.ticket
    subscriptions = _matching(
        _active_subscriptions([event]), event=event, department_id=ticket.department_id
    )
    if not subscriptions:
        return
    data: dict[str, Any] = {"actor": payloads.person(change.actor)}
    if change.kind == hooks.ASSIGNED:
        old_id = change.details.get("old_assignee_id")
        old = User.objects.filter(pk=int(str(old_id))).first() if old_id else None
        data["previous_assignee"] = payloads.person(old)
    elif change.kind == hooks.STATUS_CHANGED:
        data.update(old_status=change.old_status, new_status=change.new_status)
    outgoing = _bodies(
        subscriptions,
        event=event,
        event_id=f"ticket-event-{change.event_id}",
        occurred_at=change.now,
        ticket=ticket,
        data=data,
    )
    _enqueue(outgoing, now=change.now)


def webhooks_on_sla_events(recorded: EventsRecorded) -> None:
    """SLA hook: the warnings and breaches a sweep batch (or a clock change) recorded.
    One query when nobody subscribes; otherwise a few per batch, whatever its size."""
    subscriptions = _active_subscriptions(SLA_EVENTS.values())
    if not subscriptions:
        return
    events = [e for e in recorded.events() if e.kind in SLA_EVENTS]
    wanted = [
        (e, matching)
        for e in events
        if (
            matching := _matching(
                subscriptions, event=SLA_EVENTS[e.kind], department_id=e.department_id
            )
        )
    ]
    if not wanted:
        return
    tickets = Ticket.objects.select_related(*TICKET_RELATED).in_bulk(
        {e.ticket_id for e, _ in wanted}
    )
    clock_kinds = dict(
        SlaClock.objects.filter(pk__in={e.clock_id for e, _ in wanted}).values_list("pk", "kind")
    )
    outgoing: list[Outgoing] = []
    for e, matching in wanted:
        data = {
            "kind": e.kind,
            "clock": clock_kinds.get(e.clock_id) if e.clock_id is not None else None,
            "threshold": e.threshold,
            "instant": payloads.iso(e.instant),
        }
        outgoing += _bodies(
            matching,
            event=SLA_EVENTS[e.kind],
            event_id=f"sla-event-{e.id}",
            occurred_at=e.instant,
            ticket=tickets[e.ticket_id],
            data=data,
        )
    _enqueue(outgoing, now=recorded.now)


def webhooks_on_survey_answered(response: SurveyResponse, now: datetime) -> None:
    """Survey hook. An anonymous answer goes without its ticket (unless the requester
    agreed to be contacted), as on the department's own pages."""
    invitation = response.invitation
    event = Event.SURVEY_ANSWERED
    subscriptions = _matching(
        _active_subscriptions([event]), event=event, department_id=invitation.department_id
    )
    if not subscriptions:
        return
    identified = not invitation.anonymous or response.may_contact
    ticket = (
        Ticket.objects.select_related(*TICKET_RELATED).get(pk=invitation.ticket_id)
        if identified
        else None
    )
    data = {
        "department": invitation.department.code,
        "anonymous": invitation.anonymous,
        "score": response.score,
        "reasons": response.reasons,
        "comment": response.comment,
        "nps": response.nps,
    }
    outgoing = _bodies(
        subscriptions,
        event=event,
        event_id=f"survey-response-{response.pk}",
        occurred_at=response.created_at,
        ticket=ticket,
        data=data,
    )
    _enqueue(outgoing, now=now)


# --- Admin actions ----------------------------------------------------------------------


def webhook_send_test(*, subscription: WebhookSubscription, now: datetime) -> WebhookDelivery:
    """Queue a `webhook.test` delivery (whatever the subscription's events), to check the
    URL and the receiver's signature verification."""
    event_id = f"test-{uuid.uuid4().hex}"
    body = payloads.body(
        event=TEST_EVENT,
        event_id=event_id,
        occurred_at=now,
        ticket=None,
        data={"subscription": subscription.name},
    )
    with transaction.atomic():
        (delivery,) = _enqueue([Outgoing(subscription, TEST_EVENT, event_id, body)], now=now)
    return delivery


def webhook_rotate_secret(*, subscription: WebhookSubscription) -> str:
    """A new secret, used from the next attempt on (queued retries included)."""
    subscription.secret = new_secret()
    subscription.save(update_fields=["secret"])
    return subscription.secret


def lead_department_ids(user: Any) -> set[int]:
    """The departments a user leads (whose webhooks they may manage in admin)."""
    return set(
        Membership.objects.filter(user_id=user.pk, role=Membership.Role.LEAD).values_list(
            "department_id", flat=True
        )
    )

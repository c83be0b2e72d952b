"""Outgoing webhooks: a URL subscribed to ticket events, and the history of what was sent
to it (each delivery is an outbox message; this table ties it to its subscription)."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core.validators import URLValidator
from django.db import models
from django.utils import timezone

from outbox.models import Message
from tickets.models import Department


class Event(models.TextChoices):
    TICKET_CREATED = "ticket.created", "Ticket created"
    TICKET_ASSIGNED = "ticket.assigned", "Ticket assigned"
    TICKET_STATUS_CHANGED = "ticket.status_changed", "Ticket status changed"
    SLA_WARNING = "sla.warning", "SLA warning"
    SLA_BREACHED = "sla.breached", "SLA breached"
    SURVEY_ANSWERED = "survey.answered", "Survey answered"


TEST_EVENT = "webhook.test"  # sent by the admin action, whatever the subscription's events


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


class WebhookSubscription(models.Model):
    name = models.CharField(max_length=100)
    url = models.URLField(
        "URL",
        max_length=500,
        validators=[URLValidator(schemes=["http", "https"])],
        help_text="Receives a POST of JSON for each event (http or https).",
    )
    secret = models.CharField(
        max_length=100,
        default=new_secret,
        editable=False,
        help_text="Signs every delivery (HMAC-SHA256); the receiver checks it.",
    )
    # A list of Event values; a JSON list, not a table: a subscription has at most six.
    events = models.JSONField(default=list)
    department = models.ForeignKey(
        Department,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="webhook_subscriptions",
        help_text="Only this department's tickets. Empty: every department (admins only).",
    )
    is_active = models.BooleanField("active", default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = "webhook subscription"
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    def wants(self, event: str) -> bool:
        return event in self.events


class WebhookDelivery(models.Model):
    """One event sent (or being sent) to one subscription: its outbox message holds the
    body, attempts, state and last error; the last HTTP status is kept here."""

    subscription = models.ForeignKey(
        WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries"
    )
    message = models.OneToOneField(Message, on_delete=models.CASCADE, related_name="+")
    event = models.CharField(max_length=32)
    event_id = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    # The last attempt: the endpoint's HTTP status (None: no answer), and what happened.
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_outcome = models.CharField(max_length=200, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "webhook delivery"
        verbose_name_plural = "webhook deliveries"
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "event_id"], name="webhook_delivery_once_per_event"
            )
        ]
        indexes = [models.Index(fields=["subscription", "-id"], name="webhook_delivery_recent")]

    def __str__(self) -> str:
        return f"{self.event} {self.event_id} → {self.subscription_id}"

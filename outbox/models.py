from django.db import models
from django.utils import timezone


class Message(models.Model):
    """A side effect (an email, a webhook call) written in the same transaction as the
    change that caused it, and delivered at least once by a Celery worker afterwards."""

    class Topic(models.TextChoices):
        EMAIL = "email", "Email"
        TICKET_EMAIL = "ticket_email", "Ticket email"  # rendered at delivery (tickets)
        CHAT = "chat", "Chat webhook"
        ESCALATION = "escalation", "Escalation actions"
        SURVEY = "survey", "Survey email"
        WEBHOOK = "webhook", "Outgoing webhook"

    topic = models.CharField(max_length=32, choices=Topic.choices)
    # Unique per event and recipient by construction; the constraint (Meta) guards
    # against a code path that would enqueue the same notification twice. A
    # UniqueConstraint, not unique=True: that also builds a varchar_pattern_ops index on
    # PostgreSQL, for LIKE queries nobody makes, which every insert would maintain.
    dedupe_key = models.CharField(max_length=200)
    payload = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)
    available_at = models.DateTimeField(default=timezone.now)
    attempts = models.PositiveSmallIntegerField(default=0)
    claimed_until = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [models.UniqueConstraint(fields=["dedupe_key"], name="outbox_dedupe_key")]
        indexes = [
            models.Index(
                fields=["available_at"],
                name="outbox_pending_idx",
                condition=models.Q(delivered_at__isnull=True, failed_at__isnull=True),
            )
        ]

    def __str__(self) -> str:
        return f"{self.topic} #{self.pk} ({self.state})"

    @property
    def state(self) -> str:
        if self.delivered_at:
            return "delivered"
        if self.failed_at:
            return "failed"
        return "pending"

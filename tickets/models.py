"""Departments, their service catalogue, tickets, the conversation and the audit trail.

Models hold fields, constraints and indexes only; every change goes through
tickets/services.py, which also writes the audit trail and the outbox.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone

# Who the audit trail and conversation name when the service desk itself acted.
SYSTEM_NAME = "Service desk"


class Department(models.Model):
    class Assignment(models.TextChoices):
        MANUAL = "manual", "Manual (agents pick tickets)"
        ROUND_ROBIN = "round_robin", "Round robin"
        FEWEST_OPEN = "fewest_open", "Fewest open tickets"

    name = models.CharField(max_length=100, unique=True)
    code = models.CharField(
        max_length=10,
        unique=True,
        validators=[
            RegexValidator(
                r"^[A-Z][A-Z0-9]{1,9}$",
                "Use 2 to 10 capital letters or digits, starting with a letter (e.g. IT, HR, FIN).",
            )
        ],
        help_text="Short code used in ticket references, such as IT in IT-1042.",
    )
    description = models.TextField(
        blank=True, help_text="Shown to employees when they choose where to send a request."
    )
    contact_email = models.EmailField(blank=True)
    is_active = models.BooleanField(
        default=True, help_text="Inactive departments accept no new requests."
    )
    assignment = models.CharField(
        "automatic assignment",
        max_length=20,
        choices=Assignment.choices,
        default=Assignment.MANUAL,
    )
    auto_close_days = models.PositiveSmallIntegerField(
        default=7, help_text="Resolved tickets are closed after this many days (0: never)."
    )
    calendar = models.ForeignKey(
        "slas.BusinessCalendar",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="departments",
        help_text="Business hours and holidays that SLA targets are counted in "
        "(none: round the clock).",
    )
    chat_webhook_url = models.URLField(
        "chat webhook URL",
        blank=True,
        max_length=500,
        help_text="Incoming-webhook URL of the department's chat channel (Slack or Teams). "
        "Escalation rules can post there.",
    )
    chat_webhook_format = models.CharField(
        max_length=10,
        choices=[("slack", "Slack"), ("teams", "Microsoft Teams")],
        default="slack",
    )
    # The per-department ticket number, incremented under a row lock at filing.
    ticket_sequence = models.PositiveBigIntegerField(default=0, editable=False)
    # Round-robin pointer: the agent who got the last automatically assigned ticket.
    last_assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        editable=False,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="Membership", related_name="departments"
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    class Role(models.TextChoices):
        AGENT = "agent", "Agent"
        LEAD = "lead", "Lead"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.AGENT)
    is_available = models.BooleanField(
        default=True, help_text="Takes part in automatic assignment (off while away)."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "department"], name="membership_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()}, {self.department.code})"


class Priority(models.IntegerChoices):
    LOW = 1, "Low"
    NORMAL = 2, "Normal"
    HIGH = 3, "High"
    URGENT = 4, "Urgent"


class RequestType(models.Model):
    department = models.ForeignKey(
        Department, on_delete=models.CASCADE, related_name="request_types"
    )
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    default_priority = models.PositiveSmallIntegerField(
        choices=Priority.choices, default=Priority.NORMAL
    )
    is_confidential = models.BooleanField(
        "confidential",
        default=False,
        help_text="Only the department's members and the requester can see these tickets.",
    )
    is_active = models.BooleanField(default=True)
    sla_exempt = models.BooleanField(
        "no SLA", default=False, help_text="Tickets of this type have no SLA targets."
    )
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["department__name", "position", "name"]
        constraints = [
            models.UniqueConstraint(fields=["department", "name"], name="request_type_unique_name")
        ]

    def __str__(self) -> str:
        return f"{self.department.code}: {self.name}"


class RequestField(models.Model):
    """An extra question on a request type's form, defined by the admin."""

    class Kind(models.TextChoices):
        TEXT = "text", "Text"
        LONG_TEXT = "long_text", "Long text"
        CHOICE = "choice", "Choice"
        DATE = "date", "Date"
        NUMBER = "number", "Number"
        YES_NO = "yes_no", "Yes / no"

    request_type = models.ForeignKey(RequestType, on_delete=models.CASCADE, related_name="fields")
    key = models.SlugField(
        max_length=50, help_text="Stable name used to store the answer and in the API."
    )
    label = models.CharField(max_length=120)
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.TEXT)
    required = models.BooleanField(default=False)
    choices = models.TextField(blank=True, help_text="For choice fields: one option per line.")
    help_text = models.CharField(max_length=200, blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["request_type", "key"], name="request_field_unique_key")
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def choice_list(self) -> list[str]:
        return [line.strip() for line in self.choices.splitlines() if line.strip()]

    def clean(self) -> None:
        if self.kind == self.Kind.CHOICE and len(self.choice_list) < 2:
            raise ValidationError({"choices": "A choice field needs at least two options."})
        if self.kind != self.Kind.CHOICE and self.choices.strip():
            raise ValidationError({"choices": "Only choice fields have options."})


class Ticket(models.Model):
    class Status(models.TextChoices):
        NEW = "new", "New"
        OPEN = "open", "Open"
        WAITING = "waiting", "Waiting on requester"
        RESOLVED = "resolved", "Resolved"
        CLOSED = "closed", "Closed"
        CANCELLED = "cancelled", "Cancelled"

    OPEN_STATUSES = (Status.NEW, Status.OPEN, Status.WAITING)

    reference = models.CharField(max_length=24, unique=True)
    department = models.ForeignKey(
        Department,
        on_delete=models.PROTECT,
        related_name="tickets",
        help_text="The providing department, which works the ticket.",
    )
    request_type = models.ForeignKey(RequestType, on_delete=models.PROTECT, related_name="tickets")
    requesting_department = models.ForeignKey(
        Department,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="requested_tickets",
        help_text="The requester's home department when the ticket was filed.",
    )
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="requests"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="tickets_filed"
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_tickets",
    )
    watchers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="watched_tickets"
    )
    title = models.CharField(max_length=200)
    description = models.TextField()
    description_html = models.TextField(editable=False)
    extra = models.JSONField(default=dict, blank=True)
    priority = models.PositiveSmallIntegerField(choices=Priority.choices, default=Priority.NORMAL)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.NEW)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    status_changed_at = models.DateTimeField(default=timezone.now)
    first_response_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    reopen_count = models.PositiveSmallIntegerField(default=0)
    # Kept by the SLA services from the ticket's running clocks, for the queue's
    # "due soonest" order and its at-risk / breached filters.
    sla_due_at = models.DateTimeField(null=True, blank=True, editable=False)
    sla_at_risk_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        indexes = [
            # Queue pages: one department, optionally one status, newest first (keyset on id).
            models.Index(fields=["department", "-id"], name="ticket_dept_recent"),
            models.Index(fields=["department", "status", "-id"], name="ticket_dept_status_recent"),
            # The default queue view (new, open, waiting): a deep page reads only its rows.
            models.Index(
                fields=["department", "-id"],
                name="ticket_dept_active_recent",
                condition=models.Q(status__in=["new", "open", "waiting"]),
            ),
            models.Index(fields=["requester", "-id"], name="ticket_requester_recent"),
            models.Index(
                fields=["department", "sla_due_at", "id"],
                name="ticket_dept_sla_due",
                condition=models.Q(sla_due_at__isnull=False),
            ),
            # An agent's tickets by status; with the department, "fewest open" counts each
            # agent's open tickets of one department from the index alone (an index-only
            # scan of that agent's rows, not a pass over all of the department's).
            models.Index(
                fields=["assignee", "status", "department"], name="ticket_assignee_status_dept"
            ),
            # The lead dashboard: a department's tickets filed in a period, with every
            # column its breakdowns group by (an index-only scan, no table reads).
            models.Index(
                fields=["department", "created_at"],
                name="ticket_dept_created",
                include=[
                    "requesting_department",
                    "request_type",
                    "assignee",
                    "priority",
                    "resolved_at",
                    "reopen_count",
                ],
            ),
            # ... and those resolved in a period (their latest resolution).
            models.Index(
                fields=["department", "resolved_at"],
                name="ticket_dept_resolved",
                condition=models.Q(status__in=["resolved", "closed"]),
            ),
            models.Index(
                fields=["resolved_at"],
                name="ticket_resolved_autoclose",
                condition=models.Q(status="resolved"),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(priority__gte=1, priority__lte=4), name="ticket_priority_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(
                    status__in=["new", "open", "waiting", "resolved", "closed", "cancelled"]
                ),
                name="ticket_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.title}"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.CLOSED, self.Status.CANCELLED)

    def extra_display(self) -> list[tuple[str, Any]]:
        """(label, value) for each answered extra field, in the form's order."""
        fields = {f.key: f for f in self.request_type.fields.all()}
        rows: list[tuple[str, Any]] = []
        for key, field in fields.items():
            if key in self.extra and self.extra[key] not in ("", None):
                value = self.extra[key]
                if field.kind == RequestField.Kind.YES_NO:
                    value = "Yes" if value else "No"
                rows.append((field.label, value))
        # Answers to fields the admin has since removed (or from before a transfer).
        rows.extend((key, value) for key, value in self.extra.items() if key not in fields)
        return rows


class Comment(models.Model):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="comments",
        help_text="Empty for internal notes the service desk posts (escalation rules).",
    )
    body = models.TextField()
    body_html = models.TextField(editable=False)
    is_internal = models.BooleanField(
        default=False, help_text="Internal notes are never shown to requesters."
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["ticket", "created_at"], name="comment_ticket_time")]

    def __str__(self) -> str:
        return (
            f"{'Note' if self.is_internal else 'Reply'} on {self.ticket_id} by {self.author_name}"
        )

    @property
    def author_name(self) -> str:
        return str(self.author) if self.author else SYSTEM_NAME


def attachment_path(instance: Attachment, filename: str) -> str:
    return f"attachments/{instance.ticket_id}/{timezone.now():%Y%m%d%H%M%S%f}-{filename}"


class Attachment(models.Model):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="attachments")
    comment = models.ForeignKey(
        Comment, null=True, blank=True, on_delete=models.CASCADE, related_name="attachments"
    )
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    file = models.FileField(upload_to=attachment_path, max_length=300)
    filename = models.CharField(max_length=200)
    size = models.PositiveBigIntegerField()
    content_type = models.CharField(max_length=100)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.filename


class TicketEvent(models.Model):
    """The audit trail: who changed what, when, from what to what."""

    class Action(models.TextChoices):
        CREATED = "created", "Filed"
        STATUS = "status", "Status changed"
        ASSIGNED = "assigned", "Assignee changed"
        PRIORITY = "priority", "Priority changed"
        TRANSFERRED = "transferred", "Transferred"
        REPLIED = "replied", "Replied"
        NOTE = "note", "Internal note"
        WATCHER_ADDED = "watcher_added", "Watcher added"
        WATCHER_REMOVED = "watcher_removed", "Watcher removed"
        ESCALATED = "escalated", "Escalated"

    # Events that would reveal internal work to a requester are shown to members only.
    INTERNAL_ACTIONS = (Action.NOTE, Action.ESCALATED)

    # No database constraint on the ticket: events are written with their ticket or
    # under its row lock, and tickets are deleted only through the ORM, whose cascade
    # removes their events (the reasons and the measurement: slas.models.SlaClock.ticket).
    ticket = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, related_name="events", db_constraint=False
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Empty when the system made the change.",
    )
    action = models.CharField(max_length=20, choices=Action.choices)
    old_value = models.CharField(max_length=200, blank=True)
    new_value = models.CharField(max_length=200, blank=True)
    message = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["ticket", "created_at"], name="event_ticket_time")]

    def __str__(self) -> str:
        return f"{self.get_action_display()} on {self.ticket_id}"


class ConfigGeneration(models.Model):
    """One row whose `value` changes whenever configuration that processes cache changes
    (request types, SLA policies, escalation rules, webhook subscriptions; see
    servicedesk/config.py). A process compares it with the value its cache was built at."""

    value = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = "configuration generation"

    def __str__(self) -> str:
        return f"configuration generation {self.value}"

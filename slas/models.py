"""Business calendars, SLA policies, and the SLA clocks of tickets.

A clock's deadline is computed when the ticket changes (slas/services.py) and stored,
with the next instant at which something must happen (`next_check_at`) under a partial
index, so finding what is due is one cheap indexed query whatever the number of tickets.
"""

from __future__ import annotations

import zoneinfo
from datetime import time

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from slas import clock
from tickets.models import Department, Priority, RequestType, Ticket


def validate_time_zone(value: str) -> None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValidationError(
            f"“{value}” is not an IANA time zone; use a name such as Europe/Berlin."
        ) from None


def validate_percents(value: str) -> None:
    try:
        parse_percents(value)
    except ValueError as error:
        raise ValidationError(str(error)) from None


def parse_percents(value: str) -> list[int]:
    """'50, 75' -> [50, 75]. Each between 1 and 99, strictly increasing."""
    if not value.strip():
        return []
    try:
        numbers = [int(part) for part in value.replace(" ", "").split(",") if part]
    except ValueError:
        raise ValueError("Write warning thresholds as whole percentages, e.g. 50, 75.") from None
    if any(not 1 <= n <= 99 for n in numbers):
        raise ValueError("Warning thresholds must be between 1 and 99 percent.")
    if numbers != sorted(set(numbers)):
        raise ValueError("List warning thresholds once each, smallest first.")
    return numbers


class BusinessCalendar(models.Model):
    name = models.CharField(max_length=100, unique=True)
    time_zone = models.CharField(
        max_length=64, default="UTC", validators=[validate_time_zone], help_text="IANA name."
    )
    holiday_country = models.CharField(
        max_length=2,
        blank=True,
        help_text="ISO country code (e.g. DE, US) to generate public holidays from.",
    )
    holiday_subdivision = models.CharField(
        max_length=10, blank=True, help_text="Optional state or region code (e.g. BY, CA)."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.time_zone})"

    def as_clock_calendar(self) -> clock.Calendar:
        """The frozen value slas/clock.py computes with."""
        intervals = tuple(
            (i.weekday, _seconds(i.start), _seconds(i.end) or clock.DAY)
            for i in self.intervals.all()
        )
        holidays = frozenset(h.date for h in self.holidays.all())
        return clock.Calendar(self.time_zone, intervals, holidays)


def _seconds(moment: time) -> int:
    return moment.hour * 3600 + moment.minute * 60 + moment.second


class WorkingInterval(models.Model):
    class Weekday(models.IntegerChoices):
        MONDAY = 0, "Monday"
        TUESDAY = 1, "Tuesday"
        WEDNESDAY = 2, "Wednesday"
        THURSDAY = 3, "Thursday"
        FRIDAY = 4, "Friday"
        SATURDAY = 5, "Saturday"
        SUNDAY = 6, "Sunday"

    calendar = models.ForeignKey(
        BusinessCalendar, on_delete=models.CASCADE, related_name="intervals"
    )
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    start = models.TimeField()
    end = models.TimeField(help_text="00:00 means midnight at the end of the day.")

    class Meta:
        ordering = ["weekday", "start"]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.start:%H:%M}-{self.end:%H:%M}"

    def clean(self) -> None:
        if self.start is None or self.end is None:
            return
        if self.end != time(0) and self.end <= self.start:
            raise ValidationError("A working interval must end after it starts.")


class Holiday(models.Model):
    calendar = models.ForeignKey(
        BusinessCalendar, on_delete=models.CASCADE, related_name="holidays"
    )
    date = models.DateField()
    name = models.CharField(max_length=120, blank=True)

    class Meta:
        ordering = ["date"]
        constraints = [
            models.UniqueConstraint(fields=["calendar", "date"], name="holiday_unique_date")
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.name}"


class SlaPolicy(models.Model):
    """Targets for a department's tickets. The most specific active policy wins: request
    type, then requesting department, then priority narrow it."""

    name = models.CharField(max_length=120)
    department = models.ForeignKey(
        Department, on_delete=models.CASCADE, related_name="sla_policies"
    )
    request_type = models.ForeignKey(
        RequestType, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    requesting_department = models.ForeignKey(
        Department,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text="Only for requests from this department.",
    )
    priority = models.PositiveSmallIntegerField(choices=Priority.choices, null=True, blank=True)
    first_response_minutes = models.PositiveIntegerField(help_text="Business minutes.")
    resolution_minutes = models.PositiveIntegerField(help_text="Business minutes.")
    next_response_minutes = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Business minutes for an agent reply after each requester reply (optional).",
    )
    warning_percents = models.CharField(
        max_length=40,
        default="50, 75",
        validators=[validate_percents],
        help_text="Warn when this much of a target is used, e.g. 50, 75.",
    )
    active_from = models.DateField(null=True, blank=True)
    active_until = models.DateField(null=True, blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        verbose_name = "SLA policy"
        verbose_name_plural = "SLA policies"
        ordering = ["department__name", "name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(first_response_minutes__gt=0, resolution_minutes__gt=0),
                name="sla_policy_targets_positive",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def specificity(self) -> int:
        return (
            4 * (self.request_type_id is not None)
            + 2 * (self.requesting_department_id is not None)
            + (self.priority is not None)
        )

    @property
    def warning_list(self) -> list[int]:
        return parse_percents(self.warning_percents)

    def clean(self) -> None:
        if self.request_type and self.request_type.department_id != self.department_id:
            raise ValidationError({"request_type": "Choose a request type of this department."})
        if self.active_from and self.active_until and self.active_until < self.active_from:
            raise ValidationError({"active_until": "The end is before the start."})


class SlaClock(models.Model):
    class Kind(models.TextChoices):
        FIRST_RESPONSE = "first_response", "First response"
        NEXT_RESPONSE = "next_response", "Next response"
        RESOLUTION = "resolution", "Resolution"

    class State(models.TextChoices):
        RUNNING = "running", "Running"
        PAUSED = "paused", "Paused"
        MET = "met", "Met"
        STOPPED = "stopped", "Stopped"

    ACTIVE_STATES = (State.RUNNING, State.PAUSED)

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="sla_clocks")
    department = models.ForeignKey(
        Department, on_delete=models.PROTECT, related_name="+", help_text="Who held the ticket."
    )
    policy = models.ForeignKey(SlaPolicy, null=True, blank=True, on_delete=models.SET_NULL)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    state = models.CharField(max_length=10, choices=State.choices, default=State.RUNNING)
    target_seconds = models.PositiveIntegerField()
    warning_percents = models.JSONField(default=list)
    started_at = models.DateTimeField()
    # Business seconds used before `running_since` (the start of the current run).
    consumed_seconds = models.PositiveIntegerField(default=0)
    running_since = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True)
    # When the last warning threshold is reached (the ticket is "at risk" from then on).
    at_risk_at = models.DateTimeField(null=True, blank=True)
    # The next warning or breach instant after `checked_until` while running: the sweep's
    # only entry point. Instants up to `checked_until` have been handled by the sweep.
    next_check_at = models.DateTimeField(null=True, blank=True)
    checked_until = models.DateTimeField(null=True, blank=True)
    met_at = models.DateTimeField(null=True, blank=True)
    breached_at = models.DateTimeField(null=True, blank=True)
    stopped_at = models.DateTimeField(null=True, blank=True)
    stop_reason = models.CharField(max_length=200, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "SLA clock"
        ordering = ["started_at", "id"]
        indexes = [
            models.Index(
                fields=["next_check_at"],
                name="slaclock_next_check",
                condition=models.Q(next_check_at__isnull=False),
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["ticket", "kind"],
                condition=models.Q(state__in=["running", "paused"]),
                name="slaclock_one_active_per_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.ticket_id} ({self.state})"


class SlaSegment(models.Model):
    """One stretch of a clock: running, or paused with a reason, and who held the ticket."""

    class State(models.TextChoices):
        RUNNING = "running", "Running"
        PAUSED = "paused", "Paused"

    clock = models.ForeignKey(SlaClock, on_delete=models.CASCADE, related_name="segments")
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="+")
    state = models.CharField(max_length=10, choices=State.choices)
    reason = models.CharField(max_length=100, blank=True)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    business_seconds = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        verbose_name = "SLA segment"
        ordering = ["started_at", "id"]

    def __str__(self) -> str:
        return f"{self.get_state_display()} from {self.started_at:%Y-%m-%d %H:%M} UTC"

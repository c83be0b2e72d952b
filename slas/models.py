"""Business calendars, SLA policies, and the SLA clocks of tickets.

A clock's deadline is computed when the ticket changes (slas/services.py) and stored,
with the next instant at which something must happen (`next_check_at`, in a narrow
schedule row of its own) under a partial index, so finding what is due is one cheap
indexed query whatever the number of tickets.
"""

from __future__ import annotations

import zoneinfo
from datetime import datetime, time

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Value
from django.db.models.functions import Cast, Ln
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


# The business-time bucket of a met clock (`consumed_seconds`): a 32nd of a natural
# logarithm's unit wide, so one bucket's values lie within 3.2 % of each other (about
# 550 buckets up to a year of business seconds). The dashboards find the bucket holding
# a percentile's rank from per-bucket counts, then rank only that bucket's clocks
# (dashboards/clock_figures.py); the expression and its SQL (what the queries write,
# matched to the index by PostgreSQL's planner) must stay the same.
CONSUMED_BUCKET = Cast(
    Ln(Cast("consumed_seconds", models.FloatField()) + Value(1.0)) * Value(32.0),
    models.IntegerField(),
)
CONSUMED_BUCKET_SQL = "(ln(consumed_seconds::double precision + 1.0) * 32.0)::integer"

# The ticket's columns a clock copies when it finishes (SlaClock.finished_*).
FINISHED_GROUPS = (
    "finished_requesting_department",
    "finished_request_type",
    "finished_assignee",
    "finished_priority",
)


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

    # No database constraint on the ticket or the department here, on a segment's clock
    # and department, on the idle timer's ticket and department, or on an audit event's
    # ticket: filing writes them all with the ticket, and PostgreSQL checked each at
    # commit (a query, and a KEY SHARE lock on the row just inserted or on the department
    # row that the filing's number-taking UPDATE already locks): twelve checks, 9 % of
    # PostgreSQL's instructions per API filing (5.12 -> 4.66 million; its backend under
    # callgrind). These rows are written only by the services, with the ticket they belong
    # to or under its row lock; their department is the ticket's (whose own constraint
    # stays) or one it was transferred from (PROTECT, enforced by the ORM as before);
    # tickets and clocks are never deleted but through the ORM (no admin deletes them),
    # whose cascade removes these rows, as for SlaEvent below.
    ticket = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, related_name="sla_clocks", db_constraint=False
    )
    # No index on department or policy: every index is rewritten each time the sweep
    # moves `next_check_at` on (an indexed column, so no HOT update), and nothing looks
    # clocks up by either (deleting a department or policy is rare enough to scan).
    department = models.ForeignKey(
        Department,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        db_constraint=False,
        help_text="Who held the ticket.",
    )
    policy = models.ForeignKey(
        SlaPolicy, null=True, blank=True, on_delete=models.SET_NULL, db_index=False
    )
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
    # The next check and the highest warning recorded live in the clock's SlaSchedule row
    # (the properties below read and set them there).
    met_at = models.DateTimeField(null=True, blank=True)
    breached_at = models.DateTimeField(null=True, blank=True)
    stopped_at = models.DateTimeField(null=True, blank=True)
    stop_reason = models.CharField(max_length=200, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)
    # The ticket as it was when the clock finished (met or stopped; set by the SLA
    # services' `_finish`, cleared with `met_at` when a reopened ticket's resolution
    # clock runs on): the lead dashboard's breakdowns count a finished clock by who held
    # it, at which priority, for which request type and requesting department at that
    # moment, not as the ticket is now. Copied, so the dashboards read the period's
    # clocks from one covering index without joining them to their tickets. No indexes
    # of their own (see `department`).
    finished_requesting_department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.SET_NULL, db_index=False,
        related_name="+",
    )  # fmt: skip
    finished_request_type = models.ForeignKey(
        RequestType, null=True, blank=True, on_delete=models.SET_NULL, db_index=False,
        related_name="+",
    )  # fmt: skip
    finished_assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        db_index=False, related_name="+",
    )  # fmt: skip
    finished_priority = models.PositiveSmallIntegerField(
        choices=Priority.choices, null=True, blank=True
    )

    class Meta:
        verbose_name = "SLA clock"
        ordering = ["started_at", "id"]
        indexes = [
            # The dashboards: a department's clocks that finished in a period (met, or
            # stopped after a breach), with everything they count and group by: an
            # index-only range read (dashboards/selectors.py, dashboards/map.py).
            models.Index(
                fields=["department", "met_at"],
                name="slaclock_dept_met_groups",
                condition=models.Q(state="met"),
                include=["kind", "consumed_seconds", "breached_at", *FINISHED_GROUPS],
            ),
            # The same clocks by business-time bucket: one bucket's met clocks of a
            # period, index-only (the exact percentiles, dashboards/clock_figures.py).
            models.Index(
                F("department"),
                CONSUMED_BUCKET,
                F("met_at"),
                name="slaclock_dept_met_buckets",
                condition=models.Q(state="met"),
                include=["kind", "consumed_seconds", *FINISHED_GROUPS],
            ),
            models.Index(
                fields=["department", "stopped_at"],
                name="slaclock_dept_late_groups",
                condition=models.Q(state="stopped", breached_at__isnull=False),
                include=["kind", *FINISHED_GROUPS],
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

    @property
    def sweep_schedule(self) -> SlaSchedule:
        """The clock's schedule row: loaded (or, for a clock being built, made) once."""
        try:
            return self.schedule
        except SlaSchedule.DoesNotExist:
            self.schedule = SlaSchedule(clock=self)
            return self.schedule

    @property
    def next_check_at(self) -> datetime | None:
        """The next warning or breach instant while running (None: nothing ahead). Set
        only with the checks it is the first of (slas/services.py `_schedule`)."""
        return self.sweep_schedule.next_check_at

    @property
    def warned_percent(self) -> int:
        """The highest warning threshold recorded (0: none yet); with `breached_at`, what
        is still ahead survives re-targeting, pauses and reopening."""
        return self.sweep_schedule.warned_percent

    @warned_percent.setter
    def warned_percent(self, value: int) -> None:
        self.sweep_schedule.warned_percent = value


class SlaSchedule(models.Model):
    """When the sweep must next look at a clock, what it will find then, and how far it
    has got: one narrow row per clock, apart from the wide SlaClock row.

    `checks` holds the running clock's upcoming warnings and breach with their instants
    (slas/checks.py), computed by the clock services whenever they change the clock
    (slas/services.py `_schedule`, the one place that computes them); so the sweep does
    no business-time math and reads nothing but these rows. The sweep claims them
    (`FOR UPDATE SKIP LOCKED`), records what has come due, and moves `next_check_at` to
    the next stored instant, marking `warned_percent` and `breached`; it never writes
    the clock (the services copy a recorded breach onto it, `breached_at`, when the run
    ends). Moving `next_check_at` is never a HOT update (it is indexed), so every index
    of the row's table gets a new entry and its page a new tuple: here a short tuple
    and two indexes.

    The copied fields are written only by `copy_clock`, which the clock services call
    whenever they write a clock (slas/services.py `_save`, `sla_clocks_create`,
    `sla_recompute`); SlaClock's properties `next_check_at` and `warned_percent` read and
    set the two fields that live only here.
    """

    clock = models.OneToOneField(
        SlaClock, on_delete=models.CASCADE, primary_key=True, related_name="schedule"
    )
    # The next warning or breach instant while running: the sweep's only entry point.
    next_check_at = models.DateTimeField(null=True, blank=True)
    # The highest warning threshold the sweep (or a service) has recorded (0: none yet).
    warned_percent = models.PositiveSmallIntegerField(default=0)
    # The clock's, copied (no foreign keys: nothing joins on them; no indexes to write).
    ticket_id = models.BigIntegerField(default=0)
    department_id = models.BigIntegerField(default=0)
    kind = models.CharField(max_length=20, blank=True)
    # The running clock's checks still ahead, in order (slas/checks.py encode_checks;
    # empty while paused or finished).
    checks = models.TextField(blank=True)
    # The breach is recorded (by the sweep or a service); once true, stays true.
    breached = models.BooleanField(default=False)

    class Meta:
        verbose_name = "SLA schedule"
        indexes = [
            models.Index(
                fields=["next_check_at"],
                name="slaschedule_next_check",
                condition=models.Q(next_check_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"Schedule of clock {self.clock_id}"

    COPIED = ("ticket_id", "department_id", "kind")

    def copy_clock(self, sla_clock: SlaClock) -> None:
        """Take the clock's current values of what the sweep reads."""
        for name in self.COPIED:
            setattr(self, name, getattr(sla_clock, name))
        self.breached = self.breached or sla_clock.breached_at is not None


class SlaSegment(models.Model):
    """One stretch of a clock: running, or paused with a reason, and who held the ticket."""

    class State(models.TextChoices):
        RUNNING = "running", "Running"
        PAUSED = "paused", "Paused"

    # No database constraints (see SlaClock.ticket).
    clock = models.ForeignKey(
        SlaClock, on_delete=models.CASCADE, related_name="segments", db_constraint=False
    )
    department = models.ForeignKey(
        Department, on_delete=models.PROTECT, related_name="+", db_constraint=False
    )
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


# --- Escalations ----------------------------------------------------------------------


class EscalationRule(models.Model):
    """What a department does when a ticket's SLA is at risk, breached, or the ticket has
    had no update for a while. Rules run in level order; each has one or more actions."""

    class Trigger(models.TextChoices):
        WARNING = "warning", "Warning threshold reached"
        BREACH = "breach", "Target breached"
        NO_UPDATE = "no_update", "No update for a number of business hours"

    department = models.ForeignKey(
        Department, on_delete=models.CASCADE, related_name="escalation_rules"
    )
    name = models.CharField(max_length=120)
    level = models.PositiveSmallIntegerField(
        default=1,
        help_text="Escalation level (1 first). Rules fired by the same event run in level "
        "order; the ticket shows the highest level reached.",
    )
    is_active = models.BooleanField(default=True)
    trigger = models.CharField(max_length=20, choices=Trigger.choices)
    clock_kind = models.CharField(
        "target",
        max_length=20,
        choices=SlaClock.Kind.choices,
        blank=True,
        help_text="Which target the rule watches (empty: any). Not used for “no update”.",
    )
    warning_percent = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="For warnings: fire at this threshold of the policy only (empty: at every "
        "threshold).",
    )
    idle_hours = models.DecimalField(
        "no update for (business hours)",
        max_digits=6,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="For “no update”: business hours since the last public reply or status "
        "change on an open ticket (new or open; not while waiting on the requester).",
    )
    request_types = models.ManyToManyField(
        RequestType, blank=True, related_name="+", help_text="Empty: every request type."
    )
    priorities = models.JSONField(default=list, blank=True, help_text="Empty: every priority.")
    requesting_departments = models.ManyToManyField(
        Department, blank=True, related_name="+", help_text="Empty: requests from anywhere."
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["department__name", "level", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(trigger="no_update") | models.Q(idle_hours__gt=0),
                name="escalation_no_update_has_hours",
            ),
        ]

    def __str__(self) -> str:
        return f"L{self.level} {self.name}"

    @property
    def idle_seconds(self) -> int:
        return int((self.idle_hours or 0) * 3600)

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.trigger == self.Trigger.NO_UPDATE:
            if not self.idle_hours or self.idle_hours <= 0:
                errors["idle_hours"] = "Say after how many business hours without an update."
            if self.clock_kind:
                errors["clock_kind"] = "“No update” does not watch an SLA target; leave it empty."
        elif self.idle_hours:
            errors["idle_hours"] = "Only “no update” rules count hours without an update."
        if self.warning_percent is not None:
            if self.trigger != self.Trigger.WARNING:
                errors["warning_percent"] = "Only warning rules have a threshold."
            elif not 1 <= self.warning_percent <= 99:
                errors["warning_percent"] = "A threshold is between 1 and 99 percent."
        bad = [p for p in self.priorities or [] if p not in Priority.values]
        if bad:
            errors["priorities"] = "Choose priorities from the list."
        if errors:
            raise ValidationError(errors)


class EscalationAction(models.Model):
    """One thing a rule does. Run by a worker after the sweep records the event."""

    class Kind(models.TextChoices):
        NOTIFY = "notify", "Notify"
        REASSIGN = "reassign", "Reassign"
        RAISE_PRIORITY = "raise_priority", "Raise priority by one step"
        ADD_WATCHER = "add_watcher", "Add a watcher"
        INTERNAL_NOTE = "internal_note", "Post an internal note"

    class Target(models.TextChoices):
        ASSIGNEE = "assignee", "The assignee"
        LEADS = "leads", "The department's lead(s)"
        REQUESTER = "requester", "The requester"
        REQUESTER_MANAGER = "requester_manager", "The requester's manager (or home lead)"
        PERSON = "person", "A named person"
        CHAT = "chat", "The department's chat channel"
        AUTOMATIC = "automatic", "Automatic assignment"

    NOTIFY_TARGETS = (
        Target.ASSIGNEE,
        Target.LEADS,
        Target.REQUESTER,
        Target.REQUESTER_MANAGER,
        Target.PERSON,
        Target.CHAT,
    )
    REASSIGN_TARGETS = (Target.PERSON, Target.LEADS, Target.AUTOMATIC)

    rule = models.ForeignKey(EscalationRule, on_delete=models.CASCADE, related_name="actions")
    position = models.PositiveSmallIntegerField(default=0)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    target = models.CharField(
        max_length=20,
        choices=Target.choices,
        blank=True,
        help_text="Who is notified, or who gets the ticket (reassign).",
    )
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="For “a named person”, and the watcher to add.",
    )
    text = models.TextField(
        blank=True, help_text="The internal note, or a line added to the notification."
    )

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.target_label}".strip()

    @property
    def target_label(self) -> str:
        """“the assignee”, “the department's lead(s)”, ... (empty without a target)."""
        label = str(self.get_target_display()) if self.target else ""
        return label[:1].lower() + label[1:]

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.kind == self.Kind.NOTIFY and self.target not in self.NOTIFY_TARGETS:
            errors["target"] = "Choose who is notified."
        elif self.kind == self.Kind.REASSIGN and self.target not in self.REASSIGN_TARGETS:
            errors["target"] = "Reassign to a named person, the lead or automatic assignment."
        elif self.kind not in (self.Kind.NOTIFY, self.Kind.REASSIGN) and self.target:
            errors["target"] = "This action has no target; leave it empty."
        needs_person = self.target == self.Target.PERSON or self.kind == self.Kind.ADD_WATCHER
        if needs_person and self.person_id is None:
            errors["person"] = "Choose the person."
        if self.kind == self.Kind.INTERNAL_NOTE and not self.text.strip():
            errors["text"] = "Write the note."
        if errors:
            raise ValidationError(errors)


class IdleTimer(models.Model):
    """When an open ticket last had a public update, and when the sweep must next look at
    it for the department's “no update” rules."""

    # No database constraints (see SlaClock.ticket).
    ticket = models.OneToOneField(
        Ticket,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="idle_timer",
        db_constraint=False,
    )
    department = models.ForeignKey(
        Department, on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    since = models.DateTimeField(help_text="The last public update.")
    # The largest idle time (seconds) the sweep has recorded since `since` (0: none).
    fired_seconds = models.PositiveIntegerField(default=0)
    next_check_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["next_check_at"],
                name="idletimer_next_check",
                condition=models.Q(next_check_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"Idle timer of {self.ticket_id}"


class SlaEvent(models.Model):
    """A warning, breach or “no update” the sweep recorded: once per (clock, kind,
    instant), enforced by the database, whatever the number of sweeps or redeliveries."""

    class Kind(models.TextChoices):
        WARNING = "warning", "Warning"
        BREACH = "breach", "Breach"
        NO_UPDATE = "no_update", "No update"

    # Looked up through the indexes below (ticket, instant) and (clock, kind, instant).
    # No database constraint on the ticket or the clock: checking one reads and locks
    # (FOR KEY SHARE) the referenced row of each event at the sweep's commit, a random
    # read, a page write and a full-page WAL image each (measured: the ticket's was the
    # largest commit cost at 1,000,000 open tickets; the clock's 160-370 ms and 7 MB of
    # WAL for 1,000 events once the sweep stopped touching the clock rows). Tickets and
    # clocks are never deleted but through the ORM, whose cascade removes their events;
    # the sweep records events only for clocks of its claimed schedule rows, whose own
    # constraint ties them to real clocks.
    ticket = models.ForeignKey(
        Ticket,
        on_delete=models.CASCADE,
        related_name="sla_events",
        db_index=False,
        db_constraint=False,
    )
    clock = models.ForeignKey(
        SlaClock,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="events",
        db_index=False,
        db_constraint=False,
    )
    # Neither an index nor a database constraint on the department: nothing reads events
    # by department but the admin's filter, every index is an entry more for each of the
    # thousand events a sweep inserts, and the constraint's check at commit read and
    # KEY SHARE-locked a department row per event (a handful of rows every sweep and
    # escalation worker locks: multixacts). A department with clocks cannot be deleted
    # (SlaClock.department is PROTECT); the ORM's cascade removes the events of one that
    # can.
    department = models.ForeignKey(
        Department,
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    kind = models.CharField(max_length=12, choices=Kind.choices)
    # Percent of the target for warnings (100 for a breach); idle seconds for no update.
    threshold = models.PositiveIntegerField()
    instant = models.DateTimeField(help_text="When it happened (the threshold's instant).")
    recorded_at = models.DateTimeField()
    # Rules that matched when it was recorded, run by a worker through the outbox.
    rule_ids = models.JSONField(default=list)
    handled_at = models.DateTimeField(null=True, blank=True)
    outcome = models.TextField(blank=True, help_text="What the escalation rules did.")

    class Meta:
        verbose_name = "SLA event"
        ordering = ["instant", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["clock", "kind", "instant"],
                condition=models.Q(clock__isnull=False),
                name="slaevent_once_per_clock",
            ),
            models.UniqueConstraint(
                fields=["ticket", "kind", "instant"],
                condition=models.Q(clock__isnull=True),
                name="slaevent_once_per_ticket",
            ),
        ]
        indexes = [models.Index(fields=["ticket", "instant"], name="slaevent_ticket")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.ticket_id} at {self.instant:%Y-%m-%d %H:%M}"

"""`manage.py seed_scale --tickets N`: bulk-load N realistic tickets, fast, for benchmarks.

This command deliberately bypasses tickets/services.py. Filing a million tickets through
`ticket_create` would take hours and write a million audit events and several million
outbox emails that a benchmark neither needs nor wants. What the benchmarks need is a
tickets table that looks like a real one to the query planner, so the rows:

- satisfy every constraint (status and priority checks, unique references, foreign keys);
- take references from each department's own sequence, continuing after the tickets that
  already exist, and advance `Department.ticket_sequence` under the same row lock that
  `ticket_create` takes, so later filings never collide;
- snapshot `requesting_department` from the requester's home department, and assign only
  members of the providing department;
- spread `created_at` over two years (weekdays, office hours, slowly growing volume), in
  chronological order so that, within a run, ids follow filing time; old tickets are
  almost all closed or resolved, the open ones mostly recent, with consistent
  first-response, resolution and closing times.

They carry no comments, audit events, watchers or attachments. On PostgreSQL rows go in
with COPY, batch by batch; on SQLite with bulk_create.

For the SLA sweep benchmarks (bench/sweep.py): `--open` makes every ticket loaded new or
open (a desk with a million tickets in progress), and `--clocks` then gives every new or
open ticket without an active clock running SLA clocks from its department's policy (a
resolution clock, and a first-response clock while nobody has answered), plus an idle
timer for the "no update" rules, all in bulk (COPY), computed with the same business-time
functions as the services (slas/checks.py `pending_checks`, slas/idle.py). Each clock's
current run starts at the seeding instant with a random share (0-45%) of its target
already used (as after a pause), so every next check lies ahead: the first warning, over
the next few business days. No segments or ticket deadline copies are written (the sweep
reads neither). `--tickets 0 --clocks` only lays clocks. If the database has no
departments yet, the demo organisation is created first (without demo tickets), and the
workforce is topped up to --employees people so that tickets spread over many requesters.
"""

from __future__ import annotations

import io
import json
import math
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import User
from slas.clock import add_business_time
from tickets.management.demo_data import DEPARTMENTS, REQUEST_TYPES, RequestTypeSpec, Story
from tickets.management.demo_org import (
    HEADCOUNT_WEIGHTS,
    add_employees,
    create_demo_org,
    extra_answers,
)
from tickets.markdown import render_markdown
from tickets.models import Department, Membership, Priority, RequestType, Ticket

Status = Ticket.Status

COLUMNS = (
    "reference", "department_id", "request_type_id", "requesting_department_id",
    "requester_id", "created_by_id", "assignee_id", "title", "description",
    "description_html", "extra", "priority", "status", "created_at", "updated_at",
    "status_changed_at", "first_response_at", "resolved_at", "closed_at", "reopen_count",
)  # fmt: skip
# --clocks: running clocks (without met_at, breached_at, stopped_at) and idle timers.
CLOCK_COLUMNS = (
    "id", "ticket_id", "department_id", "policy_id", "kind", "state", "target_seconds",
    "warning_percents", "started_at", "consumed_seconds", "running_since", "due_at",
    "at_risk_at", "stop_reason", "updated_at",
)  # fmt: skip
SCHEDULE_COLUMNS = (
    "clock_id", "next_check_at", "warned_percent", "ticket_id", "department_id", "kind",
    "checks", "breached",
)  # fmt: skip
# A large company has departments that only ask: they file requests to the eight
# serving departments and have no queue of their own (no request types, no agents).
REQUESTING_ONLY = (
    ("LEG", "Legal"), ("OPS", "Operations"), ("LOG", "Logistics"), ("RND", "Research"),
    ("PRC", "Procurement"), ("EXE", "Executive office"),
)  # fmt: skip
# Where the added employees sit, hence who files most: most in Sales, Support and
# Engineering, few in the executive office.
HEADCOUNT = {
    **HEADCOUNT_WEIGHTS, "LEG": 2, "OPS": 14, "LOG": 9, "RND": 7, "PRC": 2, "EXE": 1,
}  # fmt: skip
TIMER_COLUMNS = ("ticket_id", "department_id", "since", "fired_seconds", "next_check_at")


class Command(BaseCommand):
    help = "Bulk-load N realistic tickets for benchmarks (bypasses the services on purpose)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tickets", type=int, required=True, help="How many to add.")
        parser.add_argument("--batch", type=int, default=10_000, help="Rows per batch.")
        parser.add_argument(
            "--employees", type=int, default=2_000,
            help="Top the workforce up to this many people first (default 2,000).",
        )  # fmt: skip
        parser.add_argument("--years", type=float, default=2.0, help="Spread (default 2).")
        parser.add_argument("--seed", type=int, default=1, help="Random seed.")
        parser.add_argument(
            "--open", action="store_true", help="Every ticket loaded is new or open."
        )
        parser.add_argument(
            "--clocks", action="store_true",
            help="Then lay running SLA clocks and idle timers for new and open tickets.",
        )  # fmt: skip
        parser.add_argument(
            "--history", action="store_true",
            help="Then lay the SLA clocks and surveys of the tickets that have no clocks "
            "(finished clocks, survey invitations, responses and follow-ups).",
        )  # fmt: skip

    def handle(self, *args: Any, **options: Any) -> None:
        count, batch_size = options["tickets"], options["batch"]
        if options["clocks"] and options["history"]:
            raise CommandError("--clocks and --history are two different databases.")
        if (
            count < 0
            or batch_size < 1
            or (count == 0 and not (options["clocks"] or options["history"]))
        ):
            raise CommandError("--tickets and --batch must be positive.")
        rng = random.Random(options["seed"])
        self._ensure_organisation(employees=options["employees"], rng=rng)
        if count:
            self._load(count=count, batch_size=batch_size, options=options, rng=rng)
        if options["clocks"]:
            self._lay_clocks(now=timezone.now().replace(microsecond=0), rng=rng)
        if options["history"]:
            from tickets.management.seed_history import lay_history

            lay_history(now=timezone.now().replace(microsecond=0), rng=rng, out=self.stdout)

    def _load(
        self, *, count: int, batch_size: int, options: dict[str, Any], rng: random.Random
    ) -> None:
        catalogue = Catalogue.load(rng)
        catalogue.open_only = options["open"]

        now = timezone.now().replace(microsecond=0)
        start = now - timedelta(days=365 * options["years"])
        vendor = connection.vendor
        self.stdout.write(
            f"Loading {count:,} tickets on {vendor} ({len(catalogue.requesters):,} requesters, "
            f"{sum(map(len, catalogue.request_types.values()))} request types), "
            f"{batch_size:,} per batch..."
        )
        interactive = self.stdout.isatty()
        started = time.monotonic()
        done = 0
        times = _filing_times(count=count, start=start, end=now, rng=rng)
        while done < count:
            batch = [next(times) for _ in range(min(batch_size, count - done))]
            with transaction.atomic():
                rows = catalogue.rows(filed=batch, now=now, rng=rng)
                if vendor == "postgresql":
                    _copy_rows(rows)
                else:
                    Ticket.objects.bulk_create(
                        [Ticket(**dict(zip(COLUMNS, row, strict=True))) for row in rows],
                        batch_size=2_000,
                    )
            done += len(batch)
            elapsed = time.monotonic() - started
            if interactive or done == count or done // batch_size % 10 == 0:
                progress = f"  {done:>11,} / {count:,}  {done / elapsed:,.0f} tickets/s"
                self.stdout.write(progress, ending="\r" if interactive else "\n")
                self.stdout.flush()
        elapsed = time.monotonic() - started
        if interactive:
            self.stdout.write("")
        if vendor == "postgresql":
            self.stdout.write("VACUUM ANALYZE (statistics and visibility map for the planner)...")
            analysed = time.monotonic()
            with connection.cursor() as cursor:
                cursor.execute(f"VACUUM ANALYZE {Ticket._meta.db_table}")
                # The people and memberships added above too: autovacuum may not have
                # got to them, and a planner that thinks there are 150 users joins badly.
                for model in (User, Membership, Department):
                    cursor.execute(f"ANALYZE {model._meta.db_table}")
            self.stdout.write(f"  done in {time.monotonic() - analysed:.1f} s")
        self.stdout.write(
            self.style.SUCCESS(
                f"Added {count:,} tickets in {elapsed:.1f} s ({count / elapsed:,.0f}/s); "
                f"the table now has {Ticket.objects.count():,}."
            )
        )

    def _lay_clocks(self, *, now: datetime, rng: random.Random) -> None:
        """Running SLA clocks and idle timers for the new and open tickets that have none
        (see the module docstring): computed here, written with COPY (PostgreSQL only)."""
        if connection.vendor != "postgresql":
            raise CommandError("--clocks needs PostgreSQL (it writes with COPY).")
        from slas.checks import encode_checks, pending_checks
        from slas.idle import idle_seconds_for, next_idle_check
        from slas.models import IdleTimer, SlaClock, SlaSchedule
        from slas.services import calendars_for
        from tickets.management.seed_history import PolicyLookup

        calendars = calendars_for(Department.objects.values_list("pk", flat=True))
        idle_durations = {pk: idle_seconds_for(pk) for pk in calendars}
        policies = PolicyLookup(now=now)
        started = time.monotonic()
        after_id, clocks_laid, timers_laid = 0, 0, 0
        sql = f"""
            SELECT t.id, t.department_id, t.request_type_id, t.requesting_department_id,
                   t.priority, t.created_at, t.first_response_at,
                   NOT EXISTS (SELECT 1 FROM {SlaClock._meta.db_table} c
                               WHERE c.ticket_id = t.id AND c.state IN ('running', 'paused')),
                   NOT EXISTS (SELECT 1 FROM {IdleTimer._meta.db_table} i
                               WHERE i.ticket_id = t.id)
            FROM {Ticket._meta.db_table} t
            WHERE t.status IN ('new', 'open') AND t.id > %s
            ORDER BY t.id LIMIT 20000
        """  # noqa: S608
        while True:
            with connection.cursor() as cursor:
                cursor.execute(sql, [after_id])
                tickets = cursor.fetchall()
            if not tickets:
                break
            after_id = tickets[-1][0]
            clocks: list[tuple[Any, ...]] = []
            timers: list[tuple[Any, ...]] = []
            for (
                pk, department_id, type_id, requesting_id, priority, created, first_response,
                without_clock, without_timer,
            ) in tickets:  # fmt: skip
                calendar = calendars[department_id]
                if without_timer:
                    durations = idle_durations[department_id]
                    next_idle = next_idle_check(
                        since=now, fired_seconds=0, durations=durations, calendar=calendar
                    )
                    timers.append((pk, department_id, now, 0, next_idle))
                if not without_clock or not calendar.has_working_time:
                    continue
                policy = policies.find(department_id, type_id, requesting_id, priority)
                if policy is None:
                    continue
                kinds = [(SlaClock.Kind.RESOLUTION, policy.resolution_minutes * 60)]
                if first_response is None:
                    kinds.append((SlaClock.Kind.FIRST_RESPONSE, policy.first_response_minutes * 60))
                warnings = policy.warning_list
                for kind, target in kinds:
                    used = int(target * rng.uniform(0.0, 0.45))
                    checks = pending_checks(
                        target=target,
                        used=used,
                        running_since=now,
                        warning_percents=warnings,
                        warned_percent=0,
                        breached=False,
                        calendar=calendar,
                    )
                    last_warning = max(warnings, default=100)
                    clocks.append(
                        (
                            None, pk, department_id, policy.pk, str(kind), "running", target,
                            json.dumps(warnings), created, used, now,
                            add_business_time(now, target - used, calendar),
                            add_business_time(
                                now, max(target * last_warning // 100 - used, 0), calendar
                            ),
                            "", now, (checks[0].instant, encode_checks(checks)),
                        )
                    )  # fmt: skip
            with transaction.atomic():
                # Ids drawn first, for the clocks' schedule rows (the sweep's next check).
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT nextval(pg_get_serial_sequence(%s, 'id')) "
                        "FROM generate_series(1, %s)",
                        [SlaClock._meta.db_table, len(clocks)],
                    )
                    ids = [row[0] for row in cursor.fetchall()]
                # The schedule's copy of the clock (SlaSchedule.COPIED) and its checks
                # ahead, not yet warned or breached.
                schedules = [
                    (pk, row[-1][0], 0, row[1], row[2], row[4], row[-1][1], False)
                    for pk, row in zip(ids, clocks, strict=True)
                ]
                clocks = [(pk, *row[1:-1]) for pk, row in zip(ids, clocks, strict=True)]
                _copy_table(SlaClock._meta.db_table, CLOCK_COLUMNS, clocks)
                _copy_table(SlaSchedule._meta.db_table, SCHEDULE_COLUMNS, schedules)
                _copy_table(IdleTimer._meta.db_table, TIMER_COLUMNS, timers)
            clocks_laid += len(clocks)
            timers_laid += len(timers)
            self.stdout.write(
                f"  clocks {clocks_laid:>11,}  idle timers {timers_laid:>11,}  "
                f"({time.monotonic() - started:.0f} s)"
            )
            self.stdout.flush()
        with connection.cursor() as cursor:
            for model in (SlaClock, SlaSchedule, IdleTimer):
                cursor.execute(f"VACUUM ANALYZE {model._meta.db_table}")
        self.stdout.write(
            self.style.SUCCESS(
                f"Laid {clocks_laid:,} running SLA clocks and {timers_laid:,} idle timers in "
                f"{time.monotonic() - started:.1f} s."
            )
        )

    def _ensure_organisation(self, *, employees: int, rng: random.Random) -> None:
        if not Department.objects.exists():
            self.stdout.write("No departments yet: creating the demo organisation first.")
            # Unusable passwords: a benchmark database is no place for known ones.
            # Use `manage.py changepassword <username>` to look around as someone.
            create_demo_org(password=None)
            for code, name in REQUESTING_ONLY:
                Department.objects.create(code=code, name=name)
        missing = employees - User.objects.filter(is_active=True).count()
        if missing > 0:
            agents = add_employees(count=missing, rng=rng, headcount_weights=HEADCOUNT)
            self.stdout.write(f"Added {missing:,} employees ({agents} of them agents).")
        if not Membership.objects.exists():
            raise CommandError("No department has members to assign tickets to.")


# --- Where tickets go and what they say ------------------------------------------------


def _copy_text(value: str) -> str:
    """Escape a value for COPY's text format."""
    return (
        value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    )


@dataclass
class TypeTexts:
    """A request type with its stories, pre-rendered once (markdown is the slow part)."""

    request_type: RequestType
    spec: RequestTypeSpec | None
    stories: list[tuple[Story, str, str]]  # (story, description, description_html)


class Catalogue:
    """Everything a row is drawn from: departments, types, members, requesters."""

    def __init__(self) -> None:
        self.departments: dict[int, Department] = {}
        self.department_ids: list[int] = []
        self.department_weights: list[float] = []
        self.request_types: dict[int, list[TypeTexts]] = {}
        self.members: dict[int, list[int]] = {}
        self.requesters: list[tuple[int, int | None, int | None]] = []  # (id, home, manager)
        self.requester_weights: list[float] = []
        self.open_only = False  # --open: every ticket new or open

    @classmethod
    def load(cls, rng: random.Random) -> Catalogue:
        self = cls()
        specs = {(c, s.name): s for c, specs in REQUEST_TYPES.items() for s in specs}
        weights = {d.code: d.weight for d in DEPARTMENTS}
        for membership in Membership.objects.filter(user__is_active=True).order_by("pk"):
            self.members.setdefault(membership.department_id, []).append(membership.user_id)
        request_types = RequestType.objects.filter(
            is_active=True, department__is_active=True
        ).select_related("department")
        for request_type in request_types.order_by("pk"):
            department = request_type.department
            if department.pk not in self.members:
                continue
            spec = specs.get((department.code, request_type.name))
            stories = list(spec.stories) if spec else [_generic_story(request_type)]
            texts = [(s, s.description, render_markdown(s.description)) for s in stories]
            self.request_types.setdefault(department.pk, []).append(
                TypeTexts(request_type=request_type, spec=spec, stories=texts)
            )
            self.departments[department.pk] = department
        if not self.request_types:
            raise CommandError("No active request type in a department with members.")
        self.department_ids = sorted(self.request_types)
        self.department_weights = [
            weights.get(self.departments[pk].code, 5) for pk in self.department_ids
        ]
        # A few people file many requests, most file a handful (a long-tailed spread).
        for user_id, home, manager in (
            User.objects.filter(is_active=True)
            .order_by("pk")
            .values_list("pk", "home_department_id", "manager_id")
        ):
            self.requesters.append((user_id, home, manager))
            self.requester_weights.append(rng.lognormvariate(0, 1.2))
        return self

    def rows(self, *, filed: list[datetime], now: datetime, rng: random.Random) -> list[tuple]:
        """One batch of rows in COLUMNS order, references taken from the locked sequences."""
        departments = {
            d.pk: d
            for d in Department.objects.select_for_update().filter(pk__in=self.department_ids)
        }
        department_ids = rng.choices(self.department_ids, self.department_weights, k=len(filed))
        requesters = rng.choices(self.requesters, self.requester_weights, k=len(filed))
        rows = []
        for created, department_id, requester in zip(
            filed, department_ids, requesters, strict=True
        ):
            department = departments[department_id]
            department.ticket_sequence += 1
            rows.append(
                self._row(
                    created=created,
                    department=department,
                    requester=requester,
                    now=now,
                    rng=rng,
                )
            )
        for department in departments.values():
            Department.objects.filter(pk=department.pk).update(
                ticket_sequence=department.ticket_sequence
            )
        return rows

    def _row(
        self,
        *,
        created: datetime,
        department: Department,
        requester: tuple[int, int | None, int | None],
        now: datetime,
        rng: random.Random,
    ) -> tuple:
        types = self.request_types[department.pk]
        texts = rng.choices(types, [t.spec.weight if t.spec else 3 for t in types])[0]
        story, description, description_html = rng.choice(texts.stories)
        request_type = texts.request_type
        extra = extra_answers(texts.spec, story, created.date(), rng) if texts.spec else {}
        requester_id, home_id, manager_id = requester
        created_by_id = requester_id
        if manager_id and rng.random() < 0.03:
            created_by_id = manager_id  # filed on the requester's behalf
        priority = request_type.default_priority
        if rng.random() < 0.15:
            priority = min(Priority.URGENT, max(Priority.LOW, priority + rng.choice((-1, 1))))
        life = _lifecycle(created, now, department.auto_close_days, rng, open_only=self.open_only)
        members = self.members[department.pk]
        unassigned = life.status in (Status.NEW, Status.CANCELLED) and rng.random() < 0.5
        return (
            f"{department.code}-{department.ticket_sequence}",
            department.pk,
            request_type.pk,
            home_id,
            requester_id,
            created_by_id,
            None if unassigned else rng.choice(members),
            story.title,
            description,
            description_html,
            extra,
            priority,
            life.status,
            created,
            life.updated_at,
            life.status_changed_at,
            life.first_response_at,
            life.resolved_at,
            life.closed_at,
            life.reopen_count,
        )


def _generic_story(request_type: RequestType) -> Story:
    """For request types an admin added that the demo catalogue doesn't know."""
    return Story(
        title=f"{request_type.name}: request",
        description=request_type.description or f"A request for {request_type.department}.",
    )


# --- Time ------------------------------------------------------------------------------


def _filing_times(
    *, count: int, start: datetime, end: datetime, rng: random.Random
) -> Iterator[datetime]:
    """`count` filing instants between start and end, in order: weekdays carry most of
    the volume, office hours most of the day, and volume grows by half over the span."""
    days = max(1, (end.date() - start.date()).days + 1)
    day_weights = []
    for n in range(days):
        day = start.date() + timedelta(days=n)
        weekday_factor = 1.0 if day.weekday() < 5 else 0.12
        day_weights.append(weekday_factor * (0.8 + 0.4 * n / days))
    total = sum(day_weights)
    allotted = 0.0
    emitted = 0
    for n, weight in enumerate(day_weights):
        allotted += count * weight / total
        today = round(allotted) - emitted if n < days - 1 else count - emitted
        if today <= 0:
            continue
        emitted += today
        day = start.date() + timedelta(days=n)
        midnight = datetime(day.year, day.month, day.day, tzinfo=UTC)
        latest = min(86_400.0, (end - midnight).total_seconds())
        seconds = []
        for _ in range(today):
            # Mostly 07:00-19:00, peaking mid-day; clamp today's to before `end`.
            second = (7 + 12 * rng.betavariate(2.2, 2.2)) * 3600 + rng.uniform(-1800, 1800)
            seconds.append(min(max(second, 0.0), latest - 1))
        for second in sorted(seconds):
            yield midnight + timedelta(seconds=int(second))


@dataclass
class Life:
    status: str
    updated_at: datetime
    status_changed_at: datetime
    first_response_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    reopen_count: int


def _hours(rng: random.Random, median_hours: float, spread: float = 1.0) -> timedelta:
    return timedelta(hours=median_hours * math.exp(rng.gauss(0, spread)))


def _lifecycle(
    created: datetime,
    now: datetime,
    auto_close_days: int,
    rng: random.Random,
    *,
    open_only: bool = False,
) -> Life:
    """Where a ticket filed at `created` plausibly is by `now`, with consistent times
    (`open_only`: new or open, whatever its age)."""
    age_days = (now - created).total_seconds() / 86_400
    r = rng.random()
    if open_only:
        status = Status.NEW if r < 0.3 else Status.OPEN
    elif age_days > 30:
        # Old: almost everything is finished; a few forgotten ones linger.
        status = (
            Status.CLOSED if r < 0.955 else
            Status.CANCELLED if r < 0.995 else
            Status.OPEN if r < 0.998 else
            Status.WAITING if r < 0.9995 else
            Status.NEW
        )  # fmt: skip
    elif age_days > 7:
        status = (
            Status.CLOSED if r < 0.74 else
            Status.CANCELLED if r < 0.78 else
            Status.RESOLVED if r < 0.84 else
            Status.OPEN if r < 0.93 else
            Status.WAITING if r < 0.98 else
            Status.NEW
        )  # fmt: skip
    else:
        status = (
            Status.NEW if r < 0.2 else
            Status.OPEN if r < 0.5 else
            Status.WAITING if r < 0.62 else
            Status.RESOLVED if r < 0.85 else
            Status.CLOSED if r < 0.93 else
            Status.CANCELLED
        )  # fmt: skip
    latest = now - timedelta(minutes=1)

    def clamp(t: datetime, floor: datetime) -> datetime:
        return max(floor, min(t, latest))

    if status == Status.NEW:
        return Life(status, created, created, None, None, None, 0)
    if status == Status.CANCELLED:
        closed = clamp(created + _hours(rng, 2), created)
        return Life(status, closed, closed, None, None, closed, 0)
    first_response = clamp(created + _hours(rng, 3, 1.2), created)
    if status in (Status.OPEN, Status.WAITING):
        changed = clamp(first_response + _hours(rng, 20, 1.2), first_response)
        return Life(status, changed, changed, first_response, None, None, 0)
    reopened = 1 if rng.random() < 0.06 else 0
    resolved = clamp(first_response + _hours(rng, 30, 1.3), first_response)
    if status == Status.RESOLVED:
        # Still resolved means it hasn't waited out the department's auto-close period.
        if auto_close_days and (now - resolved).days >= auto_close_days:
            resolved = clamp(now - timedelta(days=rng.uniform(0, auto_close_days)), first_response)
        return Life(status, resolved, resolved, first_response, resolved, None, reopened)
    # Closed: automatically after the waiting period, or by an agent before it.
    closed = resolved + timedelta(days=auto_close_days or 1, minutes=rng.uniform(0, 60))
    if closed > latest:
        closed = clamp(resolved + _hours(rng, 4), resolved)
    return Life(status, closed, closed, first_response, resolved, closed, reopened)


# --- Writing ---------------------------------------------------------------------------


def _copy_rows(rows: list[tuple]) -> None:
    """COPY one batch into the tickets table (PostgreSQL)."""
    _copy_table(Ticket._meta.db_table, COLUMNS, rows)


def _copy_table(table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """COPY rows (tuples in `columns` order) into a table (PostgreSQL)."""
    if not rows:
        return
    buffer = io.StringIO()
    write = buffer.write
    for row in rows:
        fields = []
        for value in row:
            if value is None:
                fields.append("\\N")
            elif isinstance(value, str):
                fields.append(_copy_text(value))
            elif isinstance(value, datetime):
                fields.append(value.isoformat())
            elif isinstance(value, dict):
                fields.append(_copy_text(json.dumps(value, separators=(",", ":"))))
            else:
                fields.append(str(value))
        write("\t".join(fields))
        write("\n")
    buffer.seek(0)
    sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    with connection.cursor() as cursor:
        raw = cursor.cursor  # the driver's cursor, under Django's wrapper
        if hasattr(raw, "copy_expert"):  # psycopg2
            raw.copy_expert(sql, buffer)
        else:  # psycopg 3
            with raw.copy(sql) as copy:
                copy.write(buffer.getvalue())

"""The write path: filing a ticket through `tickets.services.ticket_create`, with and
without SLA clocks, and `sla_recompute` over many open tickets with clocks.

Everything goes through the services, on the benchmark's PostgreSQL database (the one
with 1,000,000 seeded tickets), in process, one filing at a time: validation, the
department row lock and reference, the ticket, its audit events, automatic assignment,
the outbox rows for the notifications, the ticket hook (SLA clocks) and, after commit,
publishing the outbox delivery tasks to the broker (kombu's filesystem broker under
var/bench here: the embedded default). No HTTP, no API serializers.

Three variants, filed in turns (one of each per round, so a slow spell of the shared
machine hits all three alike):

- **tickets only**: the SLA hook unregistered for the filing, to see what SLA adds;
- **SLA hook, no policy**: a department without a calendar or policy (the hook looks
  for a policy and finds none);
- **SLA policy + calendar**: a department with a Berlin split-shift calendar (Berlin's
  holidays), a department-wide policy and an urgent-priority one: two clocks started,
  each with its segment and its deadlines computed.

The bench departments (BENCHSLA, BENCHNOSLA), their request type, agents, calendar and
policies are created on first use and reused. Requesters are the seeded employees, many
of them, so no one person's ticket count grows much (the queue benchmark picks its
heavy requester by count). The open tickets with clocks that `sla_recompute` works on are
filed through `ticket_create` too, the first time only (`--sla-tickets`, default 20,000).

Budget (DESIGN.md): API ticket creation >= 300/s sustained on two cores, p95 <= 100 ms.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import time as clock_time
from pathlib import Path

from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import User
from bench.clock import SPLIT_SHIFT, berlin_holidays, pct
from servicedesk.celery import app as celery_app
from slas.models import BusinessCalendar, Holiday, SlaClock, SlaPolicy, WorkingInterval
from slas.services import sla_recompute
from tickets import hooks
from tickets.models import Department, Membership, Priority, RequestType, Ticket
from tickets.services import ticket_create

TITLE = "Filing a ticket (write path) and SLA recompute"
WARM_UP = 10
CAPTURED = 10  # further filings per variant under CaptureQueriesContext
CPU_FILINGS = 100  # filings per variant in a row, for the CPU time they cost
FILERS = (1, 4)  # processes filing at once for the sustained rate
SUSTAINED_SECONDS = 10.0
BUDGET_PER_SECOND = 300
BUDGET_P95_MS = 100.0
CALENDAR_NAME = "Bench: Berlin split shift"
AGENTS = ("bench.agent1", "bench.agent2", "bench.agent3")
TITLES = (
    "Laptop does not wake from sleep",
    "Access to the shared drive for the new starter",
    "Expense report rejected without a reason",
    "Meeting room screen stays black",
    "Payslip shows the wrong tax class",
    "VPN drops every few minutes",
    "Order two monitors for the design team",
    "Contract renewal needs a second signature",
)
DESCRIPTION = (
    "Since this morning it happens **every time** I try.\n\n"
    "- What I did: followed the usual steps\n"
    "- What I expected: it works as last week\n\n"
    "Could someone have a look today? Thanks!"
)


@dataclass
class Variant:
    name: str
    request_type: RequestType
    with_hook: bool
    times_ms: list[float] = field(default_factory=list)
    first_ms: float = 0.0
    queries: int = 0
    db_ms: float = 0.0
    clocks: float = 0.0  # clocks started per filing
    django_cpu_ms: float = 0.0  # CPU time per filing: this process
    postgres_cpu_ms: float = 0.0  # CPU time per filing: its PostgreSQL backend
    sustained: list[Sustained] = field(default_factory=list)


def run(options: argparse.Namespace) -> str:
    rng = random.Random(options.seed)
    started = time.monotonic()
    purged = _purge_broker()
    sla_type, plain_type = _ensure_setup()
    requesters = _requesters()
    seeded = _ensure_open_sla_tickets(sla_type, requesters, rng, options.sla_tickets)
    variants = [
        Variant("Tickets only (SLA hook unregistered)", plain_type, with_hook=False),
        Variant("SLA hook, department without policy", plain_type, with_hook=True),
        Variant("SLA policy + split-shift calendar", sla_type, with_hook=True),
    ]
    for variant in variants:  # the first filing of each, in a process that is warm otherwise
        variant.first_ms = _file(variant, requesters, rng)
    for _ in range(WARM_UP - 1):
        for variant in variants:
            _file(variant, requesters, rng)
    for _ in range(options.filings):
        for variant in variants:
            variant.times_ms.append(_file(variant, requesters, rng))
    for variant in variants:
        _capture(variant, requesters, rng)
        _cpu_time(variant, requesters, rng)
        print(
            f"  {variant.name:<40} p50 {pct(variant.times_ms, 50):6.1f} ms  "
            f"p95 {pct(variant.times_ms, 95):6.1f} ms  queries {variant.queries}  CPU "
            f"{variant.django_cpu_ms:.1f} + {variant.postgres_cpu_ms:.1f} ms",
            flush=True,
        )
    purged += _purge_broker()
    for variant in (variants[0], variants[2]):
        for filers in FILERS:
            result = _sustained(variant, [r.pk for r in requesters], options.seed, filers)
            variant.sustained.append(result)
            print(f"  {variant.name:<40} {result.describe()}", flush=True)
    recompute = _measure_recompute(options.sla_tickets)
    purged += _purge_broker()
    return _report(variants, recompute, seeded, purged, time.monotonic() - started)


# --- Setup (idempotent) ---------------------------------------------------------------


def _ensure_setup() -> tuple[RequestType, RequestType]:
    """The two bench departments with a request type each; (with SLA, without)."""
    with transaction.atomic():
        calendar, created = BusinessCalendar.objects.get_or_create(
            name=CALENDAR_NAME, defaults={"time_zone": "Europe/Berlin"}
        )
        if created:
            WorkingInterval.objects.bulk_create(
                WorkingInterval(
                    calendar=calendar,
                    weekday=weekday,
                    start=_time_of(start),
                    end=_time_of(end),
                )
                for weekday, start, end in SPLIT_SHIFT
            )
            Holiday.objects.bulk_create(
                Holiday(calendar=calendar, date=day, name="Public holiday (Berlin)")
                for day in sorted(berlin_holidays(range(2024, 2041)))
            )
        agents = [_agent(username) for username in AGENTS]
        sla = _department("BENCHSLA", "Bench desk with SLA", calendar, agents)
        plain = _department("BENCHNOSLA", "Bench desk without SLA", None, agents)
        if not SlaPolicy.objects.filter(department=sla).exists():
            SlaPolicy.objects.create(
                name="Bench: standard",
                department=sla,
                first_response_minutes=4 * 60,
                resolution_minutes=3 * 450,  # three working days of 7.5 h
            )
            SlaPolicy.objects.create(
                name="Bench: urgent",
                department=sla,
                priority=Priority.URGENT,
                first_response_minutes=60,
                resolution_minutes=450,
            )
        return _request_type(sla), _request_type(plain)


def _time_of(second: int) -> clock_time:
    return clock_time(second // 3600, second % 3600 // 60)


def _agent(username: str) -> User:
    """An agent of both bench departments, with an email address (assignment mails one)."""
    user, created = User.objects.get_or_create(
        username=username,
        defaults={
            "first_name": "Bench",
            "last_name": username.rsplit(".", 1)[-1].title(),
            "email": f"{username}@example.com",
        },
    )
    if created:
        user.set_unusable_password()
        user.save()
    elif not user.email:
        user.email = f"{username}@example.com"
        user.save(update_fields=["email"])
    return user


def _department(
    code: str, name: str, calendar: BusinessCalendar | None, agents: list[User]
) -> Department:
    department, _ = Department.objects.get_or_create(
        code=code,
        defaults={
            "name": name,
            "calendar": calendar,
            "assignment": Department.Assignment.ROUND_ROBIN,
        },
    )
    for agent in agents:
        Membership.objects.get_or_create(
            user=agent, department=department, defaults={"role": Membership.Role.AGENT}
        )
    return department


def _request_type(department: Department) -> RequestType:
    request_type, _ = RequestType.objects.get_or_create(
        department=department, name="Bench request", defaults={"description": "For bench/."}
    )
    return request_type


def _requesters() -> list[User]:
    return list(
        User.objects.filter(is_active=True, home_department__isnull=False)
        .exclude(username__startswith="bench.")
        .order_by("pk")[:1500]
    )


def _ensure_open_sla_tickets(
    request_type: RequestType, requesters: list[User], rng: random.Random, wanted: int
) -> int:
    """File open tickets with clocks until the SLA department holds `wanted`; return how
    many were filed now (0 when a previous run left enough)."""
    have = Ticket.objects.filter(
        department_id=request_type.department_id, status__in=Ticket.OPEN_STATUSES
    ).count()
    missing = wanted - have
    if missing <= 0:
        print(f"{have:,} open tickets with SLA clocks in BENCHSLA (>= {wanted:,}); reused.")
        return 0
    print(f"Filing {missing:,} tickets with SLA clocks through ticket_create (first run only)...")
    started = time.monotonic()
    for done in range(1, missing + 1):
        ticket_create(
            created_by=(requester := rng.choice(requesters)),
            requester=requester,
            request_type=request_type,
            title=rng.choice(TITLES),
            description=DESCRIPTION,
            priority=rng.choice(Priority.values),
        )
        if done % 2000 == 0:
            print(f"  {done:,} filed ({done / (time.monotonic() - started):.0f}/s)", flush=True)
            _purge_broker()
    return missing


def _purge_broker() -> int:
    """Drop the outbox delivery tasks the filings published: no worker runs here, the
    rows stay in the outbox, and the broker folder (var/bench) would only grow."""
    return celery_app.control.purge() or 0


# --- Measuring ------------------------------------------------------------------------


@contextmanager
def _sla_hook_unregistered(active: bool) -> Iterator[None]:
    if not active:
        yield
        return
    saved = list(hooks._listeners)
    hooks._listeners.clear()
    try:
        yield
    finally:
        hooks._listeners[:] = saved


def _file(variant: Variant, requesters: list[User], rng: random.Random) -> float:
    requester = rng.choice(requesters)
    title = rng.choice(TITLES)
    # Mostly normal priority, now and then urgent (its own, more specific policy).
    priority = Priority.URGENT if rng.random() < 0.1 else None
    with _sla_hook_unregistered(not variant.with_hook):
        started = time.perf_counter()
        ticket_create(
            created_by=requester,
            requester=requester,
            request_type=variant.request_type,
            title=title,
            description=DESCRIPTION,
            priority=priority,
        )
        return (time.perf_counter() - started) * 1000


def _capture(variant: Variant, requesters: list[User], rng: random.Random) -> None:
    counts, db_times = [], []
    before = SlaClock.objects.filter(ticket__request_type=variant.request_type).count()
    for _ in range(CAPTURED):
        with CaptureQueriesContext(connection) as captured:
            _file(variant, requesters, rng)
        counts.append(len(captured.captured_queries))
        db_times.append(sum(float(q["time"]) for q in captured.captured_queries) * 1000)
    after = SlaClock.objects.filter(ticket__request_type=variant.request_type).count()
    variant.queries = max(counts)
    variant.db_ms = statistics.median(db_times)
    variant.clocks = (after - before) / CAPTURED if variant.with_hook else 0.0


def _backend_cpu_seconds() -> float:
    """CPU time so far of this connection's PostgreSQL backend (same machine)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def _cpu_time(variant: Variant, requesters: list[User], rng: random.Random) -> None:
    """CPU per filing, Django and PostgreSQL, over a run of filings of one variant. Unlike
    wall time this does not count waiting for a core, so it says what the machine can
    sustain when nothing else runs. (PostgreSQL's background writers are not counted.)"""
    postgres, django = _backend_cpu_seconds(), time.process_time()
    for _ in range(CPU_FILINGS):
        _file(variant, requesters, rng)
    django = time.process_time() - django
    postgres = _backend_cpu_seconds() - postgres
    variant.django_cpu_ms = django * 1000 / CPU_FILINGS
    variant.postgres_cpu_ms = postgres * 1000 / CPU_FILINGS


@dataclass
class Sustained:
    filers: int
    seconds: float
    times_ms: list[float]

    @property
    def rate(self) -> float:
        return len(self.times_ms) / self.seconds

    def describe(self) -> str:
        return (
            f"{self.filers} filers: {self.rate:.0f}/s, p50 {pct(self.times_ms, 50):.1f} ms, "
            f"p95 {pct(self.times_ms, 95):.1f} ms"
        )


def _sustained(variant: Variant, requester_ids: list[int], seed: int, filers: int) -> Sustained:
    """`filers` processes file into the variant's department for SUSTAINED_SECONDS."""
    connections.close_all()  # each forked process opens its own connection
    start_at = time.time() + 1.0
    work = [
        (variant.request_type.pk, variant.with_hook, requester_ids, seed + n, start_at)
        for n in range(filers)
    ]
    with multiprocessing.get_context("fork").Pool(filers) as pool:
        results = pool.map(_filer, work)
    return Sustained(filers, SUSTAINED_SECONDS, [t for times in results for t in times])


def _filer(work: tuple[int, bool, list[int], int, float]) -> list[float]:
    request_type_id, with_hook, requester_ids, seed, start_at = work
    rng = random.Random(seed)
    variant = Variant("", RequestType.objects.get(pk=request_type_id), with_hook)
    requesters = list(User.objects.filter(pk__in=requester_ids))
    time.sleep(max(0.0, start_at - time.time()))
    times = []
    while time.time() < start_at + SUSTAINED_SECONDS:
        times.append(_file(variant, requesters, rng))
    connections.close_all()
    return times


@dataclass
class Recompute:
    clocks: int
    open_tickets: int
    seconds: float


def _measure_recompute(sla_tickets: int) -> Recompute:
    """`sla_recompute` over the newest active clocks, two per open SLA ticket wanted (its
    `after_id` skips the older ones), so the time does not grow as runs add tickets."""
    open_tickets = Ticket.objects.filter(
        department__code="BENCHSLA", status__in=Ticket.OPEN_STATUSES
    ).count()
    newest = SlaClock.objects.filter(state__in=SlaClock.ACTIVE_STATES).order_by("-pk")
    ids = list(newest.values_list("pk", flat=True)[: 2 * sla_tickets])
    started = time.monotonic()
    clocks = sla_recompute(now=timezone.now(), after_id=ids[-1] - 1 if ids else 0)
    seconds = time.monotonic() - started
    print(f"  sla_recompute: {clocks:,} clocks in {seconds:.1f} s ({clocks / seconds:,.0f}/s)")
    return Recompute(clocks, open_tickets, seconds)


# --- Report ---------------------------------------------------------------------------


def _report(
    variants: list[Variant], recompute: Recompute, seeded: int, purged: int, seconds: float
) -> str:
    base, hook, sla = variants
    lines = [
        f"{Ticket.objects.count():,} tickets in the database. {len(base.times_ms)} timed "
        f"filings per variant, in turns, after {WARM_UP} warm-up filings each; one at a "
        "time, in process (`ticket_create`, DEBUG off). Queries and DB time from "
        f'{CAPTURED} further filings each under CaptureQueriesContext; "first filing" is '
        "each variant's first in the process (templates, policy and calendar not loaded "
        "yet; the calendar's windows not built); CPU per filing from "
        f"{CPU_FILINGS} more in a row (this process's CPU time, and its PostgreSQL "
        "backend's from /proc). Requesters drawn from "
        f"{len(_requesters()):,} employees; one filing in ten is urgent. "
        f"{seeded:,} open SLA tickets filed by this run for the recompute"
        f"{' (the rest reused)' if seeded else ' (all reused)'}; {purged:,} broker messages "
        f"purged afterwards (no worker runs). Whole benchmark: {seconds:.0f} s.",
        "",
        "| Variant | n | p50 ms | p95 ms | p99 ms | max ms | first filing ms | DB ms (p50) "
        "| queries | clocks started | CPU ms: Django + PostgreSQL |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for v in variants:
        lines.append(
            f"| {v.name} | {len(v.times_ms)} | {pct(v.times_ms, 50):.1f} | "
            f"{pct(v.times_ms, 95):.1f} | {pct(v.times_ms, 99):.1f} | {max(v.times_ms):.1f} | "
            f"{v.first_ms:.1f} | {v.db_ms:.1f} | {v.queries} | {v.clocks:g} | "
            f"{v.django_cpu_ms:.1f} + {v.postgres_cpu_ms:.1f} |"
        )
    lines += [
        "",
        "Sustained: processes filing at once into one department (forked, each with its "
        f"own connection) for {SUSTAINED_SECONDS:.0f} s. Each filing takes the "
        "department's row lock for its ticket number first and holds it until commit:",
        "",
        "| Variant | processes | filings/s | p50 ms | p95 ms | p95 ≤ 100 ms | ≥ 300/s |",
        "|---|--:|--:|--:|--:|:-:|:-:|",
    ]
    for v in variants:
        for run in v.sustained:
            lines.append(
                f"| {v.name} | {run.filers} | {run.rate:.0f} | {pct(run.times_ms, 50):.1f} | "
                f"{pct(run.times_ms, 95):.1f} | "
                f"{'yes' if pct(run.times_ms, 95) <= BUDGET_P95_MS else '**no**'} | "
                f"{'yes' if run.rate >= BUDGET_PER_SECOND else '**no**'} |"
            )
    base50, base95 = pct(base.times_ms, 50), pct(base.times_ms, 95)
    sla50, sla95 = pct(sla.times_ms, 50), pct(sla.times_ms, 95)
    hook50 = pct(hook.times_ms, 50)
    base_cpu = base.django_cpu_ms + base.postgres_cpu_ms
    sla_cpu = sla.django_cpu_ms + sla.postgres_cpu_ms
    rate = recompute.clocks / recompute.seconds
    lines += [
        "",
        f"**SLA overhead, one filing at a time**: +{sla50 - base50:.1f} ms at p50 "
        f"({(sla50 - base50) / base50:.0%} of a filing without it), +{sla95 - base95:.1f} ms "
        f"at p95, +{sla.queries - base.queries} queries ({base.queries} → {sla.queries}), "
        f"+{sla_cpu - base_cpu:.1f} ms CPU ({(sla_cpu - base_cpu) / base_cpu:.0%}). The hook "
        f"alone, in a department with no policy, costs +{hook50 - base50:.1f} ms and "
        f"+{hook.queries - base.queries} queries.",
        "",
        f"**Against the budget** (≥ {BUDGET_PER_SECOND}/s on two cores, p95 ≤ "
        f"{BUDGET_P95_MS:.0f} ms): a filing with SLA costs {sla_cpu:.1f} ms of CPU "
        f"(Django + PostgreSQL), so two cores doing nothing else could file about "
        f"{2000 / sla_cpu:.0f}/s ({2000 / base_cpu:.0f}/s without SLA), before HTTP, "
        "authentication and serializers, which the API adds and this does not measure.",
        "",
        f"**sla_recompute** (the newest {recompute.clocks:,} active clocks, of "
        f"{recompute.open_tickets:,} open tickets with clocks in BENCHSLA; batches of 1,000, "
        f"each its own transaction): {recompute.seconds:.1f} s, {rate:,.0f} clocks/s. At "
        f"that rate 1,000,000 open tickets with two clocks each take "
        f"{2_000_000 / rate / 60:.0f} min.",
    ]
    return "\n".join(lines)

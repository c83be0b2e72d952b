"""The lead dashboard (and the department map) over a large company's history.

Server time of the real views through Django's test client, signed in as a lead of the
busiest department: the request, the session and user loaded from the database, the
view, its queries and the template (or the CSV), everything except the network and the
HTTP server. One client at a time.

The database is its own (`servicedesk_bench_dash` beside the main benchmark database,
see `_database_url`): the history the dashboards read (finished SLA clocks, survey
invitations, answers and follow-ups) is laid by `seed_scale --history`, which the agent
queue's database does not need. Created, migrated and seeded when missing; a second
run reuses it.

Target (DESIGN.md, issue 6): p95 <= 200 ms with 2,000,000 tickets.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import unquote, urlparse, urlunparse

from bench.measure import capture, explain

TITLE = "Lead dashboard and department map"
TARGET_P95_MS = 200.0
WARM_UP = 5
CAPTURED = 10  # requests per scenario run again under CaptureQueriesContext
SLOW_MS = 500.0  # a scenario this slow in warm-up gets fewer timed requests
SLOW_REQUESTS = 10
EXPLAINED = 3  # the slowest queries of the slowest scenario shown with their plans


@dataclass
class Scenario:
    name: str
    path: Callable[[random.Random], str]


@dataclass
class Result:
    scenario: Scenario
    times_ms: list[float]
    queries: int
    db_ms: float  # median time in SQL per request (captured pass)
    slowest: list[tuple[float, str]]  # (ms, sql) of the captured pass, slowest first
    python_cpu_ms: float  # CPU of this process per timed request (mean)
    backend_cpu_ms: float  # CPU of the PostgreSQL backend serving it per request (mean)

    def pct(self, p: float) -> float:
        ordered = sorted(self.times_ms)
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def own_database_url(options: argparse.Namespace) -> str:
    """`<main benchmark database>_dash` (bench/run.py starts Django on it when this
    benchmark runs alone)."""
    parts = urlparse(options.database_url)
    name = unquote(parts.path.lstrip("/"))
    return urlunparse(parts._replace(path=f"/{name}_dash"))


def run(options: argparse.Namespace) -> str:
    use_own_database(own_database_url(options))
    from django.core.management import call_command

    from tickets.models import Ticket

    wanted = options.dashboard_tickets
    have = Ticket.objects.count()
    if have < wanted:
        print(f"The dashboards' database has {have:,} tickets; adding {wanted - have:,}.")
        call_command("seed_scale", tickets=wanted - have, batch=20_000)
    call_command("seed_scale", tickets=0, history=True)  # only tickets without clocks
    rollup = _rollup()
    _vacuum()
    rng = random.Random(options.seed)
    setup = _Setup.pick()
    setup.rollup = rollup
    print(setup.describe())
    results = [_measure(s, setup, options.requests, rng) for s in setup.scenarios()]
    return _report(setup, results, options)


def _vacuum() -> None:
    """VACUUM ANALYZE the tables the dashboards read: a migration that rewrote their rows
    (slas 0010 fills the clocks' finished_* columns) leaves the visibility map empty, and
    until autovacuum comes by every index-only scan reads the table too. Cheap when
    there is nothing to do."""
    from django.db import connection

    from dashboards.models import BucketSeconds, DailyFigures, StaleDay
    from slas.models import SlaClock
    from surveys.models import SurveyInvitation, SurveyResponse
    from tickets.models import Ticket

    started = time.monotonic()
    # (StaleDay: seeding the history notes millions of days that the first roll-up deletes;
    # until vacuumed, the dashboards' read of it walks their dead index entries: 337 ms.)
    tables = (SlaClock, Ticket, SurveyInvitation, SurveyResponse, DailyFigures, BucketSeconds)
    for model in (*tables, StaleDay):
        with connection.cursor() as cursor:
            cursor.execute(f"VACUUM ANALYZE {model._meta.db_table}")
    print(f"VACUUM ANALYZE of the dashboards' tables: {time.monotonic() - started:.0f} s.")


def _rollup() -> str:
    """Roll up the daily figures (dashboards.daily) as beat would: every day that ended
    ROLL_AFTER ago (a first run rolls the whole history; later runs only what is new or was
    noted stale, as on a live system between two beat runs)."""
    from django.utils import timezone

    from dashboards.daily import daily_rollup
    from dashboards.models import DailyFigures

    started = time.monotonic()
    days = daily_rollup(now=timezone.now())
    took = time.monotonic() - started
    rows = DailyFigures.objects.count()
    line = (
        f"Roll-up before timing: {days:,} department-days in {took:.0f} s ({rows:,} rows stored)."
    )
    print(line)
    return line


def _backend_cpu_seconds() -> float:
    """User + system CPU of the PostgreSQL backend of Django's connection so far, from
    /proc (the server runs on this machine; parallel workers, if a plan used any, are
    other processes and not counted). The connection is persistent (CONN_MAX_AGE), so
    every request of a scenario is served by the same backend."""
    from django.db import connection

    connection.ensure_connection()
    pid = connection.connection.info.backend_pid  # type: ignore[union-attr]
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime, stime


def use_own_database(url: str) -> None:
    """Point Django's default connection at the dashboards' database (created and
    migrated when missing); run.py set Django up on the main benchmark database."""
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connections

    from bench.run import ensure_database

    name = unquote(urlparse(url).path.lstrip("/"))
    if connections["default"].settings_dict["NAME"] == name:
        return  # bench/run.py started on it (and migrated it)
    ensure_database(url)
    connections["default"].close()
    settings.DATABASES["default"]["NAME"] = name
    connections["default"].settings_dict["NAME"] = name
    os.environ["DATABASE_URL"] = url
    call_command("migrate", verbosity=0)


class _Setup:
    """The busiest providing department, one of its leads, the period ends."""

    rollup = ""

    @classmethod
    def pick(cls) -> _Setup:
        from django.db.models import Count
        from django.utils import timezone

        from slas.models import SlaClock
        from surveys.models import SurveyInvitation, SurveyResponse
        from tickets.models import Department, Membership, Ticket
        from tickets.selectors import department_time_zone

        self = cls()
        busiest = Ticket.objects.values("department").annotate(n=Count("id")).order_by("-n")[0]
        self.department = Department.objects.select_related("calendar").get(
            pk=busiest["department"]
        )
        self.department_tickets = busiest["n"]
        lead = Membership.objects.filter(
            department=self.department, role=Membership.Role.LEAD
        ).first()
        if lead is None:
            raise SystemExit(f"bench: department {self.department.code} has no lead.")
        self.lead = lead.user
        self.today = timezone.now().astimezone(department_time_zone(self.department)).date()
        self.tickets = Ticket.objects.count()
        self.clocks = SlaClock.objects.count()
        self.invitations = SurveyInvitation.objects.count()
        self.responses = SurveyResponse.objects.count()
        self.requesting = Ticket.objects.values("requesting_department").distinct().count()
        self.providing = Ticket.objects.values("department").distinct().count()
        self.map_available = _map_available()
        return self

    def describe(self) -> str:
        return (
            f"{self.tickets:,} tickets from {self.requesting} requesting to {self.providing} "
            f"providing departments, {self.clocks:,} SLA clocks, {self.invitations:,} survey "
            f"invitations, {self.responses:,} answers. Department {self.department.code}: "
            f"{self.department_tickets:,} tickets; lead {self.lead.username}. {self.rollup}"
        ).rstrip()

    def period(self, days: int) -> str:
        first = self.today - timedelta(days=days - 1)
        return f"first_day={first.isoformat()}&last_day={self.today.isoformat()}"

    def scenarios(self) -> list[Scenario]:
        lead = f"/dashboard/{self.department.code}/"
        scenarios = [
            Scenario("Lead dashboard, last 30 days (default)", lambda rng: lead),
            Scenario("Lead dashboard, last 90 days", lambda rng: f"{lead}?{self.period(90)}"),
            Scenario("Lead dashboard, last 365 days", lambda rng: f"{lead}?{self.period(365)}"),
            Scenario(
                "Lead dashboard CSV (requesting departments), 30 days",
                lambda rng: f"{lead}?format=csv&table=requesting_departments",
            ),
            Scenario(
                "Lead dashboard CSV (agents), 365 days",
                lambda rng: f"{lead}?format=csv&table=agents&{self.period(365)}",
            ),
        ]
        if self.map_available:
            scenarios += [
                Scenario("Department map, last 30 days", lambda rng: "/dashboard/map/"),
                Scenario(
                    "Department map, last 365 days",
                    lambda rng: f"/dashboard/map/?{self.period(365)}",
                ),
            ]
        return scenarios


def _map_available() -> bool:
    from django.urls import NoReverseMatch, reverse

    try:
        reverse("department_map")
    except NoReverseMatch:  # not on this branch yet
        return False
    return True


def _measure(scenario: Scenario, setup: _Setup, requests: int, rng: random.Random) -> Result:
    from django.test import Client

    client = Client(HTTP_HOST="localhost")
    client.force_login(setup.lead)

    def get(path: str) -> float:
        started = time.perf_counter()
        response = client.get(path)
        if response.status_code != 200:
            raise SystemExit(f"bench: {path} answered {response.status_code}")
        if getattr(response, "streaming", False):
            b"".join(response.streaming_content)  # type: ignore[attr-defined]
        return (time.perf_counter() - started) * 1000

    first = get(scenario.path(rng))
    warm_up = [first] + [
        get(scenario.path(rng)) for _ in range(WARM_UP - 1 if first < SLOW_MS else 1)
    ]
    captured_runs = CAPTURED
    if statistics.mean(warm_up) > SLOW_MS:
        # Far off the target already: fewer requests keep the run short.
        requests, captured_runs = SLOW_REQUESTS, 1
    python_cpu, backend_cpu = time.process_time(), _backend_cpu_seconds()
    times = [get(scenario.path(rng)) for _ in range(requests)]
    python_cpu = (time.process_time() - python_cpu) * 1000 / requests
    backend_cpu = (_backend_cpu_seconds() - backend_cpu) * 1000 / requests
    captured = capture(lambda: get(scenario.path(rng)), captured_runs)
    result = Result(
        scenario, times, captured.queries, captured.db_ms, captured.slowest, python_cpu,
        backend_cpu,
    )  # fmt: skip
    print(
        f"  {scenario.name:<55} p50 {result.pct(50):7.1f} ms  p95 {result.pct(95):7.1f} ms  "
        f"queries {result.queries}  DB {result.db_ms:.1f} ms  CPU {python_cpu:.1f} + "
        f"{backend_cpu:.1f} ms  (n={len(times)})",
        flush=True,
    )
    return result


def _report(setup: _Setup, results: list[Result], options: argparse.Namespace) -> str:
    lines = [
        f"{setup.describe()} {options.requests} timed requests per scenario (n) after "
        f"{WARM_UP} warm-up requests ({SLOW_REQUESTS} after 2 when warm-up already averages "
        f"over {SLOW_MS:.0f} ms); one client, in process (Django test client, template rendered), "
        f"DEBUG off. Queries and DB time from {CAPTURED} further requests under "
        "CaptureQueriesContext. CPU per request: the mean over the timed requests of this "
        "process's CPU time (Python: view, ORM, template) and of the PostgreSQL backend's "
        "serving it (from /proc; 10 ms clock ticks, so small figures are coarse).",
        "",
        "| Scenario | n | p50 ms | p95 ms | p99 ms | max ms | DB ms (p50) | queries "
        f"| CPU Python ms | CPU PostgreSQL ms | p95 ≤ {TARGET_P95_MS:.0f} ms |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|:-:|",
    ]
    for r in results:
        ok = "yes" if r.pct(95) <= TARGET_P95_MS else "**no**"
        lines.append(
            f"| {r.scenario.name} | {len(r.times_ms)} | {r.pct(50):.1f} | {r.pct(95):.1f} | "
            f"{r.pct(99):.1f} | {max(r.times_ms):.1f} | {r.db_ms:.1f} | {r.queries} | "
            f"{r.python_cpu_ms:.1f} | {r.backend_cpu_ms:.1f} | {ok} |"
        )
    if not setup.map_available:
        lines += ["", "The department map (/dashboard/map/) is not on this branch yet."]
    lines.append("")
    worst = max(results, key=lambda r: r.pct(95))
    for ms, sql in worst.slowest[:EXPLAINED]:
        lines += [
            "<details>",
            f"<summary>EXPLAIN (ANALYZE, BUFFERS): {ms:.1f} ms in {worst.scenario.name}</summary>",
            "",
            "```sql",
            sql,
            "```",
            "```",
            explain(sql),
            "```",
            "</details>",
            "",
        ]
    return "\n".join(lines)

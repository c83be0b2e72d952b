"""The agent queue and "My requests" with many tickets: server time per request.

Server time is the time around Django's test client `get()`, in process: URL routing,
middleware (session and user loaded from the database), the view, its queries and the
template, everything except the network and the HTTP server. One client at a time.

Target (DESIGN.md): p95 <= 100 ms, a bounded number of queries per page, and a deep
page (keyset cursor far back) as fast as the first page.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.core.management import call_command
from django.db import connection
from django.db.models import Count, Max, Min, Q
from django.test import Client

from accounts.models import User
from bench.measure import capture, explain
from tickets import selectors
from tickets.models import Department, Membership, Ticket

TITLE = "Agent queue and My requests"
TARGET_P95_MS = 100.0
WARM_UP = 5
CAPTURED = 20  # requests per scenario run again under CaptureQueriesContext
SLOW_MS = 250.0  # a scenario this slow in warm-up gets fewer timed requests


@dataclass
class Scenario:
    name: str
    user: User
    path: Callable[[random.Random], str]  # a fresh URL per request (cursors vary)


@dataclass
class Result:
    scenario: Scenario
    times_ms: list[float]
    queries: int
    db_ms: float  # median time spent in SQL per request (from the captured pass)
    slowest_sql: str

    def pct(self, p: float) -> float:
        ordered = sorted(self.times_ms)
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def run(options: argparse.Namespace) -> str:
    _ensure_tickets(options.tickets)
    rng = random.Random(options.seed)
    setup = _Setup.pick()
    print(setup.describe())
    results = [_measure(s, options.requests, rng) for s in setup.scenarios()]
    return _report(setup, results, options)


def _ensure_tickets(wanted: int) -> None:
    have = Ticket.objects.count()
    if have >= wanted:
        print(f"The benchmark database has {have:,} tickets (>= {wanted:,}); not seeding.")
        return
    print(f"The benchmark database has {have:,} tickets; adding {wanted - have:,}.")
    call_command("seed_scale", tickets=wanted - have)


class _Setup:
    """Who asks for what: the busiest department, its busiest agent, a heavy requester."""

    department: Department
    agent: User
    requester: User
    requester_tickets: int
    requesting_department: Department
    word: str
    word_matches: int
    department_tickets: int
    active_tickets: int
    ids: tuple[int, int]  # the department's smallest and largest ticket id
    requester_ids: tuple[int, int]

    @classmethod
    def pick(cls) -> _Setup:
        self = cls()
        busiest = Ticket.objects.values("department").annotate(n=Count("id")).order_by("-n")[0]
        self.department = Department.objects.get(pk=busiest["department"])
        self.department_tickets = busiest["n"]
        mine = Ticket.objects.filter(department=self.department)
        self.active_tickets = mine.filter(status__in=Ticket.OPEN_STATUSES).count()
        agent_ids = Membership.objects.filter(
            department=self.department, role=Membership.Role.AGENT
        ).values("user")
        top_agent = (
            mine.filter(assignee__in=agent_ids)
            .values("assignee")
            .annotate(n=Count("id"))
            .order_by("-n")[0]
        )
        self.agent = User.objects.get(pk=top_agent["assignee"])
        top_requester = Ticket.objects.values("requester").annotate(n=Count("id")).order_by("-n")[0]
        self.requester = User.objects.get(pk=top_requester["requester"])
        self.requester_tickets = top_requester["n"]
        other = (
            mine.exclude(requesting_department=self.department)
            .values("requesting_department")
            .annotate(n=Count("id"))
            .order_by("-n")[0]
        )
        self.requesting_department = Department.objects.get(pk=other["requesting_department"])
        # A word from the department's most common recent title, as an agent would search.
        recent_titles = list(mine.order_by("-id").values_list("title", flat=True)[:2000])
        common = statistics.mode(recent_titles)
        self.word = max(common.split(), key=len).strip(".,:;!?'\"").lower()
        self.word_matches = mine.filter(title__icontains=self.word).count()
        span = mine.aggregate(low=Min("id"), high=Max("id"))
        self.ids = (span["low"], span["high"])
        # References of old tickets, as someone looking up last year's request types them.
        low, high = self.ids
        self.old_references = [
            mine.filter(id__gte=int(low + (high - low) * k / 200)).order_by("id")[0].reference
            for k in range(20)
        ]
        self.foreign_word = self._foreign_word(recent_titles)
        own = Ticket.objects.filter(Q(requester=self.requester) | Q(created_by=self.requester))
        span = own.aggregate(low=Min("id"), high=Max("id"))
        self.requester_ids = (span["low"], span["high"])
        return self

    def _foreign_word(self, recent_titles: Iterable[str]) -> str:
        """A word common in another department's titles and absent from this one's, as
        when an agent searches the wrong queue: nothing matches."""
        own_words = {w.strip(".,:;!?'\"()").lower() for t in recent_titles for w in t.split()}
        others = (
            Ticket.objects.exclude(department=self.department)
            .values("department")
            .annotate(n=Count("id"))
            .order_by("-n")
        )
        for other in others:
            titles = Ticket.objects.filter(department=other["department"]).order_by("-id")
            for title in titles.values_list("title", flat=True)[:2000]:
                for word in sorted(title.split(), key=len, reverse=True):
                    word = word.strip(".,:;!?'\"()").lower()
                    if len(word) >= 4 and word.isalpha() and word not in own_words:
                        return word
        return "zzzz"

    def describe(self) -> str:
        return (
            f"Department {self.department.code}: {self.department_tickets:,} tickets, "
            f"{self.active_tickets:,} active. Agent {self.agent.username}; heavy requester "
            f"{self.requester.username} ({self.requester_tickets:,} tickets); requesting "
            f"department {self.requesting_department.code}; search word {self.word!r} "
            f"({self.word_matches:,} titles in the department), and {self.foreign_word!r} "
            "from another department's titles (none here)."
        )

    def scenarios(self) -> list[Scenario]:
        queue = f"/queue/{self.department.code}/"

        def old_cursor(span: tuple[int, int]) -> Callable[[random.Random], int]:
            low, high = span
            return lambda rng: int(low + (high - low) * rng.uniform(0.0, 0.1))

        deep = old_cursor(self.ids)
        deep_mine = old_cursor(self.requester_ids)
        agent, requester = self.agent, self.requester
        return [
            Scenario("Queue, first page (active)", agent, lambda rng: queue),
            Scenario(
                "Queue, deep page (active, cursor in oldest 10%)",
                agent,
                lambda rng: f"{queue}?after={deep(rng)}",
            ),
            Scenario(
                "Queue, deep page (all statuses, oldest 10%)",
                agent,
                lambda rng: f"{queue}?status=&after={deep(rng)}",
            ),
            Scenario("Queue, status=closed", agent, lambda rng: f"{queue}?status=closed"),
            Scenario(
                "Queue, assignee=me (active)", agent, lambda rng: f"{queue}?assignee={agent.pk}"
            ),
            Scenario(
                f"Queue, requesting dept. {self.requesting_department.code} (active)",
                agent,
                lambda rng: f"{queue}?requesting_department={self.requesting_department.pk}",
            ),
            Scenario(
                f"Queue, search q={self.word} (active)", agent, lambda rng: f"{queue}?q={self.word}"
            ),
            Scenario(
                f"Queue, search q={self.word} (all statuses)",
                agent,
                lambda rng: f"{queue}?status=&q={self.word}",
            ),
            Scenario(
                "Queue, search an old ticket's reference (all statuses)",
                agent,
                lambda rng: f"{queue}?status=&q={rng.choice(self.old_references)}",
            ),
            Scenario(
                f"Queue, search q={self.foreign_word}: no match here (all statuses)",
                agent,
                lambda rng: f"{queue}?status=&q={self.foreign_word}",
            ),
            Scenario(
                "My requests, first page (heavy requester)", requester, lambda rng: "/requests/"
            ),
            Scenario(
                "My requests, deep page (oldest 10%)",
                requester,
                lambda rng: f"/requests/?after={deep_mine(rng)}",
            ),
        ]


def _measure(scenario: Scenario, requests: int, rng: random.Random) -> Result:
    client = Client(HTTP_HOST="localhost")
    client.force_login(scenario.user)

    def get(path: str) -> float:
        started = time.perf_counter()
        response = client.get(path)
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise SystemExit(f"bench: {path} answered {response.status_code}")
        return elapsed

    warm_up = [get(scenario.path(rng)) for _ in range(WARM_UP)]
    captured_runs = CAPTURED
    if statistics.mean(warm_up) > SLOW_MS:
        # Far off the target already: fewer requests keep the whole run under ten minutes.
        requests, captured_runs = max(20, requests // 10), 5
    times = [get(scenario.path(rng)) for _ in range(requests)]
    captured = capture(lambda: get(scenario.path(rng)), captured_runs)
    slowest_sql = captured.slowest[0][1] if captured.slowest else ""
    result = Result(scenario, times, captured.queries, captured.db_ms, slowest_sql)
    print(
        f"  {scenario.name:<60} p50 {result.pct(50):7.1f} ms  p95 {result.pct(95):7.1f} ms  "
        f"queries {result.queries}  (n={len(times)})",
        flush=True,
    )
    return result


def _queue_sql(setup: _Setup, after: int | None) -> str:
    """The queue's main query exactly as keyset_page runs it for the default filter."""
    queryset = selectors.ticket_queue_for_agent(
        user=setup.agent, department=setup.department, filters={"status": "active"}
    )
    if after is not None:
        queryset = queryset.filter(id__lt=after)
    sql, params = queryset.order_by("-id")[: selectors.PAGE_SIZE + 1].query.sql_with_params()
    with connection.cursor() as cursor:
        return cursor.mogrify(sql, params).decode()


def _report(setup: _Setup, results: list[Result], options: argparse.Namespace) -> str:
    lines = [
        f"{Ticket.objects.count():,} tickets. {setup.describe()} "
        f"{options.requests} timed requests per scenario (n) after {WARM_UP} warm-up requests, "
        f"fewer when warm-up already averages over {SLOW_MS:.0f} ms; "
        f"one client, in process (Django test client), DEBUG off. Queries and DB time from "
        f"{CAPTURED} further requests under CaptureQueriesContext.",
        "",
        "| Scenario | n | p50 ms | p95 ms | p99 ms | max ms | DB ms (p50) | queries "
        "| p95 ≤ 100 ms |",
        "|---|--:|--:|--:|--:|--:|--:|--:|:-:|",
    ]
    for r in results:
        ok = "yes" if r.pct(95) <= TARGET_P95_MS else "**no**"
        lines.append(
            f"| {r.scenario.name} | {len(r.times_ms)} | {r.pct(50):.1f} | {r.pct(95):.1f} | "
            f"{r.pct(99):.1f} | {max(r.times_ms):.1f} | {r.db_ms:.1f} | {r.queries} | {ok} |"
        )
    first, deep = results[0], results[1]
    lines += [
        "",
        f"Deep page (active) vs first page, p95: {deep.pct(95) / first.pct(95):.2f}x; "
        f"deep page (all statuses): {results[2].pct(95) / first.pct(95):.2f}x.",
        "",
    ]
    low, high = setup.ids
    deep_cursor = int(low + (high - low) * 0.05)
    plans = [
        ("Queue main query, first page (status active)", _queue_sql(setup, None)),
        (f"Queue main query, deep page (after={deep_cursor})", _queue_sql(setup, deep_cursor)),
    ]
    plans += [
        (f"Slowest query of: {r.scenario.name}", r.slowest_sql)
        for r in results
        if r.pct(95) > TARGET_P95_MS and r.slowest_sql
    ]
    for title, sql in plans:
        lines += [
            "<details>",
            f"<summary>EXPLAIN (ANALYZE, BUFFERS): {title}</summary>",
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

"""The REST API's ticket list at 2,000,000 tickets: the first page and deep cursor pages.

Server time of `GET /api/v1/tickets/` through DRF's test client with a real personal
token (authentication, throttling, the selector, the cursor page, serializers, JSON),
everything except the network and the HTTP server; one client at a time. The database
is the dashboards' (`servicedesk_bench_dash`, 2,000,000 tickets laid by `seed_scale`,
see bench/dashboards.py), the largest this machine keeps.

A deep page is the page a caller reaches by following `next` far enough: its cursor is
made here directly (DRF's cursor is base64 of `p=<position>`), at the 10th, 50th and
90th percentile of the caller's tickets by id. Target (issue 7): deep pages as fast as
the first.
"""

from __future__ import annotations

import argparse
import base64
import statistics
import time
from dataclasses import dataclass
from urllib.parse import urlencode

from bench.dashboards import own_database_url, use_own_database
from bench.measure import capture

__all__ = ["own_database_url", "run"]  # own_database_url: bench/run.py starts on it

TITLE = "REST API: ticket list, first and deep cursor pages"
WARM_UP = 5


@dataclass
class Result:
    name: str
    times_ms: list[float]
    queries: int
    rows: int

    def pct(self, p: float) -> float:
        ordered = sorted(self.times_ms)
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def cursor_at(position: int) -> str:
    return base64.b64encode(urlencode({"p": str(position)}).encode()).decode()


def run(options: argparse.Namespace) -> str:
    use_own_database(own_database_url(options))
    from django.db.models import Count
    from rest_framework.test import APIClient

    from accounts.models import User
    from api.services import api_token_create
    from api.throttling import TokenRateThrottle
    from tickets.models import Ticket

    TokenRateThrottle.rate = "1000000/min"  # type: ignore[attr-defined]
    busiest = Ticket.objects.values("department").annotate(n=Count("pk")).order_by("-n").first()
    if busiest is None:
        raise SystemExit("bench api: the dashboards' database has no tickets; run it first.")
    department_id, department_tickets = busiest["department"], busiest["n"]
    agent = (
        User.objects.filter(memberships__department_id=department_id, is_active=True)
        .order_by("pk")
        .first()
    )
    superuser = User.objects.filter(is_superuser=True).first() or User.objects.create_superuser(
        "bench-api-admin", "bench@example.com", None
    )
    heavy = Ticket.objects.values("requester").annotate(n=Count("pk")).order_by("-n").first()
    requester = User.objects.get(pk=heavy["requester"]) if heavy else agent
    assert agent is not None and requester is not None
    total = Ticket.objects.count()

    def client_for(user: User) -> APIClient:
        _, raw = api_token_create(user=user, name="bench", created_by=user)
        client = APIClient(HTTP_HOST="localhost")
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        return client

    def ids_at(queryset, fractions):  # type: ignore[no-untyped-def]
        count = queryset.count()
        return [
            queryset.order_by("-id").values_list("id", flat=True)[int(f * (count - 1))]
            for f in fractions
        ]

    mine = Ticket.objects.filter(department_id=department_id)
    deep = ids_at(mine, [0.1, 0.5, 0.9])
    everyone = ids_at(Ticket.objects.all(), [0.5, 0.9])
    scenarios = [
        ("Agent of the busiest department: first page", agent, ""),
        *[
            (f"Agent: deep page at {p} of the department's tickets", agent,
             f"cursor={cursor_at(pk)}")
            for p, pk in zip(("10 %", "50 %", "90 %"), deep, strict=True)
        ],
        ("Agent: active tickets, first page", agent, "status=active"),
        ("Agent: active tickets, deep page (50 %)", agent,
         f"status=active&cursor={cursor_at(deep[1])}"),
        ("Superuser (all tickets): first page", superuser, ""),
        ("Superuser: deep page (90 %)", superuser, f"cursor={cursor_at(everyone[1])}"),
        ("Requester with the most tickets: first page", requester, ""),
    ]  # fmt: skip
    results = []
    for name, user, query in scenarios:
        client = client_for(user)
        url = "/api/v1/tickets/" + (f"?{query}" if query else "")

        def get(client: APIClient = client, url: str = url) -> tuple[float, int]:
            started = time.perf_counter()
            response = client.get(url)
            elapsed = (time.perf_counter() - started) * 1000
            if response.status_code != 200:
                raise SystemExit(f"bench api: {url} answered {response.status_code}")
            return elapsed, len(response.json()["results"])

        for _ in range(WARM_UP):
            get()
        times, rows = [], 0
        for _ in range(options.requests):
            elapsed, rows = get()
            times.append(elapsed)
        result = Result(name, times, capture(get, runs=1).queries, rows)
        print(f"  {name:<55} p50 {result.pct(50):7.1f} ms  p95 {result.pct(95):7.1f} ms")
        results.append(result)
    return _report(results, total=total, department_tickets=department_tickets,
                   requests=options.requests)  # fmt: skip


def _report(results: list[Result], *, total: int, department_tickets: int, requests: int) -> str:
    lines = [
        f"{total:,} tickets; the busiest department holds {department_tickets:,}. "
        f"{requests} timed requests per scenario after {WARM_UP} warm-up ones, one client, "
        "in process (DRF test client, a real token), DEBUG off; 50 tickets a page.",
        "",
        "| Scenario | n | rows | p50 ms | p95 ms | p99 ms | queries |",
        "|---|--:|--:|--:|--:|--:|--:|",
    ]
    for r in results:
        lines.append(
            f"| {r.name} | {len(r.times_ms)} | {r.rows} | {r.pct(50):.1f} | {r.pct(95):.1f} "
            f"| {r.pct(99):.1f} | {r.queries} |"
        )
    first = {r.name.split(":")[0]: r for r in results if "first page" in r.name}
    agent_first = first.get("Agent of the busiest department")
    deep = [r for r in results if r.name.startswith("Agent: deep")]
    if agent_first and deep:
        worst = max(statistics.median(r.times_ms) for r in deep)
        lines += [
            "",
            f"**Deep pages against the first** (agent, p50): the slowest deep page "
            f"{worst:.1f} ms against {agent_first.pct(50):.1f} ms for the first, "
            f"x{worst / agent_first.pct(50):.2f}.",
        ]
    return "\n".join(lines) + "\n"

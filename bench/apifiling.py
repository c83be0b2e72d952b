"""Filing tickets through the REST API under load: 20 concurrent clients against
gunicorn on PostgreSQL, the way an integration would.

The database is its own (`<main benchmark database>_apifiling`), created and migrated
when missing, with `make run`'s demo organisation (eight departments, their calendars,
SLA policies and escalation rules) laid once. Each client has its own personal token and
files into request types of the departments with SLA policies (every filing starts
clocks), answering their questions, over HTTP/1.1 on one connection it keeps alive, as
an integration does (http.client connects again only if the server closes it). gunicorn
runs exactly as production runs it: gunicorn.conf.py (threaded workers that keep
connections alive, the access log; `--api-workers` sets WEB_CONCURRENCY), the project's
WSGI app with DEBUG off, the rate limit raised out of the way, the outbox publishing to
a Redis database of the benchmark's own (no Celery worker: delivery is not part of
filing; the queue is emptied afterwards).

Each run: a warm-up, an ANALYZE of the database, then `--api-seconds` of sustained
filing; throughput is the filings answered 201 per second of the timed window, latencies
are the clients'. The ANALYZE stands in for autovacuum's: a production server analyses
a table as it grows (which also makes its connections plan their cached statements,
prepared ones too, again), while on a server running with autovacuum off (this
machine's shared one) every statement of the window would be planned on default
estimates (the fresh database's tables analysed empty, or never). The clients share
this process (threads; http.client), on the same two cores as the server: what an
integration on another host would not cost.

Target (issue 7): >= 300 tickets per second sustained on two cores, p95 <= 100 ms.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import runpy
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse, urlunparse

TITLE = "REST API: filing tickets with 20 concurrent clients (gunicorn, PostgreSQL)"
CLIENTS = 20
WARM_UP_SECONDS = 3.0
TARGET_RATE = 300.0
TARGET_P95_MS = 100.0
ROOT = Path(__file__).resolve().parent.parent
# The Redis database of the bench's own (BENCH_REDIS_DB: engineers sharing one Redis).
REDIS_DB = int(os.environ.get("BENCH_REDIS_DB", "10"))


def own_database_url(options: argparse.Namespace) -> str:
    parts = urlparse(options.database_url)
    name = unquote(parts.path.lstrip("/"))
    return urlunparse(parts._replace(path=f"/{name}_apifiling"))


@dataclass
class Window:
    latencies_ms: list[float] = field(default_factory=list)
    errors: dict[int, int] = field(default_factory=dict)
    # CPU seconds used during the window: gunicorn's workers, their PostgreSQL backends,
    # and this process (the clients).
    server_cpu: dict[str, float] = field(default_factory=dict)
    client_cpu: float = 0.0
    # Filings answered 201 per client: with one kept-alive connection each, a client whose
    # connection sits in a busier process files less in the same window.
    per_client: list[int] = field(default_factory=list)

    def pct(self, p: float) -> float:
        ordered = sorted(self.latencies_ms)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def run(options: argparse.Namespace) -> str:
    from bench.dashboards import use_own_database

    url = own_database_url(options)
    use_own_database(url)
    tokens, request_types = _setup()
    workers = options.api_workers  # 0: gunicorn.conf.py's (production's) default
    port = _free_port()
    server = _start_gunicorn(url=url, port=port, workers=workers)
    try:
        _wait_for(port)
        _file_for(port, tokens, request_types, seconds=WARM_UP_SECONDS)
        _analyze()
        processes = _server_processes(server.pid, url)
        cpu_before = {pid: _cpu_seconds(pid) for pid in processes}
        client_before = time.process_time()
        started = time.perf_counter()
        window = _file_for(port, tokens, request_types, seconds=options.api_seconds)
        elapsed = time.perf_counter() - started
        window.client_cpu = time.process_time() - client_before
        # A thread that served nobody in the warm-up connects to PostgreSQL in the window:
        # its backend counts from its start.
        processes = {**_server_processes(server.pid, url), **processes}
        for pid, kind in processes.items():
            used = _cpu_seconds(pid) - cpu_before.get(pid, 0.0)
            window.server_cpu[kind] = window.server_cpu.get(kind, 0.0) + used
        load = os.getloadavg()
    finally:
        server.terminate()
        server.wait(timeout=30)
        _empty_queue()
    rate = len(window.latencies_ms) / elapsed
    return _report(window, rate=rate, elapsed=elapsed, workers=workers, load=load)


def _analyze() -> None:
    """Statistics of the database as the warm-up left it, as autovacuum's auto-analyze
    keeps a production server's (it analyses a table once a tenth of it changed): with
    autovacuum off, a fresh database's tables were never analysed. gunicorn's connections
    plan their statements again on them (ANALYZE invalidates the plans they cached)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def _setup() -> tuple[list[str], list[tuple[int, dict[str, object]]]]:
    from django.db import transaction

    from accounts.models import User
    from api.models import ApiToken
    from api.services import api_token_create, api_token_revoke
    from slas.models import SlaPolicy
    from tickets.management.demo_org import create_demo_org, demo_org_exists
    from tickets.models import RequestType

    if not demo_org_exists():
        with transaction.atomic():
            create_demo_org(password=None)
    with_policies = SlaPolicy.objects.filter(is_active=True).values("department")
    types = [
        (request_type.pk, _answers(request_type))
        for request_type in RequestType.objects.filter(
            is_active=True, department__in=with_policies
        ).prefetch_related("fields")
    ]
    if not types:
        raise SystemExit("bench apifiling: no request type in a department with SLA policies.")
    people = list(User.objects.filter(is_active=True, is_superuser=False).order_by("pk")[:CLIENTS])
    # Revoke the earlier runs' tokens first: a person may hold 20 active ones.
    for old in ApiToken.objects.filter(user__in=people, name="bench", revoked_at__isnull=True):
        api_token_revoke(token=old, actor=old.user)
    tokens = [api_token_create(user=u, name="bench", created_by=u)[1] for u in people]
    return tokens, types


def _answers(request_type: Any) -> dict[str, object]:
    """A valid answer to each of the type's questions, as a requester would give."""
    from tickets.models import RequestField

    kind = RequestField.Kind
    answers: dict[str, object] = {}
    for question in request_type.fields.all():
        if question.kind == kind.CHOICE:
            answers[question.key] = question.choice_list[0]
        elif question.kind == kind.DATE:
            answers[question.key] = "2027-01-15"
        elif question.kind == kind.NUMBER:
            answers[question.key] = 2
        elif question.kind == kind.YES_NO:
            answers[question.key] = "yes"
        else:
            answers[question.key] = "Benchmark answer"
    return answers


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start_gunicorn(*, url: str, port: int, workers: int) -> subprocess.Popen[bytes]:
    """gunicorn as production runs it (gunicorn.conf.py: workers, threads, keep-alive, the
    access log, here thrown away), on a port of the bench's own."""
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DEBUG": "false",
        "SECRET_KEY": "bench-not-secret-" + "x" * 40,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "API_RATE_LIMIT": "100000000/min",
        "CELERY_BROKER_URL": f"redis://127.0.0.1:6379/{REDIS_DB}",
        # As docker-compose.yml: every process counts each token's requests in Redis.
        "CACHE_URL": f"redis://127.0.0.1:6379/{REDIS_DB}",
    }
    if workers:
        env["WEB_CONCURRENCY"] = str(workers)
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    return subprocess.Popen(
        [gunicorn, "--config", str(ROOT / "gunicorn.conf.py"), "servicedesk.wsgi",
         "--bind", f"127.0.0.1:{port}"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
    )  # fmt: skip


def _server_settings(workers: int) -> dict[str, Any]:
    """gunicorn.conf.py's settings as the server read them (with WEB_CONCURRENCY)."""
    saved = os.environ.get("WEB_CONCURRENCY")
    if workers:
        os.environ["WEB_CONCURRENCY"] = str(workers)
    try:
        return runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    finally:
        if workers:
            if saved is None:
                del os.environ["WEB_CONCURRENCY"]
            else:
                os.environ["WEB_CONCURRENCY"] = saved


def _server_processes(master: int, url: str) -> dict[int, str]:
    """gunicorn's workers ("gunicorn") and the PostgreSQL backends serving this database
    ("postgres"; the workers keep their connections, CONN_MAX_AGE), by pid."""
    from django.db import connection

    found = {master: "gunicorn"}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == master:
                found[int(entry.name)] = "gunicorn"
    name = unquote(urlparse(url).path.lstrip("/"))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            [name],
        )
        found.update({pid: "postgres" for (pid,) in cursor.fetchall()})
    return found


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _wait_for(port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.5)
    raise SystemExit("bench apifiling: gunicorn did not answer in 60 s.")


def _file_for(
    port: int, tokens: list[str], types: list[tuple[int, dict[str, object]]], *, seconds: float
) -> Window:
    window = Window()
    lock = threading.Lock()
    stop_at = time.perf_counter() + seconds

    def client(token: str, seed: int) -> None:
        rng = random.Random(seed)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        mine, errors = [], {}
        n = 0
        while time.perf_counter() < stop_at:
            n += 1
            request_type, extra = rng.choice(types)
            body = json.dumps({
                "request_type": request_type,
                "title": f"Benchmark request {seed}-{n}",
                "description": "Filed by bench/apifiling.py.",
                "extra": extra,
            })  # fmt: skip
            started = time.perf_counter()
            connection.request("POST", "/api/v1/tickets/", body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            elapsed = (time.perf_counter() - started) * 1000
            if response.status == 201:
                mine.append(elapsed)
            else:
                errors[response.status] = errors.get(response.status, 0) + 1
        connection.close()
        with lock:
            window.latencies_ms.extend(mine)
            window.per_client.append(len(mine))
            for status, count in errors.items():
                window.errors[status] = window.errors.get(status, 0) + count

    threads = [threading.Thread(target=client, args=(token, i)) for i, token in enumerate(tokens)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return window


def _empty_queue() -> None:
    import redis

    redis.Redis(host="127.0.0.1", port=6379, db=REDIS_DB).flushdb()


def _spread(counts: list[int]) -> str:
    ordered = sorted(counts)
    if not ordered:
        return "none"
    return f"{ordered[0]}, {ordered[len(ordered) // 2]}, {ordered[-1]}"


def _report(
    window: Window, *, rate: float, elapsed: float, workers: int, load: tuple[float, ...]
) -> str:
    server = _server_settings(workers)
    met_rate = "met" if rate >= TARGET_RATE else "**missed**"
    p95 = window.pct(95)
    met_p95 = "met" if p95 <= TARGET_P95_MS else "**missed**"
    errors = ", ".join(f"{n} x HTTP {s}" for s, n in sorted(window.errors.items())) or "none"
    filed = max(len(window.latencies_ms), 1)
    worker_class = str(server["worker_class"]).rsplit(".", 1)[-1]

    def per(kind: str) -> float:
        return 1000 * window.server_cpu.get(kind, 0.0) / filed

    return "\n".join([
        f"{CLIENTS} clients, each with its own token and one kept-alive connection, filing for "
        f"{elapsed:.0f} s after a {WARM_UP_SECONDS:.0f} s warm-up and an ANALYZE (standing in "
        f"for autovacuum's) into request types of departments with SLA policies (clocks "
        f"start on every filing); gunicorn as gunicorn.conf.py runs it: {server['workers']} "
        f"{worker_class} workers of "
        f"{server['threads']} threads, keep-alive {server['keepalive']} s, access log; DEBUG "
        f"off, PostgreSQL on the same host. Load average at the end: {load[0]:.1f}, "
        f"{load[1]:.1f}, {load[2]:.1f}.",
        "",
        "| filed (201) | per second | p50 ms | p95 ms | p99 ms | max ms | errors |",
        "|--:|--:|--:|--:|--:|--:|---|",
        f"| {len(window.latencies_ms):,} | {rate:.1f} | {window.pct(50):.1f} | {p95:.1f} "
        f"| {window.pct(99):.1f} | {max(window.latencies_ms, default=0):.1f} | {errors} |",
        "",
        f"**Filings per client** (fewest, median, most): {_spread(window.per_client)}.",
        "",
        f"**CPU per filing** (during the timed window, divided by the filings): gunicorn "
        f"workers {per('gunicorn'):.1f} ms + their PostgreSQL backends {per('postgres'):.1f} ms "
        f"= {per('gunicorn') + per('postgres'):.1f} ms server-side (two cores give "
        f"{2000 / max(per('gunicorn') + per('postgres'), 0.001):.0f} filings/s at that cost); "
        f"the clients (this process) {1000 * window.client_cpu / filed:.1f} ms.",
        "",
        f"**Against the targets**: {rate:.0f} filings/s (target >= {TARGET_RATE:.0f}: "
        f"{met_rate}); p95 {p95:.0f} ms (target <= {TARGET_P95_MS:.0f} ms: {met_p95}).",
    ]) + "\n"  # fmt: skip

"""Reliability run: a burst of SLA deadlines swept and escalated by real Celery workers on
PostgreSQL and Redis while workers are killed with SIGKILL and Redis is stopped, then a
check that every due event exists exactly once and every escalation action ran once.

    .venv/bin/python scripts/reliability_sweep.py [--deadlines 50000] [--kills 12] ...

What it does, with real processes only:

1. Creates (drops and recreates) its own PostgreSQL database, `--database`
   (servicedesk_reliability), on the server DATABASE_URL points to (default
   postgres://postgres@127.0.0.1:5432), and migrates it. It never touches another database.
2. Starts a Redis of its own on a free port (no persistence), so stopping it disturbs
   nothing else on the machine, a local HTTP receiver for the chat webhook, 4 workers
   (`celery worker`, prefork, concurrency 1, default queue) and one `celery beat` that
   sends the sweep and the outbox relay every 2 s.
3. Loads a burst: tickets with a running first-response clock (warning at 50 %, breach
   at 100 %) and a share with a "no update" timer, all falling due within `--window`
   seconds; one department with three escalation rules: warning -> email a named person,
   breach -> internal note, no update -> internal note + chat post. The rules apply to
   one ticket in `--actions-every` (default 1: all); the other events are recorded by the
   sweep as handled with no rule to run. Running actions is what costs (about 30 events
   a second on two cores); recording is fast, so CI sweeps the issue's 50,000 deadlines
   and runs the actions of 5,000 of them (`--actions-every 10`), in about 3 minutes.
4. While the burst is processed: kills a worker (the whole process group, pool child
   included) with SIGKILL `--kills` times, preferring a worker caught inside a sweep or
   escalation transaction, and restarts it; stops its Redis with SIGKILL for
   `--redis-down` seconds mid-burst and starts it again (empty: every queued message lost).
5. Waits until nothing is due, every event is handled and the outbox is empty, then
   checks: recorded events == expected (per kind), no duplicates, none missed, none
   unexpected; one escalation message per event; per ticket exactly one audit record per
   rule fired, one internal note per breach / no update, one email row per warning and one
   chat post per no update; no outbox message failed. Exits 1 on any failure, 2 on a
   timeout or setup error.

Emails go to files (EMAIL_URL=file://...). Sending outside the database is at least once
by design (a worker killed between the send and recording it sends again after the claim
expires), so the email and chat counts may exceed one per event by at most the number of
kills; the database effects (events, audit records, notes, outbox rows) must be exact.
"""

# Randomness here picks kill times and victims, not secrets (S311); the commands run are
# this script's own (S603).
# ruff: noqa: S311, S603

from __future__ import annotations

import argparse
import contextlib
import http.server
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlparse

BASE_DIR = Path(__file__).resolve().parent.parent
DEFAULT_SERVER = "postgres://postgres@127.0.0.1:5432/postgres"
TARGET_SECONDS = 20  # each clock: warning at 10 s (50 %), breach at 20 s
WARNING_PERCENT = 50
IDLE_SECONDS = 36  # idle_hours 0.01, the smallest a rule can say
IDLE_SHARE = 20  # one "no update" deadline per 20 deadlines
BREACH_NOTE = "Reliability run: first response target breached."
IDLE_NOTE = "Reliability run: no update."


class Failed(Exception):
    """A check failed (exit 1)."""


class Aborted(Exception):
    """Setup failed or a wait timed out (exit 2)."""


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deadlines", type=int, default=50_000, help="Due instants in the burst.")
    parser.add_argument(
        "--actions-every",
        type=int,
        default=1,
        help="Escalation rules apply to one ticket in N (1: every event runs actions).",
    )
    parser.add_argument("--window", type=float, default=25.0, help="Seconds the burst spans.")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--kills", type=int, default=12, help="SIGKILLs of a worker (>= 10).")
    parser.add_argument("--redis-down", type=float, default=10.0, help="Seconds Redis is down.")
    parser.add_argument(
        "--redis-down-at", type=float, default=8.0, help="Seconds into the burst Redis stops."
    )
    parser.add_argument("--interval", type=int, default=2, help="Sweep and relay interval, s.")
    parser.add_argument("--database", default="servicedesk_reliability")
    parser.add_argument(
        "--durable-commits",
        action="store_true",
        help="Keep synchronous_commit on (slower; by default the run's database has it off).",
    )
    parser.add_argument("--timeout", type=float, default=900.0, help="Give up after this, s.")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--keep", action="store_true", help="Keep the work folder (logs).")
    args = parser.parse_args(argv)
    if args.deadlines < IDLE_SHARE * 2:
        parser.error(f"--deadlines must be at least {IDLE_SHARE * 2}")
    if args.actions_every < 1:
        parser.error("--actions-every must be at least 1")
    if args.workers < 1 or args.kills < 0 or args.redis_down < 0:
        parser.error("--workers must be positive, --kills and --redis-down not negative")
    if not args.database.replace("_", "").isalnum():
        parser.error("--database: letters, digits and underscores only")
    return args


# --- The database ---------------------------------------------------------------------


def database_urls(name: str) -> tuple[str, str]:
    """(admin URL on the `postgres` database, URL of the run's own database), from the
    server in DATABASE_URL. The database name in DATABASE_URL is ignored on purpose: this
    script drops its database, so it only ever works on `name`."""
    raw = os.environ.get("DATABASE_URL", "").strip() or DEFAULT_SERVER
    url = urlparse(raw)
    if url.scheme not in {"postgres", "postgresql", "pgsql"}:
        raise Aborted(f"DATABASE_URL must point to PostgreSQL (postgres://...), not {raw!r}")
    server = url._replace(path="", query="", fragment="").geturl()
    return f"{server}/postgres", f"{server}/{quote(name)}"


def recreate_database(admin_url: str, name: str, *, durable: bool) -> None:
    import psycopg2

    connection = psycopg2.connect(admin_url)
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            cursor.execute(f'CREATE DATABASE "{name}"')
            if not durable:
                # Commits wait for nothing but the server's memory: a PostgreSQL crash could
                # lose the last commits, which is not what this run tests (it kills workers
                # and Redis, never PostgreSQL); locking and atomicity are unchanged.
                cursor.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
    finally:
        connection.close()


# --- Child processes ------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def kill_group(process: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
    """Signal the process group the child leads (started with start_new_session)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, sig)


def stop(processes: list[subprocess.Popen | None], *, grace: float = 10.0) -> None:
    """SIGTERM each process (a worker then shuts its pool down warmly), wait up to `grace`
    seconds in all, then SIGKILL each process group, so nothing is left behind."""
    running = [p for p in processes if p is not None]
    for process in running:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    for process in running:
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
    for process in running:
        kill_group(process, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=5)


@dataclass
class Children:
    work: Path
    env: dict[str, str]
    redis_port: int
    queues: str = "celery"
    redis: subprocess.Popen | None = None
    beat: subprocess.Popen | None = None
    workers: dict[int, subprocess.Popen] = field(default_factory=dict)
    generation: Counter = field(default_factory=Counter)
    logs: list[Any] = field(default_factory=list)

    def _spawn(self, name: str, command: list[str], env: dict[str, str]) -> subprocess.Popen:
        out = open(self.work / f"{name}.log", "ab")  # noqa: SIM115 - closed in stop_all()
        self.logs.append(out)
        return subprocess.Popen(
            command,
            cwd=BASE_DIR,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: killpg reaches the pool child
        )

    def start_redis(self) -> None:
        self.redis = self._spawn(
            "redis",
            [
                "redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no", "--daemonize", "no",
                "--dir", str(self.work),
            ],
            self.env,
        )  # fmt: skip
        wait_until(self.redis_answers, timeout=20, what="the run's Redis to answer")

    def redis_answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.redis_port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def kill_redis(self) -> None:
        assert self.redis is not None
        kill_group(self.redis)
        self.redis.wait(timeout=10)

    def start_worker(self, slot: int) -> None:
        self.generation[slot] += 1
        env = dict(self.env)
        # The pool child's PostgreSQL sessions carry the slot: the chaos loop sees in
        # pg_stat_activity what each worker is doing when it picks one to kill.
        env["DATABASE_URL"] += f"?application_name=reliability-w{slot}"
        self.workers[slot] = self._spawn(
            f"worker{slot}",
            [
                sys.executable, "-m", "celery", "-A", "servicedesk", "worker",
                "--pool=prefork", "--concurrency=1", "-Q", self.queues, "--loglevel=INFO",
                "--without-gossip", "--without-mingle", "--without-heartbeat",
                f"--hostname=w{slot}.{self.generation[slot]}@%h",
            ],
            env,
        )  # fmt: skip

    def kill_worker(self, slot: int) -> None:
        process = self.workers[slot]
        kill_group(process)
        process.wait(timeout=10)

    def start_beat(self) -> None:
        self.beat = self._spawn(
            "beat",
            [
                sys.executable, "-m", "celery", "-A", "servicedesk", "beat", "--loglevel=INFO",
                f"--schedule={self.work / 'celerybeat-schedule'}",
            ],
            self.env,
        )  # fmt: skip

    def check_alive(self) -> None:
        dead = [f"worker {s}" for s, p in self.workers.items() if p.poll() is not None]
        if self.beat is not None and self.beat.poll() is not None:
            dead.append("beat")
        if dead:
            raise Aborted(f"{', '.join(dead)} exited on its own; see the logs in {self.work}")

    def stop_all(self) -> None:
        stop([*self.workers.values(), self.beat])
        stop([self.redis], grace=5)
        for out in self.logs:
            out.close()


def worker_queues() -> str:
    """The default queue, and any queue the settings route a task to."""
    from django.conf import settings

    queues = [getattr(settings, "CELERY_TASK_DEFAULT_QUEUE", "celery")]
    routes = getattr(settings, "CELERY_TASK_ROUTES", None) or {}
    if isinstance(routes, dict):
        for route in routes.values():
            queue = route.get("queue") if isinstance(route, dict) else None
            if queue and queue not in queues:
                queues.append(queue)
    return ",".join(queues)


def wait_until(condition: Any, *, timeout: float, what: str, every: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise Aborted(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


def log_mentions(path: Path, text: str) -> int:
    return path.read_text(errors="replace").count(text) if path.exists() else 0


# --- The chat webhook receiver --------------------------------------------------------


class ChatReceiver:
    """A local incoming-webhook endpoint that keeps every body it was sent."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                with receiver.lock:
                    receiver.bodies.append(body)
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# --- The burst ------------------------------------------------------------------------


@dataclass
class Burst:
    department_id: int
    person_email: str
    rules: dict[str, int]  # trigger -> rule id
    ticket_ids: list[int]
    clock_ids: list[int] = field(default_factory=list)
    expected: set[tuple[int, str, int, datetime]] = field(default_factory=set)
    idle_ticket_ids: list[int] = field(default_factory=list)
    acting: set[int] = field(default_factory=set)  # tickets whose rules apply
    start: datetime | None = None
    end: datetime | None = None

    @property
    def deadlines(self) -> int:
        return len(self.expected)


def seed_company(*, deadlines: int, chat_url: str, actions_every: int) -> Burst:
    """One providing department (round the clock) with its rules, and the tickets. The
    rules are narrowed to high priority, and one ticket in `actions_every` is high: the
    others' events are recorded by the sweep as handled, with no rule to run."""
    from decimal import Decimal

    from django.utils import timezone

    from accounts.models import User
    from slas.models import EscalationAction, EscalationRule
    from tickets.models import Department, Membership, Priority, RequestType, Ticket

    idle = deadlines // IDLE_SHARE
    clocks = (deadlines - idle) // 2  # two deadlines each: warning and breach
    department = Department.objects.create(
        name="Reliability", code="REL", chat_webhook_url=chat_url, auto_close_days=0
    )
    asking = Department.objects.create(name="Asking", code="ASK")
    request_type = RequestType.objects.create(department=department, name="Burst")
    requester = User.objects.create(
        username="rita", email="rita@example.com", home_department=asking
    )
    person = User.objects.create(username="lena", email="lena@example.com")
    Membership.objects.create(user=person, department=department, role=Membership.Role.LEAD)

    rules = {}
    high = [Priority.HIGH.value]
    Trigger, Kind, Target = EscalationRule.Trigger, EscalationAction.Kind, EscalationAction.Target
    rule = EscalationRule.objects.create(
        department=department, name="Warn the lead", level=1, trigger=Trigger.WARNING,
        clock_kind="first_response", warning_percent=WARNING_PERCENT, priorities=high,
    )  # fmt: skip
    EscalationAction.objects.create(
        rule=rule, kind=Kind.NOTIFY, target=Target.PERSON, person=person
    )
    rules[Trigger.WARNING] = rule.pk
    rule = EscalationRule.objects.create(
        department=department,
        name="Note the breach",
        level=2,
        trigger=Trigger.BREACH,
        priorities=high,
    )
    EscalationAction.objects.create(rule=rule, kind=Kind.INTERNAL_NOTE, text=BREACH_NOTE)
    rules[Trigger.BREACH] = rule.pk
    rule = EscalationRule.objects.create(
        department=department, name="Nobody answered", level=1, trigger=Trigger.NO_UPDATE,
        idle_hours=Decimal("0.01"), priorities=high,
    )  # fmt: skip
    EscalationAction.objects.create(rule=rule, kind=Kind.INTERNAL_NOTE, text=IDLE_NOTE)
    EscalationAction.objects.create(rule=rule, kind=Kind.NOTIFY, target=Target.CHAT, position=1)
    rules[Trigger.NO_UPDATE] = rule.pk
    assert int(Decimal("0.01") * 3600) == IDLE_SECONDS

    now = timezone.now()
    tickets = Ticket.objects.bulk_create(
        (
            Ticket(
                reference=f"REL-{n}",
                department=department,
                request_type=request_type,
                requesting_department=asking,
                requester=requester,
                created_by=requester,
                title=f"Burst ticket {n}",
                description="Due soon.",
                description_html="<p>Due soon.</p>",
                priority=Priority.HIGH if n % actions_every == 0 else Priority.NORMAL,
                status=Ticket.Status.OPEN,
                created_at=now,
                updated_at=now,
                status_changed_at=now,
            )
            for n in range(1, clocks + 1)
        ),
        batch_size=2_000,
    )
    Department.objects.filter(pk=department.pk).update(ticket_sequence=clocks)
    return Burst(
        department_id=department.pk,
        person_email=person.email,
        rules={str(k): v for k, v in rules.items()},
        ticket_ids=[t.pk for t in tickets],
        idle_ticket_ids=[t.pk for t in tickets[:idle]],
        acting={t.pk for t in tickets if t.priority == Priority.HIGH},
    )


def load_deadlines(burst: Burst, *, window: float, lead: float, rng: random.Random) -> None:
    """The clocks and timers, all due between `lead` and `lead + window` seconds from now:
    warnings spread over the window, each breach 10 s after its warning (so it lands
    while other warnings and breaches are still being swept), idle timers in the window."""
    from django.db import transaction
    from django.utils import timezone

    from slas.models import IdleTimer, SlaClock
    from slas.services import ROUND_THE_CLOCK, sla_clock_schedule, sla_clocks_create

    start = timezone.now() + timedelta(seconds=lead)
    span = max(window - TARGET_SECONDS * WARNING_PERCENT / 100, 1.0)
    warn_after = timedelta(seconds=TARGET_SECONDS * WARNING_PERCENT / 100)
    rows, expected = [], set()
    for ticket_id in burst.ticket_ids:
        warning_at = start + timedelta(microseconds=int(rng.uniform(0, span) * 1e6))
        running_since = warning_at - warn_after
        sla_clock = SlaClock(
            ticket_id=ticket_id,
            department_id=burst.department_id,
            kind=SlaClock.Kind.FIRST_RESPONSE,
            state=SlaClock.State.RUNNING,
            target_seconds=TARGET_SECONDS,
            warning_percents=[WARNING_PERCENT],
            started_at=running_since,
            running_since=running_since,
            due_at=running_since + timedelta(seconds=TARGET_SECONDS),
            at_risk_at=warning_at,
            updated_at=running_since,
        )
        # The desk works round the clock: the warning falls at `warning_at`.
        sla_clock_schedule(sla_clock=sla_clock, calendar=ROUND_THE_CLOCK)
        rows.append(sla_clock)
    timers = []
    for ticket_id in burst.idle_ticket_ids:
        due = start + timedelta(microseconds=int(rng.uniform(0, window) * 1e6))
        timers.append(
            IdleTimer(
                ticket_id=ticket_id,
                department_id=burst.department_id,
                since=due - timedelta(seconds=IDLE_SECONDS),
                fired_seconds=0,
                next_check_at=due,
            )
        )
        expected.add((ticket_id, "no_update", IDLE_SECONDS, due))
    with transaction.atomic():
        made = sla_clocks_create(rows)
        IdleTimer.objects.bulk_create(timers, batch_size=2_000)
    for sla_clock in made:
        first_check = sla_clock.next_check_at
        assert first_check is not None and sla_clock.due_at is not None
        expected.add((sla_clock.ticket_id, "warning", WARNING_PERCENT, first_check))
        expected.add((sla_clock.ticket_id, "breach", 100, sla_clock.due_at))
    burst.clock_ids = [c.pk for c in made]
    burst.expected = expected
    burst.start = min(instant for *_, instant in expected)
    burst.end = max(instant for *_, instant in expected)


# --- Watching -------------------------------------------------------------------------


@dataclass
class Progress:
    due: int
    recorded: int
    unhandled: int
    pending_outbox: int
    failed_outbox: int

    @property
    def quiescent(self) -> bool:
        return not (self.due or self.unhandled or self.pending_outbox)

    def __str__(self) -> str:
        return (
            f"due {self.due:,}  events {self.recorded:,}  unhandled {self.unhandled:,}  "
            f"outbox pending {self.pending_outbox:,}  failed {self.failed_outbox:,}"
        )


def progress() -> Progress:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT
              (SELECT count(*) FROM slas_slaschedule WHERE next_check_at <= now())
              + (SELECT count(*) FROM slas_idletimer WHERE next_check_at <= now()),
              (SELECT count(*) FROM slas_slaevent),
              (SELECT count(*) FROM slas_slaevent WHERE handled_at IS NULL),
              (SELECT count(*) FROM outbox_message
                WHERE delivered_at IS NULL AND failed_at IS NULL),
              (SELECT count(*) FROM outbox_message WHERE failed_at IS NOT NULL)
            """
        )
        row = cursor.fetchone()
    return Progress(*row)


# What each worker's database session is doing, from pg_stat_activity and pg_locks: a
# sweep holds FOR UPDATE row locks (RowShareLock) on clocks or idle timers until its batch
# commits; an escalation holds one on its SLA event while it runs the rule's actions.
ACTIVITY_SQL = """
SELECT a.application_name,
       a.xact_start IS NOT NULL,
       a.query,
       EXISTS (SELECT 1 FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
               WHERE l.pid = a.pid AND l.mode = 'RowShareLock'
                 AND c.relname IN ('slas_slaclock', 'slas_idletimer')),
       EXISTS (SELECT 1 FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
               WHERE l.pid = a.pid AND l.mode = 'RowShareLock' AND c.relname = 'slas_slaevent')
FROM pg_stat_activity a
WHERE a.application_name LIKE 'reliability-w%' AND a.datname = current_database()
"""


def worker_activity() -> dict[int, str]:
    """slot -> 'sweep' (inside a sweep batch's transaction), 'escalation' (running an SLA
    event's rules), 'outbox' (claiming a message or recording it delivered), or 'idle'."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(ACTIVITY_SQL)
        rows = cursor.fetchall()
    doing: dict[int, str] = {}
    for name, in_transaction, query, sweeping, escalating in rows:
        slot = int(name.rsplit("w", 1)[1])
        if sweeping:
            kind = "sweep"
        elif escalating:
            kind = "escalation"
        elif in_transaction or "outbox_message" in (query or ""):
            kind = "outbox"
        else:
            kind = "idle"
        if doing.get(slot, "idle") == "idle":
            doing[slot] = kind
    return doing


@dataclass
class Chaos:
    kills: list[tuple[float, int, str]] = field(default_factory=list)  # (t, slot, doing)
    redis_down_from: float | None = None
    redis_down_for: float = 0.0


def choose_victim(slots: list[int], want: str, *, patience: float) -> tuple[int, str]:
    """A worker doing `want` ('sweep', 'escalation' or 'any'), if one is seen within
    `patience` seconds; otherwise a random one."""
    deadline = time.monotonic() + patience
    doing: dict[int, str] = {}
    while time.monotonic() < deadline:
        doing = worker_activity()
        fits = [s for s in slots if doing.get(s) == want or want == "any"]
        if fits:
            slot = random.choice(fits)
            return slot, doing.get(slot, "idle")
        time.sleep(0.02)
    slot = random.choice(slots)
    return slot, doing.get(slot, "idle")


def run_chaos(children: Children, args: argparse.Namespace, t0: float, burst_at: float) -> Chaos:
    """Kill workers and stop Redis while the burst is processed."""
    chaos = Chaos()
    slots = sorted(children.workers)
    next_kill = burst_at + random.uniform(0.5, 1.5)
    redis_stop_at = burst_at + args.redis_down_at if args.redis_down > 0 else None
    redis_up_at: float | None = None
    hard_stop = t0 + args.timeout
    while True:
        now = time.monotonic()
        if now > hard_stop:
            raise Aborted("timed out during the kills")
        if redis_stop_at is not None and now >= redis_stop_at and redis_up_at is None:
            log(f"Redis: SIGKILL (down for {args.redis_down:.0f} s); {progress()}")
            children.kill_redis()
            chaos.redis_down_from = now
            redis_up_at = now + args.redis_down
        if redis_up_at is not None and chaos.redis_down_for == 0 and now >= redis_up_at:
            children.start_redis()
            assert chaos.redis_down_from is not None
            chaos.redis_down_for = time.monotonic() - chaos.redis_down_from
            log(f"Redis: back after {chaos.redis_down_for:.1f} s; {progress()}")
            next_kill = max(next_kill, time.monotonic() + 1.0)
        redis_down = redis_up_at is not None and chaos.redis_down_for == 0
        if len(chaos.kills) < args.kills and not redis_down and now >= next_kill:
            want = ("sweep", "escalation", "any")[len(chaos.kills) % 3]
            slot, doing = choose_victim(slots, want, patience=2.0)
            children.kill_worker(slot)
            chaos.kills.append((time.monotonic() - burst_at, slot, doing))
            log(f"kill #{len(chaos.kills)}: worker {slot} ({doing}) SIGKILLed; {progress()}")
            children.start_worker(slot)
            next_kill = time.monotonic() + random.uniform(1.0, 3.0)
        children.check_alive()
        redis_done = redis_stop_at is None or chaos.redis_down_for > 0
        if len(chaos.kills) >= args.kills and redis_done:
            return chaos
        time.sleep(0.05)


# --- Checks ---------------------------------------------------------------------------


def check(burst: Burst, chaos: Chaos, *, mail_dir: Path, chat: ChatReceiver) -> list[str]:
    """Every assertion of the run; returns the failures (empty: all good)."""
    from django.db import connection

    from outbox.models import Message
    from slas.events import NO_RULE
    from slas.models import SlaEvent
    from tickets.models import Comment, TicketEvent

    failures: list[str] = []

    def expect(ok: bool, what: str) -> None:
        log(f"  {'ok  ' if ok else 'FAIL'} {what}")
        if not ok:
            failures.append(what)

    # Events: exactly the expected set, each once.
    events = list(
        SlaEvent.objects.values_list(
            "pk", "ticket_id", "kind", "threshold", "instant", "handled_at", "outcome", "rule_ids"
        )
    )
    recorded = Counter((t, k, th, i) for _, t, k, th, i, *_ in events)
    duplicates = {key: n for key, n in recorded.items() if n > 1}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM (SELECT 1 FROM slas_slaevent GROUP BY "
            "coalesce(clock_id, -ticket_id), kind, instant HAVING count(*) > 1) d"
        )
        db_duplicates = cursor.fetchone()[0]
    missed = burst.expected - set(recorded)
    unexpected = set(recorded) - burst.expected
    want_kinds = Counter(kind for _, kind, _, _ in burst.expected)
    got_kinds = Counter(kind for _, _, kind, *_ in events)
    for kind in sorted(want_kinds | got_kinds):
        expect(
            want_kinds[kind] == got_kinds[kind],
            f"{kind} events: expected {want_kinds[kind]:,}, recorded {got_kinds[kind]:,}",
        )
    expect(not duplicates and not db_duplicates, f"duplicate events: {len(duplicates)}")
    expect(not missed, f"missed events: {len(missed)} {sorted(missed)[:3]}")
    expect(not unexpected, f"unexpected events: {len(unexpected)} {sorted(unexpected)[:3]}")

    # Handling: every event handled; the rules ran for the acting tickets' events only.
    acting = [e for e in events if e[1] in burst.acting]
    quiet = [e for e in events if e[1] not in burst.acting]
    unhandled = [pk for pk, *_, handled, _, _ in events if handled is None]
    expect(not unhandled, f"unhandled events: {len(unhandled)}")
    not_run = [
        pk for pk, *_, outcome, rule_ids in acting
        if not rule_ids or "Level" not in outcome or "not done" in outcome.lower()
    ]  # fmt: skip
    expect(
        not not_run,
        f"events whose rules ran: {len(acting) - len(not_run):,} of {len(acting):,} {not_run[:5]}",
    )
    wrong_quiet = [pk for pk, *_, outcome, rule_ids in quiet if rule_ids or outcome != NO_RULE]
    expect(
        not wrong_quiet,
        f"events with no rule, recorded as handled by the sweep: {len(quiet):,} "
        f"({len(wrong_quiet)} wrong)",
    )

    # The outbox: each acting event in exactly one escalation message (a message carries
    # a chunk of events), all delivered, none failed.
    messages = Counter(Message.objects.values_list("topic", flat=True))
    payloads = list(Message.objects.filter(topic="escalation").values_list("payload", flat=True))
    escalated = [pk for payload in payloads for pk in payload["event_ids"]]
    expect(
        sorted(escalated) == sorted(pk for pk, *_ in acting),
        f"escalation messages: {len(payloads):,} naming {len(escalated):,} events "
        f"({len(set(escalated)):,} distinct) for {len(acting):,} events with rules",
    )
    failed = Message.objects.exclude(failed_at=None).count()
    pending = Message.objects.filter(delivered_at=None).count()
    expect(failed == 0 and pending == 0, f"outbox: {failed} failed, {pending} not delivered")

    # Per ticket, each rule fired once and did its thing once.
    expected_acting = [e for e in burst.expected if e[0] in burst.acting]
    rule_name = {"warning": "Warn the lead", "breach": "Note the breach",
                 "no_update": "Nobody answered"}  # fmt: skip
    want_records = Counter((ticket_id, rule_name[kind]) for ticket_id, kind, *_ in expected_acting)
    got_records = Counter(
        (ticket_id, summary.split(": ", 1)[1])
        for ticket_id, summary in TicketEvent.objects.filter(action="escalated").values_list(
            "ticket_id", "new_value"
        )
    )
    wrong = {k for k in want_records | got_records if want_records[k] != got_records[k]}
    expect(
        not wrong,
        f"audit records 'escalated': {got_records.total():,} "
        f"(expected {want_records.total():,}, one per ticket and rule; {len(wrong)} differ)",
    )
    want_notes = Counter(
        (ticket_id, BREACH_NOTE if kind == "breach" else IDLE_NOTE)
        for ticket_id, kind, *_ in expected_acting
        if kind != "warning"
    )
    got_notes = Counter(
        Comment.objects.filter(is_internal=True, author=None).values_list("ticket_id", "body")
    )
    wrong = {k for k in want_notes | got_notes if want_notes[k] != got_notes[k]}
    expect(
        not wrong,
        f"internal notes: {got_notes.total():,} (expected {want_notes.total():,}; "
        f"{len(wrong)} differ)",
    )
    want_emails = {
        f"REL-{n}" for n, ticket_id in enumerate(burst.ticket_ids, start=1)
        if ticket_id in burst.acting
    }  # fmt: skip
    email_rows = list(
        Message.objects.filter(topic=Message.Topic.TICKET_EMAIL).values_list("payload", flat=True)
    )
    per_ticket = Counter(p["headers"]["X-Servicedesk-Ticket"] for p in email_rows)
    expect(
        set(per_ticket) == want_emails
        and max(per_ticket.values(), default=1) == 1
        and all(p["to"] == burst.person_email for p in email_rows),
        f"email messages: {len(email_rows):,} (expected {len(want_emails):,}, one per warned "
        f"ticket, to {burst.person_email})",
    )
    want_chat = sum(1 for _, kind, *_ in expected_acting if kind == "no_update")
    expect(
        messages["chat"] == want_chat,
        f"chat messages: {messages['chat']:,} (expected {want_chat:,})",
    )

    # Outside the database: at least once, and at most one extra per kill.
    sent_emails = count_emails(mail_dir)
    with chat.lock:
        posts = Counter(b["text"].splitlines()[1].split(" ")[0] for b in chat.bodies)
    extra_emails = sent_emails - len(email_rows)
    extra_posts = posts.total() - want_chat
    expect(
        0 <= extra_emails <= len(chaos.kills),
        f"emails written: {sent_emails:,} ({extra_emails} sent again after a kill; "
        f"at most {len(chaos.kills)} allowed)",
    )
    expect(
        len(posts) == want_chat and 0 <= extra_posts <= len(chaos.kills),
        f"chat posts received: {posts.total():,} for {len(posts):,} tickets "
        f"({extra_posts} sent again after a kill)",
    )
    return failures


def count_emails(mail_dir: Path) -> int:
    """Emails Django's file backend wrote (two sends in one second may share a file)."""
    separator = "\n" + "-" * 79 + "\n"
    total = 0
    for path in mail_dir.glob("*"):
        total += sum(1 for part in path.read_text().split(separator) if part.strip())
    return total


def latency() -> str:
    from django.db.models import DurationField, ExpressionWrapper, F

    from slas.models import SlaEvent

    delays = sorted(
        d.total_seconds()
        for d in SlaEvent.objects.annotate(
            delay=ExpressionWrapper(F("recorded_at") - F("instant"), output_field=DurationField())
        ).values_list("delay", flat=True)
    )
    if not delays:
        return "no events"

    def pct(p: float) -> float:
        return delays[min(len(delays) - 1, int(p * len(delays)))]

    return (
        f"instant -> recorded: p50 {pct(0.5):.1f} s, p99 {pct(0.99):.1f} s, "
        f"max {delays[-1]:.1f} s (includes the Redis outage)"
    )


# --- Main -----------------------------------------------------------------------------


def _interrupt(*_: Any) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    random.seed(seed)
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="reliability-"))
    mail_dir = work / "mail"
    mail_dir.mkdir()
    # SIGTERM (a CI timeout) unwinds like Ctrl-C, so the finally below stops the children.
    signal.signal(signal.SIGTERM, _interrupt)
    children: Children | None = None
    keep = args.keep
    chat: ChatReceiver | None = None
    try:
        admin_url, db_url = database_urls(args.database)
        redis_port = free_port()
        chat = ChatReceiver()
        env = dict(os.environ)
        env.update(
            DJANGO_SETTINGS_MODULE="servicedesk.settings",
            DATABASE_URL=db_url,
            CELERY_BROKER_URL=f"redis://127.0.0.1:{redis_port}/0",
            EMAIL_URL=f"file://{mail_dir}",
            SERVICEDESK_VAR_DIR=str(work / "var"),
            SLA_SWEEP_INTERVAL_SECONDS=str(args.interval),
            OUTBOX_RELAY_INTERVAL_SECONDS=str(args.interval),
            PYTHONUNBUFFERED="1",
            # As in production: cached templates, no query log growing in each worker.
            DEBUG="0",
            SECRET_KEY="reliability-run-" + "x" * 40,
        )
        env.pop("CELERY_TASK_ALWAYS_EAGER", None)
        os.environ.update(env)
        log(
            f"reliability run: {args.deadlines:,} deadlines over {args.window:.0f} s, "
            f"{args.workers} workers, {args.kills} kills, Redis down {args.redis_down:.0f} s; "
            f"seed {seed}; logs in {work}"
        )
        children = Children(work=work, env=env, redis_port=redis_port)
        children.start_redis()
        log(f"Redis of its own on port {redis_port}")
        recreate_database(admin_url, args.database, durable=args.durable_commits)

        sys.path.insert(0, str(BASE_DIR))
        import django

        django.setup()
        from django.core.management import call_command

        from tickets.models import Comment

        children.queues = worker_queues()
        call_command("migrate", verbosity=0)
        log(f"database {args.database} created and migrated")
        burst = seed_company(
            deadlines=args.deadlines, chat_url=chat.url, actions_every=args.actions_every
        )
        log(f"{len(burst.ticket_ids):,} tickets loaded")

        for slot in range(1, args.workers + 1):
            children.start_worker(slot)
        children.start_beat()
        wait_until(
            lambda: all(
                log_mentions(work / f"worker{s}.log", " ready.") >= 1 for s in children.workers
            ),
            timeout=60,
            what="the workers to start",
        )
        log(f"{args.workers} workers and beat running")

        loading = time.monotonic()
        load_deadlines(burst, window=args.window, lead=3.0, rng=random.Random(seed))
        assert burst.start is not None and burst.end is not None
        burst_at = loading + 3.0
        log(
            f"{burst.deadlines:,} deadlines loaded in {time.monotonic() - loading:.1f} s, "
            f"due from {burst.start:%H:%M:%S} to {burst.end:%H:%M:%S}"
        )
        chaos = run_chaos(children, args, started, burst_at)
        log(f"kills done; waiting for the workers to finish; {progress()}")

        last = 0.0
        while True:
            state = progress()
            if state.quiescent and datetime.now(UTC) > burst.end:
                break
            if time.monotonic() - started > args.timeout:
                raise Aborted(f"not quiescent after {args.timeout:.0f} s: {state}")
            if time.monotonic() - last > 10:
                log(f"  {state}")
                last = time.monotonic()
            children.check_alive()
            time.sleep(0.5)
        processed = time.monotonic() - burst_at
        log(f"quiescent {processed:.0f} s after the first deadline; checking")
        time.sleep(1.0)  # a duplicate delivery still in flight would show up now
        failures = check(burst, chaos, mail_dir=mail_dir, chat=chat)

        doing = Counter(d for _, _, d in chaos.kills)
        actions = sum(1 for ticket_id, *_ in burst.expected if ticket_id in burst.acting)
        emails = count_emails(mail_dir)
        notes = Comment.objects.filter(author=None).count()
        posts = len(chat.bodies)
        print()
        print("==== reliability summary ====")
        rows = [
            ("deadlines", f"{burst.deadlines:,} ({len(burst.clock_ids):,} clocks x 2 + "
             f"{len(burst.idle_ticket_ids):,} idle timers) over {args.window:.0f} s"),
            ("with actions", f"{actions:,} events (tickets with rules: 1 in "
             f"{args.actions_every}): {emails:,} emails, {notes:,} notes, {posts:,} chat posts"),
            ("workers", f"{args.workers} (prefork, concurrency 1, -Q {children.queues}), "
             f"beat every {args.interval} s"),
            ("kills (SIGKILL)", f"{len(chaos.kills)}: "
             + ", ".join(f"{n} mid-{what}" for what, n in doing.most_common())),
            ("Redis down", f"{chaos.redis_down_for:.1f} s, from "
             f"{(chaos.redis_down_from or burst_at) - burst_at:.0f} s into the burst"),
            ("processed", f"{processed:.0f} s after the first deadline; "
             f"{time.monotonic() - started:.0f} s in all"),
            ("detection", latency()),
            ("result", "FAILED: " + "; ".join(failures) if failures else "ok"),
        ]  # fmt: skip
        for label, value in rows:
            print(f"{label:<18} {value}")
        keep = keep or bool(failures)
        return 1 if failures else 0
    except Aborted as error:
        log(f"ABORTED: {error}")
        keep = True
        return 2
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    except Exception:
        traceback.print_exc()
        keep = True
        return 2
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        if children is not None:
            children.stop_all()
        if chat is not None:
            chat.close()
        if keep:
            log(f"logs kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

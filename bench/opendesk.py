"""Shared by the sweep benchmarks (bench/sweep.py, detection.py, drain.py): a desk with
many tickets *in progress*, its escalation rules, and real Celery processes.

The main benchmark database holds 1,000,000 tickets of two years, almost all closed (the
queue benchmark needs that history). The sweep's targets are about open tickets with
running clocks, so these benchmarks use databases of their own, named after the main
one: `<name>_open_1000000` and `<name>_open_100000`, created, migrated and filled on
first use with `seed_scale --open` (every ticket new or open, filed over the last three
months) and `seed_scale --clocks` (running clocks from the departments' policies, idle
timers), and reused afterwards. Only these databases ever get the benchmarks' rules,
triggers and re-laid clocks.

Every department gets three bench escalation rules (created once): a warning notifies
the assignee, a breach notifies the assignee and the department's leads, and 40
business hours without an update notifies the assignee. So every event the sweep records
has rules and gets its outbox row, as in a desk where escalation is configured.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlunparse

from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from slas.models import EscalationAction, EscalationRule, IdleTimer, SlaSchedule
from tickets.models import Department, Ticket

ROOT = Path(__file__).resolve().parent.parent
SMALL = 100_000
RULES = (
    # name, trigger, level, idle hours, notify targets
    ("Bench: warning", EscalationRule.Trigger.WARNING, 1, None, ("assignee",)),
    ("Bench: breach", EscalationRule.Trigger.BREACH, 2, None, ("assignee", "leads")),
    ("Bench: no update", EscalationRule.Trigger.NO_UPDATE, 1, 40, ("assignee",)),
)


def database_url(options: argparse.Namespace, tickets: int) -> str:
    parts = urlparse(options.database_url)
    return urlunparse(parts._replace(path=f"{parts.path.rstrip('/')}_open_{tickets}"))


@contextmanager
def open_desk(options: argparse.Namespace, tickets: int) -> Iterator[str]:
    """Point Django's connection at the open-desk database of `tickets` tickets (created,
    migrated and seeded when needed) for the block; yields its URL."""
    from bench.run import ensure_database

    url = database_url(options, tickets)
    ensure_database(url)
    saved = connection.settings_dict["NAME"]
    connection.close()
    connection.settings_dict["NAME"] = urlparse(url).path.lstrip("/")
    try:
        call_command("migrate", verbosity=0)
        with connection.cursor() as cursor:  # left by a detection run that was killed
            cursor.execute("DROP TRIGGER IF EXISTS bench_event_committed ON slas_slaevent")
        _ensure_seeded(tickets)
        yield url
    finally:
        connection.close()
        connection.settings_dict["NAME"] = saved


def _ensure_seeded(wanted: int) -> None:
    have = Ticket.objects.count()
    if have < wanted:
        print(f"{connection.settings_dict['NAME']}: {have:,} tickets; adding {wanted - have:,}.")
        call_command("seed_scale", tickets=wanted - have, open=True, years=0.25)
    _ensure_rules()
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT EXISTS (SELECT 1 FROM {Ticket._meta.db_table} t
                WHERE t.status IN ('new', 'open') AND NOT EXISTS (
                    SELECT 1 FROM {IdleTimer._meta.db_table} i WHERE i.ticket_id = t.id))"""
        )
        missing = cursor.fetchone()[0]
    if missing:
        call_command("seed_scale", tickets=0, clocks=True)


def _ensure_rules() -> None:
    for department in Department.objects.all():
        for name, trigger, level, hours, targets in RULES:
            rule, created = EscalationRule.objects.get_or_create(
                department=department,
                name=name,
                defaults={"trigger": trigger, "level": level, "idle_hours": hours},
            )
            if created:
                EscalationAction.objects.bulk_create(
                    EscalationAction(
                        rule=rule, position=n, kind=EscalationAction.Kind.NOTIFY, target=target
                    )
                    for n, target in enumerate(targets)
                )


def run_on_open_desk(
    options: argparse.Namespace,
    measure: Callable[[str, argparse.Namespace], dict[str, object]],
    report: Callable[[dict[str, object], argparse.Namespace, bool, float], str],
) -> str:
    """A real-worker benchmark on the open desk: put back clocks a killed run left moved,
    lay the clocks again if they have fallen overdue, measure, report."""
    started = time.monotonic()
    with open_desk(options, options.sweep_tickets) as url:
        ClockSnapshot.restore_leftover()
        relaid = relay_clocks_if_stale()
        result = measure(url, options)
    return report(result, options, relaid, time.monotonic() - started)


def relay_clocks_if_stale(*, lead_seconds: float = 60.0, catch_up: int = 20_000) -> bool:
    """The real-time benchmarks need the desk's own clocks in a steady state, not a
    backlog. Clocks were laid with their next checks over the following business days;
    wall time passes some of them between runs. Up to `catch_up` overdue clocks and
    timers are swept now, in process (they are recorded as they would have been); more
    than that (the desk left for a day), and the clocks are started again from now:
    clocks, timers, events, segments and outbox rows emptied and laid anew (several
    minutes for a million tickets). Returns True if it laid them again."""
    from slas.sweep import sla_sweep

    cutoff = timezone.now() - timedelta(seconds=lead_seconds)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT (SELECT count(*) FROM {SlaSchedule._meta.db_table} "
            f"WHERE next_check_at < %s) + (SELECT count(*) FROM {IdleTimer._meta.db_table} "
            "WHERE next_check_at < %s)",
            [cutoff, cutoff],
        )
        overdue = int(cursor.fetchone()[0])
    if overdue == 0:
        return False
    if overdue <= catch_up:
        started = time.monotonic()
        while sla_sweep(now=timezone.now()).more:
            pass
        print(
            f"Swept {overdue:,} overdue clocks and timers first "
            f"({time.monotonic() - started:.0f} s)."
        )
        return False
    print(f"{overdue:,} clocks and timers overdue: laying them again from now.")
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE slas_slaclock, slas_slaschedule, slas_idletimer, slas_slaevent, "
            "slas_slasegment, outbox_message, webhooks_webhookdelivery"
        )
    call_command("seed_scale", tickets=0, clocks=True)
    return True


def epoch_microseconds_sql(instant: str) -> str:
    """SQL for a timestamptz as microseconds since the epoch, as slas/checks.py stores a
    check's instant (for benchmarks that re-lay clocks in SQL)."""
    return f"(extract(epoch FROM {instant}) * 1000000)::bigint"


def backend_cpu_seconds() -> float:
    """CPU time so far of this connection's PostgreSQL backend (same machine; /proc)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def vacuum(*tables: str) -> None:
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"VACUUM ANALYZE {table}")


def max_id(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT coalesce(max(id), 0) FROM {table}")
        return int(cursor.fetchone()[0])


def delete_after(watermarks: dict[str, int]) -> dict[str, int]:
    """Delete what a benchmark added (rows with an id above the watermark); counts."""
    deleted = {}
    with connection.cursor() as cursor:
        for table, last in watermarks.items():
            cursor.execute(f"DELETE FROM {table} WHERE id > %s", [last])
            deleted[table] = cursor.rowcount
    return deleted


def watermarks() -> dict[str, int]:
    # Order matters for deleting: events reference nothing the others need.
    return {
        table: max_id(table) for table in ("outbox_message", "slas_slaevent", "tickets_ticketevent")
    }


class ClockSnapshot:
    """The scheduling state of some clocks (their SlaClock and SlaSchedule rows), saved in
    a table of the bench database (so a benchmark killed midway is put right by the next
    run) and restored afterwards. `where` may name the columns of both."""

    TABLE = "bench_clock_snapshot"
    CLOCK_COLUMNS = ("running_since", "consumed_seconds", "breached_at", "due_at", "at_risk_at")
    # The schedule's own, with the checks ahead computed from the clock's.
    SCHEDULE_COLUMNS = ("next_check_at", "warned_percent", "breached", "checks")
    COLUMNS = (*CLOCK_COLUMNS, *SCHEDULE_COLUMNS)
    FROM = "slas_slaclock c JOIN slas_slaschedule s ON s.clock_id = c.id"

    @classmethod
    def restore_leftover(cls) -> int:
        restored = cls.restore()
        if restored:
            print(f"Restored {restored:,} clocks a previous benchmark run left changed.")
        return restored

    @classmethod
    def save(cls, where: str, params: list[Any]) -> int:
        columns = ", ".join(
            [f"c.{c}" for c in cls.CLOCK_COLUMNS] + [f"s.{c}" for c in cls.SCHEDULE_COLUMNS]
        )
        with connection.cursor() as cursor:
            cursor.execute(
                f"CREATE TABLE IF NOT EXISTS {cls.TABLE} AS "
                f"SELECT c.id, {columns} FROM {cls.FROM} WHERE false"
            )
            cursor.execute(
                f"INSERT INTO {cls.TABLE} SELECT c.id, {columns} FROM {cls.FROM} "
                f"WHERE ({where}) AND NOT EXISTS (SELECT 1 FROM {cls.TABLE} b WHERE b.id = c.id)",
                params,
            )
            return cursor.rowcount

    @classmethod
    def restore(cls) -> int:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT to_regclass('{cls.TABLE}')")
            if cursor.fetchone()[0] is None:
                return 0
        clock = ", ".join(f"{c} = b.{c}" for c in cls.CLOCK_COLUMNS)
        schedule = ", ".join(f"{c} = b.{c}" for c in cls.SCHEDULE_COLUMNS)
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE slas_slaclock c SET {clock} FROM {cls.TABLE} b WHERE c.id = b.id"
            )
            restored = cursor.rowcount
            cursor.execute(
                f"UPDATE slas_slaschedule s SET {schedule} FROM {cls.TABLE} b "
                "WHERE s.clock_id = b.id"
            )
            cursor.execute(f"DROP TABLE {cls.TABLE}")
        return restored


# --- Real processes --------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Processes:
    """Its own redis-server (a spare port, no persistence), Celery workers and beat, with
    the environment of the open-desk database. Logs in a temporary folder, printed in
    part when something fails; everything stopped (and the folder removed) on exit."""

    def __init__(self, database: str) -> None:
        self.database = database
        self.folder = Path(tempfile.mkdtemp(prefix="bench-celery-"))
        self.port = free_port()
        self.broker = f"redis://127.0.0.1:{self.port}/0"
        self.children: list[tuple[str, subprocess.Popen[bytes]]] = []

    def __enter__(self) -> Processes:
        self._spawn(
            "redis",
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"],
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("redis-server did not start")

    def __exit__(self, *exc: object) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)

    @property
    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            DJANGO_SETTINGS_MODULE="servicedesk.settings",
            DATABASE_URL=self.database,
            CELERY_BROKER_URL=self.broker,
            EMAIL_URL=f"file://{self.folder / 'mail'}",
            SERVICEDESK_VAR_DIR=str(self.folder / "var"),
            DEBUG="false",
            PYTHONUNBUFFERED="1",
        )
        env.pop("CELERY_TASK_ALWAYS_EAGER", None)
        return env

    def worker(self, name: str) -> None:
        self._spawn(
            name,
            [sys.executable, "-m", "celery", "-A", "servicedesk", "worker", "--pool=solo",
             "--concurrency=1", "--loglevel=WARNING", "--without-gossip", "--without-mingle",
             "--without-heartbeat", f"--hostname={name}@%h"],
        )  # fmt: skip

    def beat(self) -> None:
        self._spawn(
            "beat",
            [sys.executable, "-m", "celery", "-A", "servicedesk", "beat", "--loglevel=INFO",
             f"--schedule={self.folder / 'beat-schedule'}"],
        )  # fmt: skip

    def _spawn(self, name: str, command: list[str]) -> None:
        log = open(self.folder / f"{name}.log", "ab")  # noqa: SIM115 - closed in stop()
        process = subprocess.Popen(
            command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT
        )
        log.close()  # the child has its own descriptor
        self.children.append((name, process))

    def check_alive(self) -> None:
        for name, process in self.children:
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited ({process.returncode}):\n{self.tail(name)}")

    def tail(self, name: str, lines: int = 30) -> str:
        path = self.folder / f"{name}.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def errors(self) -> list[str]:
        """Error lines the workers logged (a benchmark reports them)."""
        found = []
        for name, _ in self.children:
            path = self.folder / f"{name}.log"
            if name != "redis" and path.exists():
                for line in path.read_text(errors="replace").splitlines():
                    if "ERROR" in line or "Traceback" in line:
                        found.append(f"{name}: {line.strip()[:200]}")
        return found

    def stop(self, *names: str) -> None:
        """Stop these children (all, redis last, if none named): SIGTERM, then SIGKILL."""
        chosen = [c for c in self.children if not names or c[0] in names]
        chosen.sort(key=lambda c: c[0] == "redis")
        for name, process in chosen:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            self.children.remove((name, process))


def now() -> datetime:
    return timezone.now()

"""The SLA sweep (slas/sweep.py `sla_sweep`): time per sweep with 1,000 clocks due, and
with nothing due, on a desk of 1,000,000 open tickets and on one of 100,000.

Each desk is its own database (bench/opendesk.py): every ticket new or open, each with
running SLA clocks (a resolution clock, and a first-response clock while unanswered:
about 1.3 clocks a ticket) and an idle timer, all with their next check ahead, and
escalation rules in every department, so every event recorded is escalated (one outbox
row per 20 events, slas/events.py).

Time moves instead of the data. The sweep takes `now` as an argument; a repetition
passes the instant at which the next 1,000 clocks, in the order of their next check,
have come due (the 1,000th next check after the previous repetition's). So the clocks
due are the ones that really fall due next, scattered over the tables as real due
clocks are, their rows as cold or warm as the run left them: nothing is updated to make
them due (an UPDATE would have put exactly those rows in the buffer cache). Each one
records its next warning (its real instant, from its state and the department's
calendar) and is put in an outbox row; the few clocks a repetition advances to a check that
falls before a later repetition's `now` are claimed again then (the table shows claimed
and recorded per sweep). One sweep is timed from the call to its return: rules loaded,
each batch claimed (`FOR UPDATE SKIP LOCKED`), events inserted, outbox rows written,
clocks advanced, committed, the delivery tasks published to the broker after commit (a
redis-server of the benchmark's own; as in production), then the idle-timer pass.

"Nothing due": the same call with `now` one second before the earliest next check.

Afterwards the clocks the run advanced are put back (saved first in a table of the bench
database) and the events, outbox rows and delivery tasks deleted, so every run starts
from the same state; then VACUUM ANALYZE.

Targets (DESIGN.md): 1,000,000 open / 1,000 due <= 50 ms; nothing due <= 2 ms; from
100,000 to 1,000,000 open tickets the sweep changes by <= 1.5x.
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext

from bench.clock import pct
from bench.opendesk import (
    SMALL,
    ClockSnapshot,
    Processes,
    backend_cpu_seconds,
    delete_after,
    open_desk,
    vacuum,
    watermarks,
)
from servicedesk.celery import app as celery_app
from slas.sweep import SweepResult, sla_sweep

TITLE = "SLA sweep: 1,000 due among 100,000 and 1,000,000 open tickets"
DUE = 1_000
WARM_UP = 3
IDLE_MORE = 300
TARGET_DUE_MS = 50.0
TARGET_IDLE_MS = 2.0
TARGET_RATIO = 1.5


@dataclass
class Desk:
    tickets: int
    clocks: int = 0
    timers: int = 0
    due_ms: list[float] = field(default_factory=list)
    claimed: list[int] = field(default_factory=list)
    recorded: list[int] = field(default_factory=list)
    idle_ms: list[float] = field(default_factory=list)
    queries_due: int = 0
    queries_idle: int = 0
    window: timedelta = timedelta(0)  # virtual time the due repetitions spanned
    # CPU per sweep (mean over the timed ones): this process, and its PostgreSQL backend.
    cpu_due: tuple[float, float] = (0.0, 0.0)
    cpu_idle: tuple[float, float] = (0.0, 0.0)


def run(options: argparse.Namespace) -> str:
    started = time.monotonic()
    desks = []
    for tickets in (SMALL, options.sweep_tickets):
        with open_desk(options, tickets) as url, Processes(url) as processes:
            desks.append(_measure(tickets, options.sweep_reps, processes.broker))
    return _report(desks, options, time.monotonic() - started)


def _measure(tickets: int, reps: int, broker: str) -> Desk:
    desk = Desk(tickets)
    ClockSnapshot.restore_leftover()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM slas_slaschedule WHERE next_check_at IS NOT NULL")
        desk.clocks = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM slas_idletimer WHERE next_check_at IS NOT NULL")
        desk.timers = cursor.fetchone()[0]
        cursor.execute(
            "SELECT least((SELECT min(next_check_at) FROM slas_slaschedule), "
            "(SELECT min(next_check_at) FROM slas_idletimer))"
        )
        earliest = cursor.fetchone()[0]
    print(
        f"  {tickets:,} open tickets: {desk.clocks:,} clocks and {desk.timers:,} idle "
        f"timers with a next check; {reps} sweeps of {DUE:,} due."
    )
    marks = watermarks()
    saved_broker = _use_broker(broker)
    try:
        nothing_due = earliest - timedelta(seconds=1)
        for _ in range(WARM_UP):
            sla_sweep(now=nothing_due)
        # Nothing due and 1,000 due take turns, so a slow spell hits both alike.
        cpu = [0.0, 0.0]
        first_boundary = boundary = _next_due(DUE)
        for n in range(WARM_UP + reps):
            if n:
                boundary = _next_due(DUE, after=boundary)
            idle_ms, _ = _timed(nothing_due)
            python, postgres = time.process_time(), backend_cpu_seconds()
            due_ms, result = _timed(boundary)
            if n < WARM_UP:
                continue
            cpu[0] += time.process_time() - python
            cpu[1] += backend_cpu_seconds() - postgres
            desk.idle_ms.append(idle_ms)
            desk.due_ms.append(due_ms)
            desk.claimed.append(result.claimed)
            desk.recorded.append(result.recorded)
        desk.cpu_due = (cpu[0] * 1000 / len(desk.due_ms), cpu[1] * 1000 / len(desk.due_ms))
        desk.window = boundary - first_boundary
        python, postgres = time.process_time(), backend_cpu_seconds()
        for _ in range(IDLE_MORE):  # more of the cheap one, in a row for its CPU time
            desk.idle_ms.append(_timed(nothing_due)[0])
        desk.cpu_idle = (
            (time.process_time() - python) * 1000 / IDLE_MORE,
            (backend_cpu_seconds() - postgres) * 1000 / IDLE_MORE,
        )
        with CaptureQueriesContext(connection) as captured:
            sla_sweep(now=nothing_due)
        desk.queries_idle = len(captured.captured_queries)
        following = _next_due(DUE, after=boundary)  # one more, for its query count only
        with CaptureQueriesContext(connection) as captured:
            sla_sweep(now=following)
        desk.queries_due = len(captured.captured_queries)
    finally:
        _use_broker(saved_broker)
        restored = ClockSnapshot.restore()
        deleted = delete_after(marks)
        vacuum("slas_slaclock", "slas_slaschedule", "slas_slaevent", "outbox_message")
        print(f"  put back {restored:,} clocks; deleted {deleted}")
    print(
        f"  1,000 due: p50 {pct(desk.due_ms, 50):.1f} ms, p95 "
        f"{pct(desk.due_ms, 95):.1f} ms; nothing due: p50 "
        f"{pct(desk.idle_ms, 50):.2f} ms, p95 {pct(desk.idle_ms, 95):.2f} ms"
    )
    return desk


def _next_due(count: int, *, after: datetime | None = None) -> datetime:
    """The instant at which the next `count` clocks are due (saving their state first,
    to put back afterwards). `after`: the previous such instant, everything due by then
    swept and saved already (so the save reads only the new rows)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT next_check_at FROM slas_slaschedule WHERE next_check_at IS NOT NULL "
            "ORDER BY next_check_at OFFSET %s LIMIT 1",
            [count - 1],
        )
        boundary: datetime = cursor.fetchone()[0]
    if after is None:
        ClockSnapshot.save("next_check_at <= %s", [boundary])
    else:
        ClockSnapshot.save("next_check_at <= %s AND next_check_at > %s", [boundary, after])
    return boundary


def _timed(now: datetime) -> tuple[float, SweepResult]:
    started = time.perf_counter()
    result = sla_sweep(now=now)
    return (time.perf_counter() - started) * 1000, result


def _use_broker(url: str) -> str:
    """Publish to this broker from now on; returns the previous one."""
    previous = str(celery_app.conf.broker_url)
    celery_app.close()  # drop pooled connections to the previous broker
    # The producer pool is cached apart from the connection pool; drop it too, or the
    # next publish goes to the previous broker.
    celery_app.amqp._producer_pool = None  # type: ignore[attr-defined]
    celery_app.conf.update(broker_url=url)
    return previous


def _report(desks: list[Desk], options: argparse.Namespace, seconds: float) -> str:
    small, large = desks
    lines = [
        f"Two databases, every ticket new or open (`seed_scale --open --clocks`): "
        f"{small.tickets:,} tickets with {small.clocks:,} running clocks and "
        f"{small.timers:,} idle timers, and {large.tickets:,} with {large.clocks:,} clocks "
        f"and {large.timers:,} timers, all with a next check ahead. Per desk "
        f"{len(large.due_ms)} timed sweeps with {DUE:,} clocks due (after {WARM_UP} "
        "warm-up sweeps), each at the instant the next 1,000 clocks have come due (time "
        "moves; no row is touched to make it due), taking turns with a sweep with "
        f"nothing due; {IDLE_MORE} more of those in a row. CPU per sweep: this "
        "process's CPU time and its PostgreSQL backend's (/proc), means over the timed "
        "sweeps (what the code costs, whatever else the machine runs). In process, DEBUG "
        f"off, delivery tasks published to a redis-server of the benchmark's own. "
        f"Whole benchmark: {seconds:.0f} s.",
        "",
        "| Open tickets | sweep | n | p50 ms | p95 ms | p99 ms | max ms | claimed (p50, max) "
        "| recorded (p50, max) | queries | CPU ms: Python + PostgreSQL |",
        "|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for desk in desks:
        lines.append(
            f"| {desk.tickets:,} | 1,000 due | {len(desk.due_ms)} | {_ms(desk.due_ms, 50)} | "
            f"{_ms(desk.due_ms, 95)} | {_ms(desk.due_ms, 99)} | {max(desk.due_ms):.1f} | "
            f"{statistics.median(desk.claimed):.0f}, {max(desk.claimed)} | "
            f"{statistics.median(desk.recorded):.0f}, {max(desk.recorded)} | "
            f"{desk.queries_due} | {desk.cpu_due[0]:.1f} + {desk.cpu_due[1]:.1f} |"
        )
        lines.append(
            f"| {desk.tickets:,} | nothing due | {len(desk.idle_ms)} | "
            f"{_ms(desk.idle_ms, 50, 2)} | {_ms(desk.idle_ms, 95, 2)} | "
            f"{_ms(desk.idle_ms, 99, 2)} | {max(desk.idle_ms):.2f} | 0 | 0 | "
            f"{desk.queries_idle} | {desk.cpu_idle[0]:.2f} + {desk.cpu_idle[1]:.2f} |"
        )
    due50, idle50 = pct(large.due_ms, 50), pct(large.idle_ms, 50)
    ratio_due = due50 / pct(small.due_ms, 50)
    ratio_idle = idle50 / pct(small.idle_ms, 50)
    ratio_due95 = pct(large.due_ms, 95) / pct(small.due_ms, 95)

    def verdict(ok: bool) -> str:
        return "met" if ok else "**missed**"

    lines += [
        "",
        f"**Against the targets** ({large.tickets:,} open tickets): 1,000 due "
        f"{due50:.1f} ms p50, {pct(large.due_ms, 95):.1f} ms p95 (target ≤ "
        f"{TARGET_DUE_MS:.0f} ms: {verdict(pct(large.due_ms, 95) <= TARGET_DUE_MS)} at p95, "
        f"{verdict(due50 <= TARGET_DUE_MS)} at p50); nothing due {idle50:.2f} ms p50, "
        f"{pct(large.idle_ms, 95):.2f} ms p95 (target ≤ {TARGET_IDLE_MS:.0f} ms: "
        f"{verdict(idle50 <= TARGET_IDLE_MS)} at p50); {large.tickets:,} against "
        f"{small.tickets:,} open tickets: x{ratio_due:.2f} at p50 and x{ratio_due95:.2f} at "
        f"p95 with 1,000 due, x{ratio_idle:.2f} with nothing due (target ≤ x{TARGET_RATIO}: "
        f"{verdict(max(ratio_due, ratio_idle) <= TARGET_RATIO)}); in CPU time (Python + "
        f"PostgreSQL) x{sum(large.cpu_due) / sum(small.cpu_due):.2f} with 1,000 due and "
        f"x{sum(large.cpu_idle) / sum(small.cpu_idle):.2f} with nothing due. The due sweeps "
        f"covered {large.window} of the larger desk's time and {small.window} of the smaller's.",
    ]
    return "\n".join(lines)


def _ms(values: list[float], p: float, digits: int = 1) -> str:
    return f"{pct(values, p):.{digits}f}"

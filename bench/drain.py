"""Drain: a backlog of deadlines already due (after an outage), recorded by two real
Celery workers, and then the escalation actions those events call for.

On the desk of 1,000,000 open tickets (bench/opendesk.py), `--drain-deadlines` (default
200,000) running clocks chosen at random over all departments are set, before any
process starts, to have breached three days ago (consumed time = the target, the run
started then, `next_check_at` = that instant): each is owed exactly one breach event,
whose rules (notify the assignee and the leads) give it one escalation outbox row. Then
a redis-server of the benchmark's own, two workers (`--pool=solo`) and celery beat start,
with the production settings (sweep every 15 s with a 20 s budget per task; a full first
batch asks a second worker to help; a sweep out of budget queues its successor; the
outbox relay every 30 s).

Measured by polling the database every second (one count query): when the first and the
last of the backlog's events were committed, so the recording rate from the first
commit, and from the moment the processes were started (which includes waiting for
beat's first tick, up to 15 s); then how many of these events had their escalation
actions run (event marked handled, with the audit event and the emails' outbox rows),
for `--drain-actions-seconds` after the backlog was recorded, or until all are handled.
Afterwards the workers are stopped, the clocks put back and the events, outbox rows and
audit events deleted.

Target (DESIGN.md): >= 2,000 deadlines/s with two workers.
"""

from __future__ import annotations

import argparse
import random
import time

from django.db import connection

from bench.opendesk import (
    ClockSnapshot,
    Processes,
    delete_after,
    epoch_microseconds_sql,
    run_on_open_desk,
    vacuum,
    watermarks,
)

TITLE = "SLA drain: a backlog of due deadlines, two real workers"
TARGET_PER_SECOND = 2_000
POLL_SECONDS = 1.0


def run(options: argparse.Namespace) -> str:
    return run_on_open_desk(options, _measure, _report)


def _measure(url: str, options: argparse.Namespace) -> dict[str, object]:
    rng = random.Random(options.seed)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM slas_slaclock c JOIN slas_slaschedule s ON s.clock_id = c.id "
            "WHERE state = 'running' AND next_check_at IS NOT NULL"
        )
        candidates = [row[0] for row in cursor.fetchall()]
    chosen = sorted(rng.sample(candidates, min(options.drain_deadlines, len(candidates))))
    marks = watermarks()
    after_event = marks["slas_slaevent"]
    ClockSnapshot.save("id = ANY(%s)", [chosen])
    samples: list[tuple[float, int, int]] = []  # (seconds since start, recorded, handled)
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                """
                UPDATE slas_slaclock SET
                    running_since = now() - interval '3 days',
                    consumed_seconds = target_seconds,
                    breached_at = NULL
                WHERE id = ANY(%(ids)s);
                UPDATE slas_slaschedule s SET next_check_at = c.running_since,
                    checks = '[[100,' || {breach} || ']]', breached = false
                FROM slas_slaclock c WHERE c.id = s.clock_id AND s.clock_id = ANY(%(ids)s)
                """.format(breach=epoch_microseconds_sql("c.running_since")),
                {"ids": chosen},
            )
        vacuum("slas_slaclock", "slas_slaschedule")
        with Processes(url) as processes:
            started = time.monotonic()
            processes.worker("bench-drain-1")
            processes.worker("bench-drain-2")
            processes.beat()
            recorded_at: float | None = None
            while True:
                time.sleep(POLL_SECONDS)
                processes.check_alive()
                recorded, handled = _progress(chosen, after_event)
                elapsed = time.monotonic() - started
                samples.append((elapsed, recorded, handled))
                if recorded >= len(chosen) and recorded_at is None:
                    recorded_at = elapsed
                    print(f"  backlog recorded in {elapsed:.0f} s; watching the actions")
                if len(samples) % 30 == 0:
                    print(f"  {elapsed:5.0f} s: recorded {recorded:,}, actions done {handled:,}")
                if handled >= len(chosen):
                    break
                if (
                    recorded_at is not None
                    and elapsed - recorded_at > options.drain_actions_seconds
                ):
                    break
                if recorded_at is None and elapsed > 1800:
                    break  # 30 minutes without recording it all: report what there is
            errors = processes.errors()
        first, last, count = _commit_span(chosen, after_event)
        outbox = _outbox(marks["outbox_message"])
    finally:
        ClockSnapshot.restore()
        deleted = delete_after(marks)
        vacuum("slas_slaclock", "slas_slaevent", "outbox_message", "tickets_ticketevent")
        print(f"  put back the clocks; deleted {deleted}")
    return {
        "deadlines": len(chosen),
        "samples": samples,
        "recorded_at": recorded_at,
        "first": first,
        "last": last,
        "count": count,
        "outbox": outbox,
        "errors": errors,
    }


def _progress(chosen: list[int], after_event: int) -> tuple[int, int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), count(handled_at) FROM slas_slaevent WHERE id > %s AND kind = "
            "'breach' AND clock_id = ANY(%s)",
            [after_event, chosen],
        )
        recorded, handled = cursor.fetchone()
    return int(recorded), int(handled)


def _commit_span(chosen: list[int], after_event: int) -> tuple[float, float, int]:
    """Seconds between the first and the last backlog event's `recorded_at` (the sweep's
    `now`, taken when its task started) and how many there are."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT extract(epoch FROM min(recorded_at)), extract(epoch FROM max(recorded_at)),"
            " count(*) FROM slas_slaevent WHERE id > %s AND clock_id = ANY(%s)",
            [after_event, chosen],
        )
        first, last, count = cursor.fetchone()
    return float(first or 0), float(last or 0), int(count)


def _outbox(after_id: int) -> dict[str, tuple[int, int]]:
    """Per topic: (rows written, rows delivered) during the run."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT topic, count(*), count(delivered_at) FROM outbox_message WHERE id > %s "
            "GROUP BY topic ORDER BY topic",
            [after_id],
        )
        return {topic: (int(n), int(done)) for topic, n, done in cursor.fetchall()}


def _at(samples: list[tuple[float, int, int]], index: int, value: int) -> float | None:
    """The first sample time at which column `index` reached `value`."""
    for sample in samples:
        if sample[index] >= value:
            return sample[0]
    return None


def _report(result: dict[str, object], options: argparse.Namespace, relaid: bool, s: float) -> str:
    deadlines: int = result["deadlines"]  # type: ignore[assignment]
    samples: list[tuple[float, int, int]] = result["samples"]  # type: ignore[assignment]
    recorded_at: float | None = result["recorded_at"]  # type: ignore[assignment]
    first: float = result["first"]  # type: ignore[assignment]
    last: float = result["last"]  # type: ignore[assignment]
    count: int = result["count"]  # type: ignore[assignment]
    outbox: dict[str, tuple[int, int]] = result["outbox"]  # type: ignore[assignment]
    errors: list[str] = result["errors"]  # type: ignore[assignment]
    first_seen = _at(samples, 1, 1) or 0.0
    end_time, recorded_end, handled_end = samples[-1] if samples else (0.0, 0, 0)
    lines = [
        f"{options.sweep_tickets:,} open tickets; {deadlines:,} running clocks (random, all "
        "departments) breached three days earlier, one breach event owed each; two solo "
        "workers and beat started together (production settings: sweep every 15 s, 20 s "
        "budget per sweep task, successor and helper tasks, outbox relay every 30 s), "
        "redis-server of the benchmark's own. Progress polled from the database every "
        f"{POLL_SECONDS:g} s"
        + (
            "; the desk's clocks were laid again from now first (they had fallen overdue)"
            if relaid
            else ""
        )
        + f". Whole benchmark: {s:.0f} s.",
        "",
    ]
    span = last - first
    if recorded_at is not None and span > 0:
        rate_commit = count / span
        rate_start = count / recorded_at
        lines += [
            "| deadlines | recorded | first event after | last event after | recording rate "
            "(first to last sweep) | from the start | ≥ 2,000/s |",
            "|--:|--:|--:|--:|--:|--:|:-:|",
            f"| {deadlines:,} | {count:,} | {first_seen:.0f} s | {recorded_at:.0f} s | "
            f"{rate_commit:,.0f}/s | {rate_start:,.0f}/s | "
            f"{'yes' if rate_commit >= TARGET_PER_SECOND else '**no**'} |",
        ]
    else:
        lines.append(
            f"**The backlog was not recorded** within the run: {recorded_end:,} of "
            f"{deadlines:,} events after {end_time:.0f} s."
        )
    lines.append("")
    if handled_end >= deadlines:
        done_at = _at(samples, 2, deadlines) or end_time
        lines.append(
            f"**Escalation actions**: all {deadlines:,} events handled {done_at:.0f} s after "
            f"the start ({deadlines / done_at:,.0f}/s overall)."
        )
    else:
        watched = end_time - first_seen
        rate = handled_end / watched if watched > 0 else 0.0
        left = deadlines - handled_end
        projection = f"{left / rate / 60:,.0f} more minutes at that rate" if rate else "never"
        lines.append(
            f"**Escalation actions**: {handled_end:,} of {deadlines:,} events handled when the "
            f"workers were stopped, {end_time:.0f} s after the start ({rate:,.1f}/s since "
            f"the first event was recorded); the rest would take {projection}."
        )
    lines += [
        "",
        "Outbox rows written during the run (delivered): "
        + ", ".join(f"{topic} {n:,} ({done:,})" for topic, (n, done) in outbox.items())
        + ".",
        "",
        "Progress (seconds after the start: events recorded, events handled): "
        + ", ".join(
            f"{t:.0f} s: {r:,}/{h:,}"
            for t, r, h in samples[:: max(1, len(samples) // 12)] + samples[-1:]
        )
        + ".",
    ]
    if errors:
        lines.append(f"\nWorker log errors ({len(errors)}): " + "; ".join(errors[:3]))
    return "\n".join(lines)

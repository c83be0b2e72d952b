"""Detection latency: from the instant a warning or breach happens to the commit of the
SLA event that records it, with real processes: celery beat (the sweep every
SLA_SWEEP_INTERVAL_SECONDS, 15 s by default, unchanged), two workers (`--pool=solo`, as
the worker tests run them), PostgreSQL and a redis-server of the benchmark's own, on the
desk of 1,000,000 open tickets (bench/opendesk.py).

Clocks: `--detection-clocks` (default 6,000) running clocks of the round-the-clock
department (CS, so business time is wall time and an instant can be put at any second)
are set, before the processes start, to fall due at whole seconds spread evenly over
the 3 minutes that begin 45 s later: half of them reach their 75 % warning then, half
their breach (consumed time set so; `next_check_at` and the stored checks are those
instants, as the services would schedule them). The rest of the desk's 1.3 million
clocks keep their own checks, which fall due at their own pace meanwhile (the
background, reported). Nothing starts
as a backlog: clocks that fell due since the last run are swept first, in process, or
all clocks laid again from now when there are many (bench/opendesk.py).

Measurement: a deferred constraint trigger on the SLA event table, created in the bench
database only, writes `clock_timestamp()` at commit of each inserted event into a side
table; latency = that time minus the event's instant. The escalation actions of these
events run in the same workers meanwhile, as they would. Afterwards the clocks are put
back, the trigger dropped, and the events, outbox rows and audit events deleted.

Target (DESIGN.md): p99 <= 60 s.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from datetime import timedelta

from django.conf import settings
from django.db import connection

from bench.clock import pct
from bench.opendesk import (
    ClockSnapshot,
    Processes,
    delete_after,
    epoch_microseconds_sql,
    run_on_open_desk,
    vacuum,
    watermarks,
)
from tickets.models import Department

TITLE = "SLA detection latency: instant to recorded event, real beat and workers"
LEAD_SECONDS = 45  # processes start meanwhile
SPREAD_SECONDS = 180
TARGET_P99_S = 60.0
TRIGGER_SQL = """
CREATE TABLE IF NOT EXISTS bench_event_commit (
    event_id bigint PRIMARY KEY, committed_at timestamptz NOT NULL
);
TRUNCATE bench_event_commit;
CREATE OR REPLACE FUNCTION bench_event_committed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO bench_event_commit VALUES (NEW.id, clock_timestamp());
    RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS bench_event_committed ON slas_slaevent;
CREATE CONSTRAINT TRIGGER bench_event_committed AFTER INSERT ON slas_slaevent
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION bench_event_committed();
"""
DROP_SQL = """
DROP TRIGGER IF EXISTS bench_event_committed ON slas_slaevent;
DROP FUNCTION IF EXISTS bench_event_committed();
DROP TABLE IF EXISTS bench_event_commit;
"""


def run(options: argparse.Namespace) -> str:
    return run_on_open_desk(options, _measure, _report)


def _measure(url: str, options: argparse.Namespace) -> dict[str, object]:
    rng = random.Random(options.seed)
    department = Department.objects.get(code="CS")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM slas_slaclock c JOIN slas_slaschedule s ON s.clock_id = c.id "
            "WHERE c.department_id = %s AND c.state = 'running' "
            "AND s.next_check_at IS NOT NULL AND c.target_seconds > %s",
            [department.pk, 2 * (LEAD_SECONDS + SPREAD_SECONDS)],
        )
        candidates = [row[0] for row in cursor.fetchall()]
    chosen = sorted(rng.sample(candidates, min(options.detection_clocks, len(candidates))))
    marks = watermarks()
    with connection.cursor() as cursor:
        cursor.execute(TRIGGER_SQL)
    ClockSnapshot.save("id = ANY(%s)", [chosen])
    start = (_db_now() + timedelta(seconds=LEAD_SECONDS)).replace(microsecond=0)
    # Clock n falls due at start + n * spread / count, whole seconds; even n a breach.
    rows = []
    for n, pk in enumerate(chosen):
        offset = LEAD_SECONDS + n * SPREAD_SECONDS // len(chosen)
        rows.append((pk, offset, n % 2 == 0))
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                """
                UPDATE slas_slaclock c SET
                    running_since = %(now)s,
                    consumed_seconds = CASE WHEN v.breach THEN c.target_seconds - v.secs
                        ELSE c.target_seconds * 75 / 100 - v.secs END,
                    breached_at = NULL
                FROM unnest(%(ids)s::bigint[], %(offsets)s::int[], %(breach)s::bool[])
                    AS v(id, secs, breach)
                WHERE c.id = v.id;
                UPDATE slas_slaschedule s SET
                    breached = false,
                    warned_percent = CASE WHEN v.breach THEN 75 ELSE 50 END,
                    next_check_at = %(now)s + make_interval(secs => v.secs),
                    checks = CASE WHEN v.breach THEN '[[100,' || {due} || ']]'
                        ELSE '[[75,' || {check} || '],[100,' || {due} || ']]' END
                FROM unnest(%(ids)s::bigint[], %(offsets)s::int[], %(breach)s::bool[])
                    AS v(id, secs, breach), slas_slaclock c
                WHERE s.clock_id = v.id AND c.id = v.id
                """.format(
                    check=epoch_microseconds_sql("%(now)s + make_interval(secs => v.secs)"),
                    due=epoch_microseconds_sql(
                        "%(now)s + make_interval(secs => c.target_seconds - c.consumed_seconds)"
                    ),
                ),
                {
                    "now": start - timedelta(seconds=LEAD_SECONDS),
                    "ids": [r[0] for r in rows],
                    "offsets": [r[1] for r in rows],
                    "breach": [r[2] for r in rows],
                },
            )
        vacuum("slas_slaclock", "slas_slaschedule")
        with Processes(url) as processes:
            processes.worker("bench-detect-1")
            processes.worker("bench-detect-2")
            processes.beat()
            deadline = time.monotonic() + LEAD_SECONDS + SPREAD_SECONDS + 120
            while time.monotonic() < deadline:
                time.sleep(2)
                processes.check_alive()
                if _recorded(chosen) >= len(chosen):
                    break
            time.sleep(2)
            errors = processes.errors()
        latencies, kinds = _latencies(chosen)
        background = _background(chosen, marks["slas_slaevent"])
        handled = _handled(chosen)
    finally:
        with connection.cursor() as cursor:
            cursor.execute(DROP_SQL)
        ClockSnapshot.restore()
        deleted = delete_after(marks)
        vacuum("slas_slaclock", "slas_slaevent", "outbox_message")
        print(f"  put back the clocks; deleted {deleted}")
    return {
        "clocks": len(chosen),
        "candidates": len(candidates),
        "latencies": latencies,
        "kinds": kinds,
        "background": background,
        "handled": handled,
        "errors": errors,
    }


def _db_now():  # type: ignore[no-untyped-def]
    with connection.cursor() as cursor:
        cursor.execute("SELECT now()")
        return cursor.fetchone()[0]


def _recorded(chosen: list[int]) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM bench_event_commit b JOIN slas_slaevent e ON e.id = b.event_id "
            "WHERE e.clock_id = ANY(%s)",
            [chosen],
        )
        return int(cursor.fetchone()[0])


def _latencies(chosen: list[int]) -> tuple[list[float], dict[str, int]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT e.kind, extract(epoch FROM b.committed_at - e.instant) "
            "FROM bench_event_commit b JOIN slas_slaevent e ON e.id = b.event_id "
            "WHERE e.clock_id = ANY(%s)",
            [chosen],
        )
        rows = cursor.fetchall()
    kinds: dict[str, int] = {}
    for kind, _ in rows:
        kinds[kind] = kinds.get(kind, 0) + 1
    return [float(seconds) for _, seconds in rows], kinds


def _background(chosen: list[int], after_id: int) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM slas_slaevent WHERE id > %s "
            "AND (clock_id IS NULL OR NOT clock_id = ANY(%s))",
            [after_id, chosen],
        )
        return int(cursor.fetchone()[0])


def _handled(chosen: list[int]) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM slas_slaevent WHERE clock_id = ANY(%s) "
            "AND handled_at IS NOT NULL",
            [chosen],
        )
        return int(cursor.fetchone()[0])


def _report(result: dict[str, object], options: argparse.Namespace, relaid: bool, s: float) -> str:
    latencies: list[float] = result["latencies"]  # type: ignore[assignment]
    clocks: int = result["clocks"]  # type: ignore[assignment]
    errors: list[str] = result["errors"]  # type: ignore[assignment]
    interval = settings.SLA_SWEEP_INTERVAL_SECONDS
    lines = [
        f"{options.sweep_tickets:,} open tickets; {clocks:,} running clocks of the "
        f"round-the-clock department (of {result['candidates']:,}) set to fall due at whole "
        f"seconds spread over {SPREAD_SECONDS} s ({result['kinds']}), with beat (interval "
        f"{interval} s) and two solo workers started in the {LEAD_SECONDS} s before the "
        f"first. {result['background']:,} other events fell due and were recorded "
        f"meanwhile (the desk's own clocks and timers)"
        + (
            "; the desk's clocks were laid again from now first, having fallen overdue"
            if relaid
            else ""
        )
        + f". Commit time from a deferred trigger (clock_timestamp() at commit). "
        f"Whole benchmark: {s:.0f} s.",
        "",
    ]
    if not latencies:
        lines.append("**No event was recorded.** Worker errors: " + "; ".join(errors[:5]))
        return "\n".join(lines)
    p99 = pct(latencies, 99)
    lines += [
        "| events recorded | of clocks | p50 s | p95 s | p99 s | max s | min s | p99 ≤ 60 s |",
        "|--:|--:|--:|--:|--:|--:|--:|:-:|",
        f"| {len(latencies):,} | {clocks:,} | {statistics.median(latencies):.1f} | "
        f"{pct(latencies, 95):.1f} | {p99:.1f} | {max(latencies):.1f} | "
        f"{min(latencies):.1f} | {'yes' if p99 <= TARGET_P99_S else '**no**'} |",
        "",
        f"Escalation actions of these events run by the same workers within the run: "
        f"{result['handled']:,} of {len(latencies):,}. With a sweep every {interval} s, "
        f"an event waits up to {interval} s for the next sweep (about {interval / 2:g} s "
        "on average), plus the time the sweep takes to reach it.",
    ]
    if errors:
        lines.append(f"Worker log errors ({len(errors)}): " + "; ".join(errors[:3]))
    return "\n".join(lines)

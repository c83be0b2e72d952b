"""What the database benchmarks measure around a request: its queries, their time, the
slowest of them and their plans. Django is imported when called (bench/run.py sets it up
first)."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Captured:
    queries: int  # the most any of the runs made
    db_ms: float  # median time in SQL per run
    slowest: list[tuple[float, str]]  # (ms, sql), each statement's worst, slowest first


def capture(request: Callable[[], object], runs: int) -> Captured:
    """Run `request` `runs` times under CaptureQueriesContext."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    db_times: list[float] = []
    counts: set[int] = set()
    worst: dict[str, float] = {}
    for _ in range(runs):
        with CaptureQueriesContext(connection) as captured:
            request()
        counts.add(len(captured.captured_queries))
        db_times.append(sum(float(q["time"]) for q in captured.captured_queries) * 1000)
        for query in captured.captured_queries:
            worst[query["sql"]] = max(float(query["time"]) * 1000, worst.get(query["sql"], 0.0))
    slowest = sorted(((ms, sql) for sql, ms in worst.items()), reverse=True)
    return Captured(max(counts), statistics.median(db_times), slowest)


def explain(sql: str) -> str:
    """EXPLAIN (ANALYZE, BUFFERS) of a statement, as PostgreSQL prints it. A statement
    sent after a SET LOCAL in the same string (dashboards.clock_figures) is explained
    after it, in the same string (the same implicit transaction)."""
    from django.db import connection

    settings, statement = "", sql
    if sql.startswith("SET LOCAL ") and "; " in sql:
        head, statement = sql.split("; ", 1)
        settings = head + "; "
    with connection.cursor() as cursor:
        cursor.execute(settings + "EXPLAIN (ANALYZE, BUFFERS) " + statement)
        return "\n".join(row[0] for row in cursor.fetchall())

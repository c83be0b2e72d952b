"""The SLA figures on PostgreSQL without sorting the period (dashboards.clock_figures):
per-bucket counts find the bucket holding each percentile's rank, and only that bucket's
clocks are ranked. Checked against a count and a nearest rank done here, over clocks
whose business times spread over many buckets, repeat, and share buckets across groups."""

from __future__ import annotations

import math
from collections import defaultdict

import pytest
from django.db import connection

from dashboards.clock_figures import clock_figures
from dashboards.selectors import _finished_clocks, _sla_figures_grouping_sets, _sla_figures_portable
from slas.models import SlaClock
from tests.dashboards.history import SINCE, UNTIL

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the two-pass figures are PostgreSQL's"
)
Kind, State = SlaClock.Kind, SlaClock.State


def nearest_rank(values: list[int], p: int) -> int:
    ordered = sorted(values)
    return ordered[math.ceil(p * len(ordered) / 100) - 1]


def expected(rows, department, column):
    """(kind, group) -> (finished, met in time, breached, median, p90), counted here."""
    counts = defaultdict(lambda: [0, 0, 0])
    met = defaultdict(list)
    for row in rows:
        at = row.met_at or row.stopped_at
        if row.department_id != department.pk or not SINCE <= at < UNTIL:
            continue
        key = (row.kind, getattr(row, column) if column else None)
        counts[key][0] += 1
        counts[key][1] += row.state == State.MET and row.breached_at is None
        counts[key][2] += row.breached_at is not None
        if row.state == State.MET:
            met[key].append(row.consumed_seconds)
    return {
        key: (
            *c,
            nearest_rank(met[key], 50) if met[key] else None,
            nearest_rank(met[key], 90) if met[key] else None,
        )
        for key, c in counts.items()
    }


def test_counts_and_percentiles_equal_a_count_and_a_nearest_rank(clocks, it):
    column = "finished_requesting_department_id"
    figures = clock_figures([([it.pk], SINCE, UNTIL)], [(), (column,)])
    got_all = {(kind, None): f for (n, kind, _), f in figures.items() if n == 0}
    got_groups = {(kind, values[0]): f for (n, kind, values), f in figures.items() if n == 1}
    assert got_all == expected(clocks, it, None)
    assert got_groups == expected(clocks, it, column)
    assert len(got_groups) == 6 and all(f[3] is not None for f in got_groups.values())


def test_two_columns_and_percentiles_of_one_kind(clocks, it, hr):
    """The map's sets: (provider, requester) cells, per provider, per requester, all;
    percentiles of the resolution clocks only."""
    sets = [("department_id", "finished_assignee_id"), ("department_id",), ()]
    figures = clock_figures(
        [([it.pk, hr.pk], SINCE, UNTIL)], sets, percentile_kinds=[Kind.RESOLUTION]
    )
    cells = expected(clocks, it, "finished_assignee_id")
    for (kind, assignee), want in cells.items():
        got = figures[(0, kind, (it.pk, assignee))]
        assert got == (want if kind == Kind.RESOLUTION else (*want[:3], None, None))
    both = expected(clocks, it, None)[(Kind.RESOLUTION, None)]
    assert figures[(1, Kind.RESOLUTION, (it.pk,))] == both
    assert figures[(2, Kind.RESOLUTION, ())][0] > both[0]  # HR's clocks too


def test_the_lead_dashboards_figures_equal_the_portable_ones(clocks, it):
    figures = _sla_figures_grouping_sets(department=it, since=SINCE, until=UNTIL)
    clocks_in = _finished_clocks(department=it, since=SINCE, until=UNTIL)
    assert len(figures) > 20
    assert figures == _sla_figures_portable(clocks_in)


def test_the_second_pass_reads_only_the_ranks_buckets(clocks, it):
    """PostgreSQL reads the targeted buckets' met clocks from slaclock_dept_met_buckets
    (the index's expression and the query's must be the same)."""
    from dashboards.clock_figures import finished_clock_rows

    sql, params = finished_clock_rows([([it.pk], SINCE, UNTIL)], buckets=[60, 61])
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "slaclock_dept_met_buckets" in plan

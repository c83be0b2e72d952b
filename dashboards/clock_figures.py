"""The finished SLA clocks' counts and exact business-time percentiles per group, on
PostgreSQL, without sorting the period (the lead dashboard's and the map's SLA figures).

Sorting every clock of the period once per grouping, and again per group for its
percentile, was most of a dashboard's time (five sorts of 46,700 clocks for a month of a
large department, spilling to disk over a year). Instead, two passes:

1. One GROUP BY GROUPING SETS over the period's finished clocks (index-only reads,
   `finished_clock_rows`), hashed (no ordered-set aggregate): per group and business-time
   bucket (`slas.models.CONSUMED_BUCKET`), the clocks finished, met without a breach,
   breached, and met. A group's figures are the sums over its buckets; its met clocks per
   bucket are a histogram. Sets within another set (all the clocks, a provider's) are
   added up from its groups, not grouped again.
2. The nearest-rank percentile p of n values is the r-th smallest, r = ceil(p n / 100)
   (percentile_disc's definition). The histogram says which bucket holds rank r and at
   which position in it. One query reads only those buckets' met clocks of the period
   (slaclock_dept_met_buckets: a range per bucket) and ranks each group's within its
   bucket: the value at that position is the percentile, exactly.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from django.db import connection

from slas.models import CONSUMED_BUCKET_SQL, SlaClock

State = SlaClock.State
KINDS = (SlaClock.Kind.FIRST_RESPONSE, SlaClock.Kind.RESOLUTION)
# The columns a group can be made of (the finished clocks' rows name them so).
CLOCK_GROUP_DB_COLUMNS = (
    "finished_requesting_department_id",
    "finished_request_type_id",
    "finished_assignee_id",
    "finished_priority",
)
COLUMNS = ("department_id", *CLOCK_GROUP_DB_COLUMNS)
PERCENTILES = (50, 90)
# For the two queries: one string of two statements is one transaction (an implicit one
# outside a transaction block), which SET LOCAL lasts for.
WITH_WORK_MEM = "SET LOCAL work_mem = '32MB'; "
NONE = -1  # a group's NULL in the second pass's equality joins (ids and priorities are > 0)

# Providers and the period [since, until) that applies to them (the map: one per zone).
ClockRange = tuple[Sequence[int], Any, Any]
# (set index, kind, the set's column values)
Key = tuple[int, str, tuple[Any, ...]]


def finished_clock_rows(
    ranges: Sequence[ClockRange], *, buckets: Sequence[int] | None = None,
    kinds: Sequence[str] = KINDS,
) -> tuple[str, list[Any]]:  # fmt: skip
    """SQL and parameters of the first-response and resolution clocks that finished in
    each range (met in it, or stopped in it after breaching) as rows of `kind`,
    `department_id`, `met` (met, not stopped), `breached`, `consumed_seconds` and
    `bucket` (of the met ones), and the `finished_*` columns: a UNION ALL of one range
    read per range and way of finishing, each an index-only scan of
    slaclock_dept_met_groups or slaclock_dept_late_groups. (The ORM's OR of the two makes
    PostgreSQL read both indexes into one bitmap and then the table: tens of thousands of
    random page reads a month.) With `buckets`: only the met clocks in those business-time
    buckets (slaclock_dept_met_buckets, a range per bucket)."""
    table = SlaClock._meta.db_table
    groups = ", ".join(CLOCK_GROUP_DB_COLUMNS)
    kind_list = ", ".join(["%s"] * len(kinds))
    in_buckets = f" AND {CONSUMED_BUCKET_SQL} = ANY(%s)" if buckets is not None else ""
    met = (
        "SELECT kind, department_id, TRUE AS met, breached_at IS NOT NULL AS breached, "  # noqa: S608
        f"consumed_seconds, {CONSUMED_BUCKET_SQL} AS bucket, {groups} FROM {table} "
        "WHERE state = %s AND department_id IN ({ids}) AND met_at >= %s AND met_at < %s "
        f"AND kind IN ({kind_list}){in_buckets}"
    )  # (table, column names and the bucket's expression from the code; values are parameters)
    stopped_late = (
        f"SELECT kind, department_id, FALSE, TRUE, NULL, NULL, {groups} FROM {table} "  # noqa: S608
        "WHERE state = %s AND breached_at IS NOT NULL AND department_id IN ({ids}) "
        f"AND stopped_at >= %s AND stopped_at < %s AND kind IN ({kind_list})"
    )  # (table and column names from the code; values are parameters)
    parts: list[str] = []
    params: list[Any] = []
    for departments, since, until in ranges:
        ids = ", ".join(["%s"] * len(departments))
        parts.append(met.format(ids=ids))
        params += [State.MET, *departments, since, until, *kinds]
        if buckets is not None:
            params.append(list(buckets))
            continue
        parts.append(stopped_late.format(ids=ids))
        params += [State.STOPPED, *departments, since, until, *kinds]
    return " UNION ALL ".join(parts), params


def clock_figures(
    ranges: Sequence[ClockRange], sets: Sequence[tuple[str, ...]], *,
    percentile_kinds: Sequence[str] = KINDS,
) -> dict[Key, tuple[int, int, int, int | None, int | None]]:  # fmt: skip
    """(set index, kind, the set's values) -> (finished, met without a breach, breached,
    median, 90th percentile) of the clocks that finished in `ranges`, for every group of
    every set (a tuple of COLUMNS; () is all the clocks). The percentiles (nearest rank,
    business seconds of the met clocks) for `percentile_kinds` only, else None. Two
    queries (one when no clock was met)."""
    counts, histograms = _sums(ranges, sets, percentile_kinds)
    targets: list[tuple[Key, int, int, int]] = []  # (key, percentile, bucket, position)
    for key, histogram in histograms.items():
        total = sum(histogram.values())
        for p in PERCENTILES:
            rank = -(-p * total // 100)  # ceil: the smallest r with 100 r >= p n
            seen = 0
            for bucket in sorted(histogram):
                if seen + histogram[bucket] >= rank:
                    targets.append((key, p, bucket, rank - seen))
                    break
                seen += histogram[bucket]
    values = _values_at(ranges, sets, targets, percentile_kinds) if targets else {}
    result = {}
    for key, (finished, met, breached) in counts.items():
        median = values.get((key, 50))
        p90 = values.get((key, 90))
        result[key] = (finished, met, breached, median, p90)
    return result


def _sums(
    ranges: Sequence[ClockRange], sets: Sequence[tuple[str, ...]], percentile_kinds: Sequence[str]
) -> tuple[dict[Key, list[int]], dict[Key, dict[int, int]]]:
    """Every set's counts and histograms. The database groups by the sets no other set
    holds (the map's (provider, requester) cells; each of the lead dashboard's
    dimensions); a set within one of them is added up here from its groups (every clock
    is in exactly one group of a set, and counts per bucket add up): fewer groupings to
    hash over the period's clocks."""
    grouped = [s for s in sets if not any(set(s) < set(other) for other in sets)]
    columns = [c for c in COLUMNS if any(c in s for s in grouped)]
    counts, histograms = _histograms(ranges, grouped, columns, percentile_kinds)
    all_counts: dict[Key, list[int]] = defaultdict(lambda: [0, 0, 0])
    all_histograms: dict[Key, dict[int, int]] = defaultdict(dict)
    for n, wanted in enumerate(sets):
        source = next(g for g, s in enumerate(grouped) if set(wanted) <= set(s))
        at = [grouped[source].index(c) for c in wanted]
        for (g, kind, values), (finished, met_in_time, breached) in counts.items():
            if g != source:
                continue
            key = (n, kind, tuple([values[i] for i in at]))
            total = all_counts[key]
            total[0] += finished
            total[1] += met_in_time
            total[2] += breached
            histogram = histograms.get((g, kind, values))
            if histogram:
                into = all_histograms[key]
                for bucket, met in histogram.items():
                    into[bucket] = into.get(bucket, 0) + met
    return all_counts, all_histograms


def _histograms(
    ranges: Sequence[ClockRange], sets: Sequence[tuple[str, ...]], columns: list[str],
    percentile_kinds: Sequence[str],
) -> tuple[dict[Key, list[int]], dict[Key, dict[int, int]]]:  # fmt: skip
    """The first pass: every group's counts, and the met clocks per bucket of the groups
    of `percentile_kinds`. GROUPING(columns...) is a bit mask (a set bit: the column is
    not grouped) telling the set of each row."""
    sql, params = finished_clock_rows(ranges)
    bits = len(columns)
    masks = {
        sum(1 << (bits - 1 - i) for i, c in enumerate(columns) if c not in s): n
        for n, s in enumerate(sets)
    }
    grouping = f"GROUPING({', '.join(columns)})" if columns else "0"
    listed = "".join(f", {c}" for c in columns)
    grouping_sets = ", ".join(f"(kind, pbucket{''.join(f', {c}' for c in s)})" for s in sets)
    kinds = ", ".join(["%s"] * len(percentile_kinds)) or "NULL"
    # The kinds without percentiles need no histogram: one bucket (NULL) per group. Each
    # group's histogram comes back as two arrays (its buckets, in order, and their met
    # clocks): a row per group, not per group and bucket (thousands a month to convert).
    query = f"""
        SELECT kind, g{listed}, SUM(n)::bigint, SUM(in_time)::bigint, SUM(late)::bigint,
               array_agg(pbucket ORDER BY pbucket) FILTER (WHERE met > 0 AND pbucket IS NOT NULL),
               array_agg(met ORDER BY pbucket) FILTER (WHERE met > 0 AND pbucket IS NOT NULL)
        FROM (
            SELECT kind, {grouping} AS g, pbucket{listed}, COUNT(*) AS n,
                   COUNT(*) FILTER (WHERE met AND NOT breached) AS in_time,
                   COUNT(*) FILTER (WHERE breached) AS late, COUNT(*) FILTER (WHERE met) AS met
            FROM (SELECT *, CASE WHEN kind IN ({kinds}) THEN bucket END AS pbucket
                  FROM ({sql}) rows) finished
            GROUP BY GROUPING SETS ({grouping_sets})
        ) per_bucket
        GROUP BY kind, g{listed}
    """  # noqa: S608 (only column names from the code; values are parameters)
    params = [*percentile_kinds, *params]
    with connection.cursor() as cursor:
        # The planner multiplies the columns' distinct values into hundreds of thousands
        # of groups (a few thousand in fact) and, over a long period, would sort every
        # clock once per set rather than hash them in more than the default work_mem.
        cursor.execute(WITH_WORK_MEM + query, params)
        rows = cursor.fetchall()
    counts: dict[Key, list[int]] = {}
    histograms: dict[Key, dict[int, int]] = {}
    plan = {mask: (n, [columns.index(c) + 2 for c in sets[n]]) for mask, n in masks.items()}
    with_percentiles = set(percentile_kinds)
    for row in rows:
        kind = row[0]
        n, at = plan[row[1]]
        key = (n, kind, tuple([row[i] for i in at]))
        finished, met_in_time, breached, buckets, met = row[2 + bits :]
        counts[key] = [finished, met_in_time, breached]
        if buckets and kind in with_percentiles:
            histograms[key] = dict(zip(buckets, met, strict=True))
    return counts, histograms


def _values_at(
    ranges: Sequence[ClockRange], sets: Sequence[tuple[str, ...]],
    targets: list[tuple[Key, int, int, int]], percentile_kinds: Sequence[str],
) -> dict[tuple[Key, int], int]:  # fmt: skip
    """The second pass: (key, percentile) -> the value at the target's position among its
    group's met clocks in its bucket. Only the targets' buckets are read; each set's rows
    are ranked within (kind, bucket, group) after keeping the targeted groups only."""
    buckets = sorted({bucket for _, _, bucket, _ in targets})
    sql, params = finished_clock_rows(ranges, buckets=buckets, kinds=percentile_kinds)
    width = max(len(s) for s in sets)
    padded = [f"v{i}" for i in range(width)]
    expanded = " UNION ALL ".join(
        f"SELECT {n} AS s, kind, bucket, "  # noqa: S608 (column names from the code)
        + ", ".join(
            f"COALESCE({s[i]}, {NONE}) AS v{i}" if i < len(s) else f"0 AS v{i}"
            for i in range(width)
        )
        + (", " if width else "")
        + "consumed_seconds FROM met"
        for n, s in enumerate(sets)
    )
    columns = ", ".join(["s", "kind", "bucket", *padded])
    typed = ", ".join(["%s::int[]", "%s::text[]", "%s::int[]", *["%s::bigint[]"] * width])
    query = f"""
        WITH met AS MATERIALIZED ({sql}),
        t AS (SELECT * FROM unnest({typed}, %s::int[]) AS t({columns}, pos)),
        ranked AS (
            SELECT e.*, ROW_NUMBER() OVER (
                PARTITION BY {columns} ORDER BY consumed_seconds
            ) AS pos
            FROM ({expanded}) e
            WHERE ({columns}) IN (SELECT {columns} FROM t)
        )
        SELECT {columns}, pos, consumed_seconds FROM ranked JOIN t USING ({columns}, pos)
    """  # noqa: S608 (only column names from the code; values are parameters)
    arrays: list[list[Any]] = [[] for _ in range(4 + width)]
    for (n, kind, values), _, bucket, position in targets:
        padded_values = [NONE if v is None else v for v in values] + [0] * (width - len(values))
        for array, value in zip(arrays, [n, kind, bucket, *padded_values, position], strict=True):
            array.append(value)
    with connection.cursor() as cursor:
        cursor.execute(WITH_WORK_MEM + query, [*params, *arrays])
        found = {tuple(row[:-1]): row[-1] for row in cursor.fetchall()}
    result = {}
    for (n, kind, values), p, bucket, position in targets:
        padded_values = [NONE if v is None else v for v in values] + [0] * (width - len(values))
        result[((n, kind, values), p)] = found[(n, kind, bucket, *padded_values, position)]
    return result

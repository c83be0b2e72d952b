"""The daily aggregates (PostgreSQL): rolling days up, and reading a period back.

A period's counts (tickets created, resolved once, reopened, resolved; SLA clocks
finished, met in time, breached; survey invitations and their answers) are sums over
its local days, per breakdown group. Its exact nearest-rank percentiles come from the
days' histograms of the met clocks' business seconds (added up, they locate the bucket
holding each rank) and the seconds of that bucket only (`SlaTotals`; stored days keep
them by bucket in `BucketSeconds`). So `daily_sql` computes a set of days'
`DailyFigures` rows from the tickets, clocks and invitations
(index-only reads of ticket_dept_created, ticket_dept_resolved,
slaclock_dept_met_groups and slaclock_dept_late_groups, grouped by day and each
dimension at once), and serves twice:

- `daily_rollup` (a Celery beat task) stores them for every local day that ended before
  ROLL_AFTER ago, and each month's own row with its last day; and re-rolls each day the
  triggers (`dashboards.triggers`) noted as changed since, with its month;
- `period_rows` reads a period: the stored rows of its rolled, unchanged days (a whole
  month's from its own row), and `daily_sql` over the rest (the last days, a changed
  day not re-rolled yet, days never rolled). Each figure is therefore what the tickets
  and clocks say at the moment the dashboard asks, whether or not the roll-up has run.

Days are the department's local days (its calendar's zone); a department whose zone
changed has its days rolled again from the start, and read live until then.
"""

from __future__ import annotations

import sys
import zoneinfo
from array import array
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, NamedTuple

import numpy as np
from django.db import connection, transaction

from dashboards.models import SLA_MET_KEYS, BucketSeconds, DailyFigures, DailyRollup, StaleDay
from slas.models import SlaClock
from surveys.models import SurveyInvitation
from tickets.models import Department, Ticket
from tickets.selectors import department_time_zone, local_days

# A local day is rolled up once it has been over this long. The triggers note only
# instants over 12 hours old (dashboards.triggers), so a change they did not note was made
# by a transaction that began under 12 hours after the instant it wrote, and a day is
# rolled 14 hours after it ended: the roll-up misses such a change only if that
# transaction had run for over 2 hours when the roll-up read the day (the tasks' and
# requests' time limits are minutes). Today is always live; yesterday until 14:00.
ROLL_AFTER = timedelta(hours=14)
DAY = timedelta(days=1)

Dimension = DailyFigures.Dimension
# The columns of each dimension, in GROUPING order: (tickets, clocks).
DIMENSION_COLUMNS = (
    ("requesting_department_id", "finished_requesting_department_id"),
    ("request_type_id", "finished_request_type_id"),
    ("assignee_id", "finished_assignee_id"),
    ("priority", "finished_priority"),
)
# The survey invitations created on the day (surveys.stats.SURVEY_AGGREGATES), for
# everything and by requesting department only.
SURVEY_FIELDS = (
    "invited", "responses", "score_sum", "nps_responses", "promoters", "detractors",
    "anonymous_answers", "s1", "s2", "s3", "s4", "s5",
)  # fmt: skip
_SURVEY_SQL = (
    "COUNT(*), COUNT(score), COALESCE(SUM(score), 0), COUNT(nps), "
    "COUNT(nps) FILTER (WHERE nps >= 9), COUNT(nps) FILTER (WHERE nps <= 6), "
    "COUNT(score) FILTER (WHERE anonymous), "
    + ", ".join(f"COUNT(score) FILTER (WHERE score = {n})" for n in range(1, 6))
)
FIELDS = (
    "department_id", "day", "dimension", "key", "created", "resolved_once", "reopened",
    "resolved", "fr_finished", "fr_met", "fr_breached", "fr_seconds", "fr_histogram",
    "res_finished", "res_met", "res_breached", "res_seconds", "res_histogram",
    *SURVEY_FIELDS,
)  # fmt: skip
# The columns of DailyFigures among them: the seconds go to BucketSeconds.
STORED = tuple(f for f in FIELDS if not f.endswith("_seconds"))


def _bounds() -> tuple[int, ...]:
    """The buckets' lower bounds: every second up to 32, then about 3 % wider each (a
    32nd of a natural log unit, as slas.models.CONSUMED_BUCKET), to 2**31. Integers, so
    SQL (width_bucket) and Python (numpy.searchsorted) bucket a value alike, exactly."""
    bounds, bound = [], 1
    while bound < 2**31:
        bounds.append(bound)
        bound += max(1, bound // 32)
    return tuple(bounds)


# Bucket i holds the seconds s with BOUNDS[i - 1] <= s < BOUNDS[i] (bucket 0: s < 1);
# width_bucket(s, BOUNDS) is i. Stored histograms count in these buckets: never change
# them without a migration that drops the rolled rows.
BOUNDS = _bounds()
_BOUNDS_SQL = "'{" + ",".join(map(str, BOUNDS)) + "}'::int[]"
# A histogram's (bucket, count) pairs as stored (int2send || int4send).
HISTOGRAM = np.dtype([("bucket", ">i2"), ("count", ">i4")])
# Each dimension's grouping set: of the tickets and clocks, and of the invitations.
_SET_OF = {
    Dimension.ALL: "(d, day)",
    Dimension.REQUESTING_DEPARTMENT: "(d, day, r)",
    Dimension.REQUEST_TYPE: "(d, day, t)",
    Dimension.ASSIGNEE: "(d, day, a)",
    Dimension.PRIORITY: "(d, day, p)",
}
_SURVEY_SET_OF = {
    Dimension.ALL: "(d, day)",
    Dimension.REQUESTING_DEPARTMENT: "(d, day, r)",
    Dimension.SURVEY_SLA: "(d, day, m)",
}
# An invitation's SURVEY_SLA key (models.SLA_MET_KEYS; NULL, "no SLA", is key 0).
_SLA_MET_KEY = (
    f"CASE sla_met WHEN TRUE THEN {SLA_MET_KEYS[True]} WHEN FALSE THEN {SLA_MET_KEYS[False]} END"
)


@dataclass(frozen=True)
class DayRange:
    """Local days [first, last] of `departments`, all in zone `tz`."""

    departments: tuple[int, ...]
    tz: zoneinfo.ZoneInfo
    first: date
    last: date


def daily_sql(
    ranges: Sequence[DayRange],
    dimensions: Sequence[int] | None = None,
    *,
    months: bool = False,
    packed: bool = True,
) -> tuple[str, list[Any]]:
    """SELECT of the DailyFigures rows (FIELDS, in order) of `ranges`: for each
    department, local day and group, what `DailyFigures` says. Rows only for groups with
    something to count; every dimension's rows add up to the day's dimension-0 row. Only
    the rows of `dimensions` when given (dimension 0's resolved count is always there).
    With `months`: a row per local month instead (`day` its first), of the ranges' days.
    The met seconds come as a sorted int[]; their histograms with `packed` (a roll-up),
    else NULL (a read: Python computes them faster, `_live_row`)."""
    unit = (
        "date_trunc('month', {0} AT TIME ZONE %s)::date"
        if months
        else "({0} AT TIME ZONE %s)::date"
    )
    wanted = [Dimension(d) for d in (dimensions or Dimension.values)]
    # The tickets and clocks are grouped by dimension 0 at least (its resolved count).
    ticket_wanted = [d for d in wanted if d in _SET_OF] or [Dimension.ALL]
    sets = f"GROUPING SETS ({', '.join(_SET_OF[d] for d in ticket_wanted)})"
    dimension_of, key_of = _dimension_and_key(ticket_wanted, _SET_OF)
    created, resolved, clocks, invitations = [], [], [], []
    params: dict[str, list[Any]] = {"created": [], "resolved": [], "clocks": [], "surveys": []}
    survey_wanted = [d for d in wanted if d in _SURVEY_SET_OF]
    survey_sets = [_SURVEY_SET_OF[d] for d in survey_wanted]
    invitation = SurveyInvitation._meta.db_table
    ticket = Ticket._meta.db_table
    clock = SlaClock._meta.db_table
    t_groups = ", ".join(f"{c} AS {n}" for (c, _), n in zip(DIMENSION_COLUMNS, "rtap", strict=True))
    c_groups = ", ".join(f"{c} AS {n}" for (_, c), n in zip(DIMENSION_COLUMNS, "rtap", strict=True))
    kinds = (SlaClock.Kind.FIRST_RESPONSE, SlaClock.Kind.RESOLUTION)
    for r in ranges:
        since, until = local_days(first_day=r.first, last_day=r.last, tz=r.tz)
        ids = ", ".join(["%s"] * len(r.departments))
        created.append(  # (table and column names from the code; values are parameters)
            f"SELECT department_id AS d, {unit.format('created_at')} AS day, {t_groups}, "  # noqa: S608
            f"resolved_at, reopen_count FROM {ticket} WHERE department_id IN ({ids}) "
            "AND created_at >= %s AND created_at < %s"
        )
        params["created"] += [r.tz.key, *r.departments, since, until]
        resolved.append(
            f"SELECT department_id AS d, {unit.format('resolved_at')} AS day FROM {ticket} "  # noqa: S608
            f"WHERE department_id IN ({ids}) AND resolved_at >= %s AND resolved_at < %s "
            "AND status IN (%s, %s)"
        )
        params["resolved"] += [
            r.tz.key, *r.departments, since, until, Ticket.Status.RESOLVED, Ticket.Status.CLOSED,
        ]  # fmt: skip
        clocks.append(
            f"SELECT department_id AS d, {unit.format('met_at')} AS day, kind, TRUE AS met, "  # noqa: S608
            f"breached_at IS NOT NULL AS breached, consumed_seconds AS s, {c_groups} FROM {clock} "
            f"WHERE state = %s AND department_id IN ({ids}) AND met_at >= %s AND met_at < %s "
            "AND kind IN (%s, %s) UNION ALL "
            f"SELECT department_id, {unit.format('stopped_at')}, kind, FALSE, TRUE, NULL, "
            f"{c_groups} FROM {clock} WHERE state = %s AND breached_at IS NOT NULL "
            f"AND department_id IN ({ids}) AND stopped_at >= %s AND stopped_at < %s "
            "AND kind IN (%s, %s)"
        )
        params["clocks"] += [
            r.tz.key, SlaClock.State.MET, *r.departments, since, until, *kinds,
            r.tz.key, SlaClock.State.STOPPED, *r.departments, since, until, *kinds,
        ]  # fmt: skip
        invitations.append(
            f"SELECT department_id AS d, {unit.format('created_at')} AS day, "  # noqa: S608
            f"requesting_department_id AS r, {_SLA_MET_KEY} AS m, score, nps, anonymous "
            f"FROM {invitation} "
            f"WHERE department_id IN ({ids}) AND created_at >= %s AND created_at < %s "
            "AND withdrawn_at IS NULL"
        )
        params["surveys"] += [r.tz.key, *r.departments, since, until]
    fr, res = kinds
    no_surveys = ", ".join("0" for _ in SURVEY_FIELDS)
    surveys = ""
    if survey_sets:  # (names from the code; values are parameters)
        survey_dimension, survey_key = _dimension_and_key(survey_wanted, _SURVEY_SET_OF)
        surveys = (
            f"UNION ALL SELECT d, day, {survey_dimension}, {survey_key}, "  # noqa: S608
            "0, 0, 0, 0, 0, 0, 0, NULL, 0, 0, 0, NULL, "
            f"{_SURVEY_SQL} FROM ({' UNION ALL '.join(invitations)}) invitations "
            f"GROUP BY GROUPING SETS ({', '.join(survey_sets)})"
        )

    def per_kind(kind: str) -> str:
        return (
            f"COUNT(*) FILTER (WHERE kind = '{kind}'), "
            f"COUNT(*) FILTER (WHERE kind = '{kind}' AND met AND NOT breached), "
            f"COUNT(*) FILTER (WHERE kind = '{kind}' AND breached), "
            f"array_agg(s ORDER BY s) FILTER (WHERE kind = '{kind}' AND met)"
        )

    def with_histogram(kind: str) -> str:
        """A kind's sorted seconds (int[]), and with `packed` their histogram as
        (bucket, count) pairs (HISTOGRAM)."""
        return f"g.{kind}_seconds, " + (f"{kind}_h.pairs" if packed else "NULL::bytea")

    def histogram(kind: str) -> str:
        if not packed:
            return ""
        return (
            "LEFT JOIN LATERAL (SELECT "  # noqa: S608
            "string_agg(int2send(b::int2) || int4send(n::int), ''::bytea ORDER BY b) AS pairs "
            f"FROM (SELECT width_bucket(v, {_BOUNDS_SQL}) AS b, COUNT(*) AS n "
            f"FROM unnest(g.{kind}_seconds) v GROUP BY 1) h) {kind}_h ON TRUE"
        )

    sql = f"""
        SELECT d, day, dim, key, created, resolved_once, reopened, resolved, fr_finished,
               fr_met, fr_breached, {with_histogram("fr")}, res_finished, res_met,
               res_breached, {with_histogram("res")}, {", ".join(SURVEY_FIELDS)}
        FROM (
        SELECT d, day, dim, key, SUM(created)::int AS created,
               SUM(resolved_once)::int AS resolved_once, SUM(reopened)::int AS reopened,
               SUM(resolved)::int AS resolved, SUM(fr_finished)::int AS fr_finished,
               SUM(fr_met)::int AS fr_met, SUM(fr_breached)::int AS fr_breached,
               MAX(fr_seconds) AS fr_seconds, SUM(res_finished)::int AS res_finished,
               SUM(res_met)::int AS res_met, SUM(res_breached)::int AS res_breached,
               MAX(res_seconds) AS res_seconds,
               {", ".join(f"SUM({f})::int AS {f}" for f in SURVEY_FIELDS)}
        FROM (
            SELECT d, day, {dimension_of} AS dim, {key_of} AS key,
                   COUNT(*) AS created, COUNT(resolved_at) AS resolved_once,
                   COUNT(resolved_at) FILTER (WHERE reopen_count > 0) AS reopened,
                   0 AS resolved, 0 AS fr_finished, 0 AS fr_met, 0 AS fr_breached,
                   NULL::int[] AS fr_seconds, 0 AS res_finished, 0 AS res_met,
                   0 AS res_breached, NULL::int[] AS res_seconds,
                   {", ".join(f"0 AS {f}" for f in SURVEY_FIELDS)}
            FROM ({" UNION ALL ".join(created)}) created GROUP BY {sets}
            UNION ALL
            SELECT d, day, 0, 0, 0, 0, 0, COUNT(*), 0, 0, 0, NULL, 0, 0, 0, NULL, {no_surveys}
            FROM ({" UNION ALL ".join(resolved)}) resolved GROUP BY d, day
            UNION ALL
            SELECT d, day, {dimension_of}, {key_of}, 0, 0, 0, 0,
                   {per_kind(fr)}, {per_kind(res)}, {no_surveys}
            FROM ({" UNION ALL ".join(clocks)}) clocks GROUP BY {sets}
            {surveys}
        ) parts
        GROUP BY d, day, dim, key
        ) g {histogram("fr")} {histogram("res")}
    """  # noqa: S608 (table and column names from the code; values are parameters)
    return sql, [*params["created"], *params["resolved"], *params["clocks"], *params["surveys"]]


def _dimension_and_key(
    wanted: Sequence[Dimension], set_of: dict[Dimension, str]
) -> tuple[str, str]:
    """SQL of a grouped row's dimension and key, grouped by the `wanted` sets of `set_of`.
    The dimension from GROUPING(the grouped columns): a bit mask, a set bit for each
    column the row is not grouped by; the key is the one column it is grouped by."""
    grouped = [d for d in wanted if d != Dimension.ALL]
    if not grouped:
        return "0", "0"
    columns = [set_of[d][-2] for d in grouped]
    everything = (1 << len(columns)) - 1
    cases = " ".join(
        f"WHEN {everything ^ (1 << (len(columns) - 1 - i))} THEN {d.value}"
        for i, d in enumerate(grouped)
    )
    return (
        f"CASE GROUPING({', '.join(columns)}) {cases} ELSE 0 END",
        f"COALESCE({', '.join(columns)}, 0)",
    )


# --- Rolling up -------------------------------------------------------------------------


def daily_rollup(*, now: datetime) -> int:
    """Roll up every department's local days that ended ROLL_AFTER ago and are not rolled
    yet, and re-roll those noted stale; returns how many days were (re)rolled. Safe to
    run twice at once (each department's writes are serialised by an advisory lock, and
    a day is replaced whole) and after a crash (the watermark moves last). Nothing to do
    on other databases: their dashboards compute every figure directly."""
    if connection.vendor != "postgresql":
        return 0
    rolled = 0
    for department in Department.objects.select_related("calendar").order_by("pk"):
        rolled += _rollup_department(department, now=now)
    return rolled


def _rollup_department(department: Department, *, now: datetime) -> int:
    tz = department_time_zone(department)
    horizon = first_live_day(now=now, tz=tz)
    state = DailyRollup.objects.filter(department=department).first()
    if state is not None and state.time_zone != tz.key:
        state = None  # rolled in another zone: start again
    # The markers to clear are those read before the days are computed: a change noted
    # after this read keeps its marker, and its day is re-rolled next time.
    markers = list(StaleDay.objects.filter(department_id=department.pk).values_list("id", "day"))
    stale: set[date] = set()
    if state is not None:
        for _, utc_day in markers:
            stale |= {d for d in _local_days_of(utc_day, tz) if d < state.rolled_until}
        start = state.rolled_until
    else:  # nothing rolled, or rolled in another zone: none of it stands
        first = Ticket.objects.filter(department=department).order_by("created_at").first()
        start = first.created_at.astimezone(tz).date() if first else horizon
        DailyFigures.objects.filter(department=department).delete()
    # A month's own row is rolled with its last day, and again with any of its days.
    rolled_until = state.rolled_until if state is not None else start
    for first_day, last_day in _month_runs(sorted(stale)):
        _roll(department.pk, tz, first_day, last_day, month=_month_end(first_day) < rolled_until)
    new = [start + timedelta(days=n) for n in range((horizon - start).days)]
    for first_day, last_day in _month_runs(new):
        _roll(department.pk, tz, first_day, last_day, month=last_day == _month_end(last_day))
        # Moved on after each month, so a run cut short (the task's time limit on a first
        # roll-up of years of history) is carried on by the next one.
        _watermark(department, rolled_until=last_day + DAY, tz=tz, now=now)
    with transaction.atomic():
        StaleDay.objects.filter(id__in=[pk for pk, _ in markers]).delete()
        _watermark(department, rolled_until=max(horizon, start), tz=tz, now=now)
    return len(stale) + len(new)


def first_live_day(*, now: datetime, tz: zoneinfo.ZoneInfo) -> date:
    """The first local day not to roll up at `now`: the day that was current ROLL_AFTER
    ago (it had not ended then)."""
    return (now - ROLL_AFTER).astimezone(tz).date()


def _watermark(
    department: Department, *, rolled_until: date, tz: zoneinfo.ZoneInfo, now: datetime
) -> None:
    DailyRollup.objects.update_or_create(
        department=department,
        defaults={"rolled_until": rolled_until, "time_zone": tz.key, "rolled_at": now},
    )


def _roll(department: int, tz: zoneinfo.ZoneInfo, first: date, last: date, *, month: bool) -> None:
    """Roll the days [first, last] (one month's at most) up, and their month's own row
    with them when `month` (the month is over and rolled up): the DailyFigures rows and
    their met seconds by bucket (BucketSeconds), from one computation of `daily_sql`."""
    parts = [(first, last, False)]
    if month:
        parts.append((first.replace(day=1), _month_end(first), True))
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [0x6461696C, department])
        for since, until, months in parts:
            sql, params = daily_sql([DayRange((department,), tz, since, until)], months=months)
            for model in (DailyFigures, BucketSeconds):
                cursor.execute(
                    f"DELETE FROM {model._meta.db_table} WHERE department_id = %s "  # noqa: S608
                    "AND month = %s AND day >= %s AND day <= %s",
                    [department, months, since, until],
                )
            cursor.execute(_stored_sql(sql), [*params, months, months])


def _stored_sql(rows: str) -> str:
    """The rows of `daily_sql` (`rows`) stored: DailyFigures the counts and histograms,
    BucketSeconds the seconds by bucket, sorted (inserted in the order its index reads
    them). Parameters: those of `rows`, then `month` twice."""
    return f"""
    WITH r ({", ".join(FIELDS)}) AS MATERIALIZED ({rows}),
    figures AS (
        INSERT INTO {DailyFigures._meta.db_table} ({", ".join(STORED)}, month)
        SELECT {", ".join(STORED)}, %s FROM r
    )
    INSERT INTO {BucketSeconds._meta.db_table}
        (department_id, dimension, key, kind, bucket, month, day, seconds)
    SELECT department_id, dimension, key, kind, width_bucket(v, {_BOUNDS_SQL}), %s, day,
           string_agg(int4send(v), ''::bytea ORDER BY v)
    FROM (
        SELECT department_id, dimension, key, day,
               {BucketSeconds.Kind.FIRST_RESPONSE.value} AS kind, unnest(fr_seconds) AS v FROM r
        UNION ALL
        SELECT department_id, dimension, key, day, {BucketSeconds.Kind.RESOLUTION.value},
               unnest(res_seconds) FROM r
    ) s
    GROUP BY department_id, dimension, key, kind, 5, day
    ORDER BY dimension, key, kind, 5, day
    """  # noqa: S608 (names from the code; values are parameters)


def _month_end(day: date) -> date:
    following = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return following - DAY


def _local_days_of(utc_day: date, tz: zoneinfo.ZoneInfo) -> set[date]:
    """The local days that the UTC day overlaps (one or two)."""
    start = datetime.combine(utc_day, datetime.min.time(), tzinfo=UTC)
    return {
        start.astimezone(tz).date(),
        (start + DAY - timedelta(microseconds=1)).astimezone(tz).date(),
    }


def _runs(days: Sequence[date]) -> list[tuple[date, date]]:
    """Sorted days as runs of consecutive days [first, last]."""
    runs: list[tuple[date, date]] = []
    for day in days:
        if runs and runs[-1][1] + DAY == day:
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def _month_runs(days: Sequence[date]) -> list[tuple[date, date]]:
    """`_runs` cut where a month ends: each within one month."""
    runs: list[tuple[date, date]] = []
    for first, last in _runs(days):
        while first <= last:
            end = min(last, _month_end(first))
            runs.append((first, end))
            first = end + DAY
    return runs


# --- Reading a period -------------------------------------------------------------------


class DayRow(NamedTuple):
    """One row of FIELDS (department_id, day, dimension, key, counts, seconds,
    histograms); or several stored days of one group added up (`day` their first, or
    their week's Monday for dimension 0; the histograms then one after the other, the
    seconds left in the database: None)."""

    department_id: int
    day: date
    dimension: int
    key: int
    created: int
    resolved_once: int
    reopened: int
    resolved: int
    fr_finished: int
    fr_met: int
    fr_breached: int
    fr_seconds: list[int] | None  # sorted; a live day's only (BucketSeconds: stored days')
    fr_histogram: bytes | None  # (bucket, count) pairs, HISTOGRAM
    res_finished: int
    res_met: int
    res_breached: int
    res_seconds: list[int] | None
    res_histogram: bytes | None
    # The invitations created (SURVEY_FIELDS), dimensions 0 and 1 only.
    invited: int
    responses: int
    score_sum: int
    nps_responses: int
    promoters: int
    detractors: int
    anonymous_answers: int
    s1: int
    s2: int
    s3: int
    s4: int
    s5: int


@dataclass(frozen=True)
class StoredDays:
    """What a period reads of a department's stored rows: the rows of whole months
    (`months`, their firsts: over, rolled up, none of their days marked stale) and of
    the other rolled days (`days`, runs [first, last]; the stale days left out)."""

    department: int
    days: list[tuple[date, date]]
    months: list[date]

    @classmethod
    def of(cls, department: int, first: date, last: date, skipped: Sequence[date]) -> StoredDays:
        """The rolled days [first, last] but `skipped`, whole months read as such."""
        months: list[date] = []
        month = first if first.day == 1 else _month_end(first) + DAY
        while _month_end(month) <= last:
            if not any(month <= d <= _month_end(month) for d in skipped):
                months.append(month)
            month = _month_end(month) + DAY
        # The runs between the whole months and the skipped days (none of which lies in
        # a whole month), without listing the days.
        left_out = sorted([(m, _month_end(m)) for m in months] + [(d, d) for d in skipped])
        runs: list[tuple[date, date]] = []
        start = first
        for lo, hi in left_out:
            if start < lo:
                runs.append((start, lo - DAY))
            start = max(start, hi + DAY)
        if start <= last:
            runs.append((start, last))
        return cls(department, runs, months)


@dataclass(frozen=True)
class PeriodRows:
    """`period_rows`: the rows, and which stored days they add up (where `SlaTotals`
    reads the seconds of the buckets holding the percentiles)."""

    rows: list[DayRow]
    stored: list[StoredDays]


def period_rows(
    *, departments: Sequence[tuple[int, zoneinfo.ZoneInfo]], first_day: date, last_day: date,
    dimensions: Sequence[int] | None = None, seconds: Sequence[str] = ("fr_seconds", "res_seconds"),
) -> PeriodRows:  # fmt: skip
    """Every DailyFigures row of the departments' local days [first_day, last_day] (each
    department in its zone) as the tickets and clocks say now: stored rows for the rolled
    days no trigger marked since (added up per group in the database), `daily_sql` for
    the others. Four queries at most (the watermarks, the stale days, the stored rows,
    the live ones). The seconds and histograms of a kind not in `seconds` are left out
    (None), for figures that need no percentile."""
    ids = [pk for pk, _ in departments]
    states = {s.department_id: s for s in DailyRollup.objects.filter(department__in=ids)}
    stale: dict[int, set[date]] = defaultdict(set)
    if states:
        marked = (
            StaleDay.objects.filter(
                department_id__in=list(states), day__gte=first_day - DAY, day__lte=last_day + DAY
            )
            .values_list("department_id", "day")
            .distinct()
        )
        for pk, utc_day in marked:
            stale[pk] |= _local_days_of(utc_day, _zone(departments, pk))
    stored: list[StoredDays] = []
    live: dict[tuple[str, date, date], list[int]] = defaultdict(list)
    for pk, tz in departments:
        state = states.get(pk)
        rolled_last = last_day
        if state is None or state.time_zone != tz.key:
            rolled_last = first_day - DAY  # nothing rolled
        else:
            rolled_last = min(last_day, state.rolled_until - DAY)
        if rolled_last >= first_day:
            skipped = sorted(d for d in stale[pk] if first_day <= d <= rolled_last)
            stored.append(StoredDays.of(pk, first_day, rolled_last, skipped))
            live_days = [*skipped]
        else:
            live_days = []
        day = max(first_day, rolled_last + DAY)
        while day <= last_day:
            live_days.append(day)
            day += DAY
        for first, last in _runs(sorted(live_days)):
            live[(tz.key, first, last)].append(pk)
    rows: list[DayRow] = []
    if stored:
        rows += _stored_rows(stored, dimensions=dimensions, seconds=seconds)
    if live:
        ranges = [
            DayRange(tuple(pks), zoneinfo.ZoneInfo(key), first, last)
            for (key, first, last), pks in live.items()
        ]
        sql, params = daily_sql(ranges, dimensions, packed=False)
        # The same rows as the stored ones: without the kinds not asked for.
        kinds = [kind for kind in ("fr", "res") if f"{kind}_seconds" in seconds]
        unasked: dict[str, Any] = {
            f"{kind}_{part}": None
            for kind in ("fr", "res")
            if kind not in kinds
            for part in ("seconds", "histogram")
        }
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows += [
                _live_row(DayRow(*row), kinds)._replace(**unasked)
                for row in cursor.fetchall()
                if dimensions is None or row[2] in dimensions
            ]
    return PeriodRows(rows, stored)


_BOUNDS_ARRAY = np.array(BOUNDS, dtype=np.int64)


def _live_row(row: DayRow, kinds: Sequence[str]) -> DayRow:
    """A row read by `daily_sql` without `packed`: its seconds (sorted lists) with
    their histograms, as the stored rows' (width_bucket's buckets), for `kinds`."""
    found: dict[str, Any] = {}
    for kind in kinds:
        values = getattr(row, f"{kind}_seconds")
        if values is None:
            continue
        buckets, counts = np.unique(
            np.searchsorted(_BOUNDS_ARRAY, np.array(values, dtype=np.int64), side="right"),
            return_counts=True,
        )
        pairs = np.empty(len(buckets), dtype=HISTOGRAM)
        pairs["bucket"], pairs["count"] = buckets, counts
        found[f"{kind}_histogram"] = pairs.tobytes()
    return row._replace(**found) if found else row


def _zone(departments: Sequence[tuple[int, zoneinfo.ZoneInfo]], pk: int) -> zoneinfo.ZoneInfo:
    return next(tz for d, tz in departments if d == pk)


def _stored_condition(stored: Iterable[StoredDays]) -> tuple[str, list[Any]]:
    """The stored rows that add up to the periods' figures (`f`: DailyFigures): the
    whole months' rows and the other days'."""
    conditions: list[str] = []
    params: list[Any] = []
    for part in stored:
        for first, last in part.days:
            conditions.append(
                "(f.department_id = %s AND f.day >= %s AND f.day <= %s AND NOT f.month)"
            )
            params += [part.department, first, last]
        if part.months:
            conditions.append("(f.department_id = %s AND f.day = ANY(%s) AND f.month)")
            params += [part.department, part.months]
    return f"({' OR '.join(conditions) or 'FALSE'})", params


def _month_days_condition(stored: Iterable[StoredDays]) -> tuple[str, list[Any]]:
    """The day rows of the whole months' days (`f`), for their weeks' counts."""
    conditions: list[str] = []
    params: list[Any] = []
    for part in stored:
        for first, last in _runs(
            [m + timedelta(days=n) for m in part.months for n in range(_month_end(m).day)]
        ):
            conditions.append(
                "(f.department_id = %s AND f.day >= %s AND f.day <= %s AND NOT f.month)"
            )
            params += [part.department, first, last]
    return f"({' OR '.join(conditions) or 'FALSE'})", params


# What dimension 0 counts per week (the weekly volume, the weekly satisfaction).
WEEKLY = ("created", "resolved_once", "reopened", "resolved", *SURVEY_FIELDS)


def _stored_rows(
    stored: Iterable[StoredDays], *, dimensions: Sequence[int] | None, seconds: Sequence[str]
) -> list[DayRow]:
    # Added up in the database: a row per group (and per week for dimension 0, which the
    # weekly volume needs), not per day, so Python handles a few hundred rows whatever the
    # period; each group's histograms come back as one concatenation, the seconds stay
    # here (SlaTotals reads the few it needs). Dimension 0 counts tickets and survey
    # invitations per week: a whole month's row gives its SLA figures, its days' rows
    # its tickets and invitations.
    stored = list(stored)
    week = f"CASE WHEN dimension = {Dimension.ALL} THEN date_trunc('week', day)::date END"

    def total(field: str) -> str:
        if field.endswith("_seconds"):
            return "NULL"
        if field.endswith("_histogram"):
            wanted = field.replace("_histogram", "_seconds") in seconds
            return f"string_agg({field}, ''::bytea)" if wanted else "NULL"
        return f"SUM({field})::int"

    summed = list(STORED[4:])

    def picked(field: str) -> str:
        if field in WEEKLY:
            return (
                f"CASE WHEN f.month AND f.dimension = {Dimension.ALL} THEN 0 ELSE {field} END "
                f"AS {field}"
            )
        return field

    sla_rows, params = _stored_condition(stored)
    parts = [
        f"SELECT department_id, day, dimension, key, {', '.join(map(picked, summed))} "  # noqa: S608
        f"FROM {DailyFigures._meta.db_table} f WHERE {sla_rows}"
    ]
    if dimensions is not None:
        parts[0] += " AND dimension = ANY(%s)"
        params.append(list(dimensions))
    if dimensions is None or Dimension.ALL in dimensions:
        month_days, more = _month_days_condition(stored)
        no_sla = ", ".join(
            f if f in WEEKLY else "NULL::bytea" if f.endswith("_histogram") else "0" for f in summed
        )
        parts.append(
            f"SELECT department_id, day, dimension, key, {no_sla} "  # noqa: S608
            f"FROM {DailyFigures._meta.db_table} f "
            f"WHERE {month_days} AND dimension = {Dimension.ALL}"
        )
        params += more
    sums = ", ".join(total(f) for f in FIELDS[4:])
    sql = f"""
        SELECT department_id, COALESCE({week}, MIN(day)) AS day, dimension, key, {sums}
        FROM ({" UNION ALL ".join(parts)}) f
        GROUP BY department_id, dimension, key, {week}
    """  # noqa: S608 (names from the code; values are parameters)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [DayRow(*row) for row in cursor.fetchall()]


# finished, met (without a breach), breached, median and 90th percentile of met seconds
Figures = tuple[int, int, int, int | None, int | None]
PERCENTILES = (50, 90)
KINDS = (SlaClock.Kind.FIRST_RESPONSE, SlaClock.Kind.RESOLUTION)


class SlaTotals:
    """Several DayRows' SLA counts and histograms added up per key (a breakdown group, a
    map cell, a total), and each target's figures from them: the counts, and the exact
    nearest-rank median and 90th percentile of the met clocks' seconds (None without any:
    the rows were read without them, or nothing was met; or not among the `percentiles`
    asked for).

    A percentile p of n values is the r-th smallest, r = ceil(p n / 100) (percentile_disc's
    definition). The key's histogram (numpy adds up its rows' (bucket, count) pairs) says
    which bucket holds rank r and at which position in it; the value there is the one at
    that position among the bucket's seconds of all the key's days: the stored days' and
    months' BucketSeconds rows of that bucket (one query for every key, `_bucket_seconds`)
    and a slice of each live day's list, merged. So a year costs its histograms and a few
    buckets' seconds, not a sort of every value."""

    def __init__(self, period: PeriodRows, percentiles: Sequence[int] = PERCENTILES) -> None:
        self._stored = period.stored
        self._percentiles = percentiles
        self._counts: dict[tuple[str, Hashable], list[int]] = defaultdict(lambda: [0, 0, 0])
        self._histograms: dict[tuple[str, Hashable], list[bytes]] = defaultdict(list)
        # The stored groups (department, dimension, key) whose days hold the key's seconds.
        self._sources: dict[tuple[str, Hashable], set[tuple[int, int, int]]] = defaultdict(set)
        self._live: dict[tuple[str, Hashable], list[list[int]]] = defaultdict(list)
        # Every stored group with met clocks of a kind, per (kind, department, dimension):
        # a key whose sources are all of them holds the department's dimension-0 seconds.
        self._groups: dict[tuple[str, int, int], set[int]] = defaultdict(set)
        for row in period.rows:
            for kind, values, histogram in (
                (KINDS[0], row.fr_seconds, row.fr_histogram),
                (KINDS[1], row.res_seconds, row.res_histogram),
            ):
                if histogram and values is None:
                    self._groups[(kind, row.department_id, row.dimension)].add(row.key)

    def add(self, key: Hashable, row: DayRow) -> None:
        fr, res = KINDS
        for kind, finished, met, breached, values, histogram in (
            (fr, row.fr_finished, row.fr_met, row.fr_breached, row.fr_seconds, row.fr_histogram),
            (res, row.res_finished, row.res_met, row.res_breached, row.res_seconds,
             row.res_histogram),
        ):  # fmt: skip
            if finished:
                total = self._counts[(kind, key)]
                total[0] += finished
                total[1] += met
                total[2] += breached
            if histogram:
                self._histograms[(kind, key)].append(histogram)
                if values is None:  # stored days: the seconds are in the database
                    self._sources[(kind, key)].add((row.department_id, row.dimension, row.key))
                else:
                    self._live[(kind, key)].append(values)

    def figures(self) -> Iterator[tuple[str, Hashable, Figures]]:
        """(kind, key, (finished, met, breached, median, p90)) for each key and kind with
        finished clocks."""
        # (kind, key) -> [(percentile, bucket, position in the bucket, 1-based)]
        targets: dict[tuple[str, Hashable], list[tuple[int, int, int]]] = {}
        for kind_key, parts in self._histograms.items():
            pairs = np.frombuffer(b"".join(parts), dtype=HISTOGRAM)
            per_bucket = np.bincount(
                pairs["bucket"], weights=pairs["count"], minlength=len(BOUNDS) + 1
            )
            # Counts are far below 2**53: exact as float64.
            cumulative = np.cumsum(per_bucket)
            n = int(cumulative[-1])
            found = []
            for p in self._percentiles:
                rank = -(-p * n // 100)
                bucket = int(np.searchsorted(cumulative, rank))  # first with >= rank
                before = int(cumulative[bucket - 1]) if bucket else 0
                found.append((p, bucket, rank - before))
            targets[kind_key] = found
        seconds = self._bucket_seconds(
            {(kind_key, bucket) for kind_key, found in targets.items() for _, bucket, _ in found}
        )
        for (kind, key), (finished, met, breached) in self._counts.items():
            at = {p: seconds[((kind, key), b)][i - 1] for p, b, i in targets.get((kind, key), [])}
            yield kind, key, (finished, met, breached, at.get(50), at.get(90))

    def _fewest_sources(self, kind: str, key: Hashable) -> set[tuple[int, int, int]]:
        """The key's stored groups, but a department's dimension-0 group for all of its
        groups of a dimension (every dimension's groups add up to dimension 0: a map
        total reads a row per provider, not one per provider and requester)."""
        sources = self._sources.get((kind, key), set())
        by_dimension: dict[tuple[int, int], set[int]] = defaultdict(set)
        for department, dimension, group in sources:
            by_dimension[(department, dimension)].add(group)
        fewest = set()
        for (department, dimension), groups in by_dimension.items():
            whole = (department, Dimension.ALL.value, 0)
            if (
                len(groups) > 1
                and whole not in sources  # (counted twice then: the key's histogram says so)
                and groups == self._groups[(kind, department, dimension)]
            ):
                fewest.add(whole)
            else:
                fewest |= {(department, dimension, group) for group in groups}
        return fewest

    def _bucket_seconds(
        self, wanted: set[tuple[tuple[str, Hashable], int]]
    ) -> dict[tuple[tuple[str, Hashable], int], list[int]]:
        """(kind, key), bucket -> the sorted seconds in the bucket of the key's days."""
        found: dict[tuple[tuple[str, Hashable], int], list[int]] = defaultdict(list)
        columns: list[list[Any]] = [[] for _ in range(6)]  # id, department, dim, key, kind, bucket
        asked = list(wanted)
        for n, ((kind, key), bucket) in enumerate(asked):
            lo, hi = _bucket_range(bucket)
            for values in self._live.get((kind, key), ()):
                found[asked[n]] += values[bisect_left(values, lo) : bisect_left(values, hi)]
            for department, dimension, group in self._fewest_sources(kind, key):
                row = (n, department, dimension, group, _STORED_KIND[kind], bucket)
                for column, value in zip(columns, row, strict=True):
                    column.append(value)
        if columns[0]:
            # Each target's rows in BucketSeconds: one range of its index per run of the
            # period's stored days, and one per run of its whole months.
            runs: list[list[Any]] = [[] for _ in range(4)]  # department, month, first, last
            for part in self._stored:
                for month, spans in ((False, part.days), (True, _month_runs_of(part.months))):
                    for first, last in spans:
                        for column, cell in zip(
                            runs, (part.department, month, first, last), strict=True
                        ):
                            column.append(cell)
            sql = f"""
                SELECT t.id, string_agg(s.seconds, ''::bytea)
                FROM unnest(%s::int[], %s::int[], %s::int[], %s::int[], %s::int2[], %s::int2[])
                     AS t(id, d, dim, k, kind, bucket)
                JOIN unnest(%s::int[], %s::bool[], %s::date[], %s::date[])
                     AS p(d, month, first, last) ON p.d = t.d
                CROSS JOIN LATERAL (
                    SELECT seconds FROM {BucketSeconds._meta.db_table} s
                    WHERE s.department_id = t.d AND s.dimension = t.dim AND s.key = t.k
                      AND s.kind = t.kind AND s.bucket = t.bucket AND s.month = p.month
                      AND s.day >= p.first AND s.day <= p.last
                    OFFSET 0  -- (not flattened: every condition is the index range's)
                ) s
                GROUP BY t.id
            """  # noqa: S608 (names from the code; values are parameters)
            with connection.cursor() as cursor:
                cursor.execute(sql, [*columns, *runs])
                for n, values in cursor.fetchall():
                    found[asked[n]] += _unpacked(values)
        for values in found.values():
            values.sort()
        return found


_STORED_KIND: dict[str, int] = {
    SlaClock.Kind.FIRST_RESPONSE: BucketSeconds.Kind.FIRST_RESPONSE,
    SlaClock.Kind.RESOLUTION: BucketSeconds.Kind.RESOLUTION,
}


def _month_runs_of(months: Sequence[date]) -> list[tuple[date, date]]:
    """Sorted months (their firsts) as runs of consecutive months [first, last]."""
    runs: list[tuple[date, date]] = []
    for month in months:
        if runs and _month_end(runs[-1][1]) + DAY == month:
            runs[-1] = (runs[-1][0], month)
        else:
            runs.append((month, month))
    return runs


def _unpacked(packed: bytes | memoryview) -> list[int]:
    """Packed seconds (int4send values, one after the other) as integers."""
    values = array("i")
    values.frombytes(packed)
    if sys.byteorder == "little":
        values.byteswap()  # int4send is big-endian
    return values.tolist()


def _bucket_range(bucket: int) -> tuple[int, int]:
    """[lo, hi): the seconds in the bucket."""
    lo = BOUNDS[bucket - 1] if bucket else 0
    hi = BOUNDS[bucket] if bucket < len(BOUNDS) else 2**31
    return lo, hi

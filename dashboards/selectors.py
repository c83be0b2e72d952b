"""The lead dashboard: how well a department serves the company over a period.

Which tickets a figure counts (the period is [since, until), in the department's time
zone at the edges; see `tickets.selectors.local_days`):
- SLA compliance and business times: the department's first-response and resolution
  clocks that *finished* in the period (met, or stopped after breaching), wherever the
  ticket is now. Met = met without a breach; a clock stopped without a breach (the ticket
  was cancelled, closed unresolved or transferred in time) is not counted either way.
- Median and 90th percentile: nearest rank (the smallest value with at least half, or
  nine tenths, of the values at or below it) of the business seconds of the clocks met
  in the period (`SlaClock.consumed_seconds`, already business time).
- Volume per week: tickets created in the period, and tickets resolved in it (their
  latest resolution, still resolved or closed), by the department's local week (Monday).
- Reopen rate: of the tickets created in the period that were resolved at least once,
  the share reopened at least once.
- Backlog by age, at risk now, breached now: the open tickets now, whatever the period.
  Age is wall-clock time since filing.
- Breakdowns by requesting department, request type, assignee ("Unassigned") and
  priority: volume = tickets created in the period, each in its group as it is now; SLA
  and median as above, each clock in its group as the ticket was *when the clock
  finished* (who answered or resolved it, at which priority, for which request type:
  `SlaClock.finished_*`, set by the SLA services when they meet or stop a clock; a
  reassignment after the first response does not move it, a reopened resolution leaves
  the period until it is met again); by requesting department also satisfaction from
  surveys.stats (invitations created in the period).

Every figure is aggregated by the database, exactly: a bounded number of queries (at
most fourteen: four the survey figures, three the groups' names, none for a dimension
without groups) whatever the number of tickets. The period's finished clocks are read
from slaclock_dept_met_groups and slaclock_dept_late_groups, which include everything
they count and group by: no join to the tickets. The breakdowns share the overall
figures' queries: the counts are grouped by every dimension at once and added up per
group in Python (the rows are the distinct combinations, not the tickets), the
percentiles come from one UNION ALL over the dimensions. On PostgreSQL the counts come
per bucket of business time from one hashed GROUPING SETS over the index-only rows of
`dashboards.clock_figures.finished_clock_rows`, and the exact percentiles from only the
buckets holding their ranks (`dashboards.clock_figures`: no sort of the period). Access
is the caller's to check (`department_access_for_lead`).
"""

from __future__ import annotations

import zoneinfo
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, cast

from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.models import Count, F, Max, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import TruncWeek
from django.http import Http404

from accounts.models import User
from dashboards.clock_figures import CLOCK_GROUP_DB_COLUMNS, clock_figures
from dashboards.daily import PeriodRows, SlaTotals, period_rows
from dashboards.models import SLA_MET_KEYS, DailyFigures
from slas.models import SlaClock
from surveys.models import FollowUp, SurveyInvitation, SurveyResponse
from surveys.stats import (
    DEFAULT_MIN_GROUP_SIZE,
    SURVEY_AGGREGATES,
    SurveyFigures,
    SurveyStats,
    hide_small_groups,
    invitations_in,
    survey_figures,
    survey_stats,
)
from tickets.models import Department, Priority, RequestType, Ticket
from tickets.selectors import (
    departments_for_agent,
    is_agent,
    local_days,
    user_lead_department_ids,
)

Kind = SlaClock.Kind
State = SlaClock.State
KINDS = (Kind.FIRST_RESPONSE, Kind.RESOLUTION)
DailyDimension = DailyFigures.Dimension
DAY = timedelta(days=1)
# (label, lower bound inclusive, upper bound exclusive) of an open ticket's age.
AGE_BUCKETS: tuple[tuple[str, timedelta, timedelta | None], ...] = (
    ("Under 1 day", timedelta(0), DAY),
    ("1 to 3 days", DAY, 3 * DAY),
    ("3 to 7 days", 3 * DAY, 7 * DAY),
    ("7 to 30 days", 7 * DAY, 30 * DAY),
    ("Over 30 days", 30 * DAY, None),
)
NO_DEPARTMENT = "No department"  # the label surveys.stats gives tickets without one


# --- Access and the period --------------------------------------------------------------


def department_access_for_lead(*, user: User, code: str) -> Department:
    """The department, if the user leads it (or is a superuser). Unknown code: 404; a
    department the user does not lead: 403 (its existence is no secret)."""
    department = Department.objects.select_related("calendar").filter(code=code).first()
    if department is None:
        raise Http404("No such department.")
    if not (user.is_superuser or department.pk in user_lead_department_ids(user)):
        raise PermissionDenied("Only the department's leads see its dashboard.")
    return department


def departments_for_lead(*, user: User) -> QuerySet[Department]:
    if user.is_superuser:
        return Department.objects.all()
    return Department.objects.filter(pk__in=user_lead_department_ids(user))


# --- The figures --------------------------------------------------------------------------


@dataclass(frozen=True)
class SlaFigures:
    """One target (first response or resolution) over one group of clocks."""

    finished: int = 0
    met: int = 0  # met without a breach
    breached: int = 0
    median_seconds: int | None = None
    p90_seconds: int | None = None

    @property
    def percent_met(self) -> float | None:
        return round(100 * self.met / self.finished, 1) if self.finished else None


NO_CLOCKS = SlaFigures()


@dataclass(frozen=True)
class Week:
    start: date  # the local Monday
    created: int
    resolved: int


@dataclass(frozen=True)
class AgeBucket:
    label: str
    count: int


@dataclass(frozen=True)
class BreakdownRow:
    """One group of a breakdown. `key` is the group's value of the ticket column (an id,
    or the priority); None for the tickets without one."""

    key: int | None
    name: str
    created: int
    first_response: SlaFigures
    resolution: SlaFigures
    # The queue's filter for the group ("request_type=3"); None when it has none.
    queue_query: str | None = None
    satisfaction: SurveyFigures | None = None  # by requesting department only


@dataclass(frozen=True)
class LeadDashboard:
    department: Department
    since: datetime
    until: datetime
    tz: zoneinfo.ZoneInfo
    now: datetime
    first_response: SlaFigures
    resolution: SlaFigures
    weeks: list[Week]
    created: int
    resolved: int
    resolved_once: int  # created in the period and resolved at least once
    reopened: int  # of those, reopened at least once
    backlog: list[AgeBucket]
    at_risk_now: int
    breached_now: int
    by_requesting_department: list[BreakdownRow]
    by_request_type: list[BreakdownRow]
    by_assignee: list[BreakdownRow]
    by_priority: list[BreakdownRow]
    satisfaction: SurveyStats
    # The invitations' counts (SURVEY_AGGREGATES) per local week (Monday) when read from
    # the daily figures, for `lead_satisfaction`; None: it counts them itself.
    survey_weeks: dict[date, dict[str, int]] | None = None

    @property
    def reopen_percent(self) -> float | None:
        if not self.resolved_once:
            return None
        return round(100 * self.reopened / self.resolved_once, 1)

    @property
    def targets(self) -> list[tuple[str, SlaFigures]]:
        return [("First response", self.first_response), ("Resolution", self.resolution)]

    @property
    def open_total(self) -> int:
        return sum(bucket.count for bucket in self.backlog)


def lead_dashboard(
    *, department: Department, since: datetime, until: datetime, tz: zoneinfo.ZoneInfo,
    now: datetime,
) -> LeadDashboard:  # fmt: skip
    """The department's figures over [since, until); `now` decides the live ones."""
    days = _whole_days(since=since, until=until, tz=tz)
    if days is not None and connection.vendor == "postgresql":
        period = period_rows(departments=[(department.pk, tz)], first_day=days[0], last_day=days[1])
        volume, sla, weeks, reopen = _from_daily(period, since=since, until=until, tz=tz)
        survey_weeks, requesting_rows, sla_rows = _surveys_from_daily(period)
    else:
        survey_weeks, requesting_rows, sla_rows = None, None, None
        created = Ticket.objects.filter(
            department=department, created_at__gte=since, created_at__lt=until
        )
        sla = _sla_figures(department=department, since=since, until=until)
        if connection.vendor == "postgresql":
            volume, created_weeks = _created_grouping_sets(
                department=department, since=since, until=until, tz=tz
            )
        else:
            volume, created_weeks = _volume(created), _created_weeks(created, tz=tz)
        weeks, reopen = _weeks(
            department=department, created_weeks=created_weeks, since=since, until=until, tz=tz
        )
    names = _group_names({*volume, *(group for _, group in sla)})
    live = _live(department=department, now=now)
    surveys = survey_stats(
        department=department,
        since=since,
        until=until,
        by_requesting_department=True,
        requesting_rows=requesting_rows,
        sla_rows=sla_rows,
    )
    satisfaction = {figures.label: figures for figures in surveys.by_requesting_department}
    breakdowns = {
        dimension.field: _breakdown(
            dimension, volume=volume, sla=sla, names=names, satisfaction=satisfaction
        )
        for dimension in DIMENSIONS
    }
    return LeadDashboard(
        department=department,
        since=since,
        until=until,
        tz=tz,
        now=now,
        first_response=sla.get((Kind.FIRST_RESPONSE, ALL), NO_CLOCKS),
        resolution=sla.get((Kind.RESOLUTION, ALL), NO_CLOCKS),
        weeks=weeks,
        created=sum(w.created for w in weeks),
        resolved=sum(w.resolved for w in weeks),
        resolved_once=reopen["resolved_once"],
        reopened=reopen["reopened"],
        backlog=live["backlog"],
        at_risk_now=live["at_risk"],
        breached_now=live["breached"],
        by_requesting_department=breakdowns["requesting_department"],
        by_request_type=breakdowns["request_type"],
        by_assignee=breakdowns["assignee"],
        by_priority=breakdowns["priority"],
        satisfaction=surveys,
        survey_weeks=survey_weeks,
    )


def _whole_days(
    *, since: datetime, until: datetime, tz: zoneinfo.ZoneInfo
) -> tuple[date, date] | None:
    """The local days [first, last] that [since, until) is exactly, else None."""
    first = since.astimezone(tz).date()
    last = (until - timedelta(microseconds=1)).astimezone(tz).date()
    if first > last or local_days(first_day=first, last_day=last, tz=tz) != (since, until):
        return None
    return first, last


def _from_daily(
    period: PeriodRows, *, since: datetime, until: datetime, tz: zoneinfo.ZoneInfo
) -> tuple[dict[Group, int], dict[tuple[str, Group], SlaFigures], list[Week], dict[str, int]]:
    """The volume per group, the SLA figures per (kind, group), the weeks and the reopen
    counts from the period's daily rows (`dashboards.daily.period_rows`): counts added
    up, each group's exact percentiles from its histogram (`SlaTotals`)."""
    volume: dict[Group, int] = defaultdict(int)
    totals = SlaTotals(period)
    made: dict[date, int] = defaultdict(int)
    resolved: dict[date, int] = defaultdict(int)
    reopen = {"resolved_once": 0, "reopened": 0}
    for row in period.rows:
        if row.dimension == DailyDimension.SURVEY_SLA:
            continue  # invitations only (`_surveys_from_daily`)
        group = ALL if not row.dimension else (DIMENSIONS[row.dimension - 1].field, row.key or None)
        if row.created:
            volume[group] += row.created
        if not row.dimension:
            monday = row.day - timedelta(days=row.day.weekday())
            made[monday] += row.created
            resolved[monday] += row.resolved
            reopen["resolved_once"] += row.resolved_once
            reopen["reopened"] += row.reopened
        totals.add(group, row)
    sla = {
        (kind, cast("Group", group)): SlaFigures(*figures)
        for kind, group, figures in totals.figures()
    }
    weeks = [
        Week(monday, made.get(monday, 0), resolved.get(monday, 0))
        for monday in _mondays(since=since, until=until, tz=tz)
    ]
    return volume, sla, weeks, reopen


def _surveys_from_daily(
    period: PeriodRows,
) -> tuple[dict[date, dict[str, int]], list[dict[str, Any]], list[dict[str, Any]]]:
    """The invitations' counts (SURVEY_AGGREGATES) per local week (Monday), per
    requesting department and per SLA outcome (a row for each group with invitations)
    from the period's daily rows: what `lead_satisfaction`'s weekly query and
    `survey_stats`' two breakdowns count."""
    weeks: dict[date, dict[str, int]] = {}
    requesting: dict[int | None, dict[str, Any]] = {}
    by_sla: dict[bool | None, dict[str, Any]] = {}
    for row in period.rows:
        if not row.invited:
            continue
        if row.dimension == DailyDimension.ALL:
            monday = row.day - timedelta(days=row.day.weekday())
            counts = weeks.setdefault(monday, dict.fromkeys(SURVEY_AGGREGATES, 0))
        elif row.dimension == DailyDimension.REQUESTING_DEPARTMENT:
            key = row.key or None
            counts = requesting.setdefault(
                key, {"requesting_department": key, **dict.fromkeys(SURVEY_AGGREGATES, 0)}
            )
        elif row.dimension == DailyDimension.SURVEY_SLA:
            met = SLA_MET_OF_KEY[row.key]
            counts = by_sla.setdefault(met, {"sla_met": met, **dict.fromkeys(SURVEY_AGGREGATES, 0)})
        else:
            continue
        for name in SURVEY_AGGREGATES:
            counts[name] += getattr(row, name)
    return weeks, list(requesting.values()), list(by_sla.values())


SLA_MET_OF_KEY = {key: met for met, key in SLA_MET_KEYS.items()}


def _finished_clocks(
    *, department: Department, since: datetime, until: datetime
) -> QuerySet[SlaClock]:
    """The department's first-response and resolution clocks that finished in the period:
    met in it, or stopped in it after breaching."""
    met = Q(state=State.MET, met_at__gte=since, met_at__lt=until)
    stopped_late = Q(
        state=State.STOPPED, breached_at__isnull=False, stopped_at__gte=since, stopped_at__lt=until
    )
    return SlaClock.objects.filter(met | stopped_late, department=department, kind__in=KINDS)


# --- The breakdowns -------------------------------------------------------------------------


@dataclass(frozen=True)
class Dimension:
    """A breakdown: the tickets created in the period grouped by one of their columns as
    it is now, the clocks that finished in it by the same column as it was when they
    finished (`SlaClock.finished_*`: a ticket reassigned after its resolution still
    counts for whoever resolved it)."""

    field: str  # the Ticket column; the clock's copy is `finished_<field>`
    no_group: str  # the name of the tickets without one
    queue_filter: str  # the queue's filter parameter for the column
    by_key: bool = False  # rows in key order, highest first (else the busiest first)

    @property
    def clock_field(self) -> str:
        return f"finished_{self.field}"

    def queue_query(self, key: Any) -> str | None:
        if key is None:  # only the queue's assignee filter knows "none"
            return f"{self.queue_filter}=none" if self.field == "assignee" else None
        return f"{self.queue_filter}={key}"


DIMENSIONS = (
    Dimension("requesting_department", NO_DEPARTMENT, "requesting_department"),
    Dimension("request_type", "No request type", "request_type"),
    Dimension("assignee", "Unassigned", "assignee"),
    Dimension("priority", "No priority", "priority", by_key=True),
)
# A group: (the dimension's field, the group's key); ALL is every clock or ticket.
Group = tuple[str, Any]
ALL: Group = ("", None)


def _groups(row: dict[str, Any], columns: Sequence[str]) -> list[Group]:
    """ALL and the row's group in each dimension (`columns`: the dimensions' columns in
    the row, in DIMENSIONS order)."""
    return [ALL, *((d.field, row[c]) for d, c in zip(DIMENSIONS, columns, strict=True))]


def _group_names(groups: set[Group]) -> dict[Group, str]:
    """The groups' names: one query per dimension with named rows among `groups` (three
    at most, by primary key), whatever the period."""
    keys: dict[str, set[Any]] = defaultdict(set)
    for field, key in groups:
        if field and key is not None:
            keys[field].add(key)
    found: dict[Group, str] = {}
    if keys["requesting_department"]:
        departments = Department.objects.filter(pk__in=keys["requesting_department"])
        for pk, name in departments.values_list("pk", "name"):
            found[("requesting_department", pk)] = name
    if keys["request_type"]:
        types = RequestType.objects.filter(pk__in=keys["request_type"])
        for pk, name in types.values_list("pk", "name"):
            found[("request_type", pk)] = name
    if keys["assignee"]:
        users = User.objects.filter(pk__in=keys["assignee"])
        for pk, first, last, username in users.values_list(
            "pk", "first_name", "last_name", "username"
        ):
            found[("assignee", pk)] = f"{first} {last}".strip() or username
    for key in keys["priority"]:
        found[("priority", key)] = str(Priority(key).label)
    no_group = {d.field: d.no_group for d in DIMENSIONS}
    return {
        group: found.get(group, no_group[group[0]] if group[1] is None else str(group[1]))
        for group in groups
        if group[0]
    }


def _sla_figures(
    *, department: Department, since: datetime, until: datetime
) -> dict[tuple[str, Group], SlaFigures]:
    """(kind, group) -> figures, for ALL the clocks that finished in the period and each
    group of each dimension (by the clocks' `finished_*` columns: no join to the
    tickets). Two queries: the counts, grouped by every dimension at once and added up
    here (a count of a group is the sum of its parts), then the business-time
    percentiles (which do not add up, so each group's are the database's). On
    PostgreSQL, `_sla_figures_grouping_sets`."""
    if connection.vendor == "postgresql":
        return _sla_figures_grouping_sets(department=department, since=since, until=until)
    return _sla_figures_portable(_finished_clocks(department=department, since=since, until=until))


CLOCK_GROUP_COLUMNS = tuple(d.clock_field for d in DIMENSIONS)


def _sla_figures_portable(clocks: QuerySet[SlaClock]) -> dict[tuple[str, Group], SlaFigures]:
    rows = (
        clocks.values("kind", *CLOCK_GROUP_COLUMNS)
        .order_by()
        .annotate(
            finished=Count("pk"),
            met=Count("pk", filter=Q(state=State.MET, breached_at__isnull=True)),
            breached=Count("pk", filter=Q(breached_at__isnull=False)),
        )
    )
    counts: dict[tuple[str, Group], list[int]] = defaultdict(lambda: [0, 0, 0])
    for row in cast(list[dict[str, Any]], list(rows)):
        for group in _groups(row, CLOCK_GROUP_COLUMNS):
            total = counts[(row["kind"], group)]
            total[0] += row["finished"]
            total[1] += row["met"]
            total[2] += row["breached"]
    # ALL: one group, tagged ""; then each dimension, tagged with its field.
    parts = [
        (Value(""), Value(0)),
        *((Value(d.field), F(d.clock_field)) for d in DIMENSIONS),
    ]
    percentiles = {
        (kind, (dim, grp) if dim else ALL): figures
        for (kind, dim, grp), figures in met_percentiles(clocks, parts).items()
    }
    result = {}
    for key, (finished, met, breached) in counts.items():
        median, p90 = percentiles.get(key, (None, None))
        result[key] = SlaFigures(finished, met, breached, median, p90)
    return result


def _sla_figures_grouping_sets(
    *, department: Department, since: datetime, until: datetime
) -> dict[tuple[str, Group], SlaFigures]:
    """`_sla_figures` on PostgreSQL: the counts per bucket of business time of every
    group (ALL and each dimension's) from one hashed GROUPING SETS over the period's
    finished clocks, read index-only; then the exact percentiles from only the buckets
    holding their ranks (`dashboards.clock_figures`). Two queries, no sort of the
    period."""
    sets = [(), *((column,) for column in CLOCK_GROUP_DB_COLUMNS)]
    figures = clock_figures([([department.pk], since, until)], sets)
    result: dict[tuple[str, Group], SlaFigures] = {}
    for (n, kind, values), counted in figures.items():
        group = ALL if n == 0 else (DIMENSIONS[n - 1].field, values[0])
        result[(kind, group)] = SlaFigures(*counted)
    return result


def met_percentiles(
    clocks: QuerySet[SlaClock], parts: Sequence[tuple[Any, Any]]
) -> dict[tuple[str, Any, Any], tuple[int, int]]:
    """(kind, dim, grp) -> (median, p90) business seconds of the met clocks, nearest
    rank, grouped once per part: a (dim, grp) pair of expressions over the clock (a
    constant dim tags the part; a constant grp makes the part one group).

    One query: the met clocks once per part (UNION ALL), ranked by a window function per
    (kind, dim, grp) and picked by an outer GROUP BY, so the database returns one row per
    group whatever the number of clocks: rank r of n is at or past the p-th percentile
    when 100 r >= p n, and the percentile is the smallest such value. (The portable way:
    PostgreSQL's is `dashboards.clock_figures`, which sorts no period.)
    """
    met = clocks.filter(state=State.MET)
    compiled = [
        met.annotate(dim=dim, grp=grp)
        .values("kind", "dim", "grp", "consumed_seconds")
        .query.sql_with_params()
        for dim, grp in parts
    ]
    union = " UNION ALL ".join(
        f"SELECT * FROM ({sql}) part{i}"  # noqa: S608 (the ORM's own SQL, values are parameters)
        for i, (sql, _) in enumerate(compiled)
    )
    params = tuple(param for _, part_params in compiled for param in part_params)
    quote = connection.ops.quote_name
    seconds, kind, dim, grp = (quote(name) for name in ("consumed_seconds", "kind", "dim", "grp"))
    outer = f"""
        SELECT {kind}, {dim}, {grp}, MIN(CASE WHEN 100 * rn >= 50 * n THEN {seconds} END),
               MIN(CASE WHEN 100 * rn >= 90 * n THEN {seconds} END)
        FROM (
            SELECT {kind}, {dim}, {grp}, {seconds},
                   ROW_NUMBER() OVER (PARTITION BY {kind}, {dim}, {grp} ORDER BY {seconds}) AS rn,
                   COUNT(*) OVER (PARTITION BY {kind}, {dim}, {grp}) AS n
            FROM ({union}) met
        ) ranked
        GROUP BY {kind}, {dim}, {grp}
    """  # noqa: S608 (only quoted identifiers are interpolated; values are parameters)
    with connection.cursor() as cursor:
        cursor.execute(outer, params)
        rows = cursor.fetchall()
    return {(k, d, g): (median, p90) for k, d, g, median, p90 in rows}


TICKET_GROUP_COLUMNS = tuple(d.field for d in DIMENSIONS)


def _volume(created: QuerySet[Ticket]) -> dict[Group, int]:
    """Group -> tickets created in the period, in each dimension (one query over the
    covering index ticket_dept_created, grouped by every dimension at once and added up
    here)."""
    # COUNT(created_at), not of the id: the index holds it, so it is an index-only scan.
    rows = created.values(*TICKET_GROUP_COLUMNS).order_by().annotate(n=Count("created_at"))
    volume: dict[Group, int] = defaultdict(int)
    for row in cast(list[dict[str, Any]], list(rows)):
        for group in _groups(row, TICKET_GROUP_COLUMNS):
            volume[group] += row["n"]
    return volume


def _breakdown(
    dimension: Dimension, *, volume: dict[Group, int],
    sla: dict[tuple[str, Group], SlaFigures], names: dict[Group, str],
    satisfaction: dict[str, SurveyFigures],
) -> list[BreakdownRow]:  # fmt: skip
    """The dimension's rows: every group with tickets created or clocks finished in the
    period. Satisfaction (by name, as surveys.stats labels them) by requesting department
    only."""
    field = dimension.field
    keys = {key for f, key in volume if f == field}
    keys |= {key for _, (f, key) in sla if f == field}
    with_satisfaction = field == "requesting_department"
    rows = [
        BreakdownRow(
            key=key,
            name=names[(field, key)],
            created=volume.get((field, key), 0),
            first_response=sla.get((Kind.FIRST_RESPONSE, (field, key)), NO_CLOCKS),
            resolution=sla.get((Kind.RESOLUTION, (field, key)), NO_CLOCKS),
            queue_query=dimension.queue_query(key),
            satisfaction=satisfaction.get(names[(field, key)]) if with_satisfaction else None,
        )
        for key in keys
    ]
    if dimension.by_key:
        rows.sort(key=lambda row: -(row.key or 0))
    else:
        rows.sort(key=lambda row: (-row.created, row.name))
    return rows


def _created_weeks(created: QuerySet[Ticket], *, tz: zoneinfo.ZoneInfo) -> list[dict[str, Any]]:
    """The tickets created in the period per local week (`week`, its Monday): `n`, and
    the reopen rate's counts (`resolved_once`, `reopened`). One query, index-only over
    ticket_dept_created."""
    return cast(
        list[dict[str, Any]],
        list(
            created.annotate(week=TruncWeek("created_at", tzinfo=tz))
            .values("week")
            .order_by("week")
            .annotate(
                # Columns of ticket_dept_created (not the id): an index-only scan.
                n=Count("created_at"),
                resolved_once=Count("resolved_at"),
                reopened=Count("resolved_at", filter=Q(reopen_count__gt=0)),
            )
        ),
    )


def _created_grouping_sets(
    *, department: Department, since: datetime, until: datetime, tz: zoneinfo.ZoneInfo
) -> tuple[dict[Group, int], list[dict[str, Any]]]:
    """`_volume` and `_created_weeks` in one query on PostgreSQL: the period's new
    tickets read once (index-only, ticket_dept_created) and counted per local week and
    per group of each dimension by one hashed GROUP BY GROUPING SETS (a few dozen rows
    back, where grouping by every dimension at once returned thousands to add up here)."""
    table = Ticket._meta.db_table
    columns = [f"{field}_id" if field != "priority" else field for field in TICKET_GROUP_COLUMNS]
    listed = ", ".join(columns)
    sets = ", ".join(f"({column})" for column in ["week", *columns])
    query = f"""
        SELECT GROUPING(week, {listed}), week, {listed}, COUNT(created_at),
               COUNT(resolved_at), COUNT(resolved_at) FILTER (WHERE reopen_count > 0)
        FROM (
            SELECT (date_trunc('week', created_at AT TIME ZONE %s))::date AS week, {listed},
                   created_at, resolved_at, reopen_count
            FROM {table} WHERE department_id = %s AND created_at >= %s AND created_at < %s
        ) created
        GROUP BY GROUPING SETS ({sets})
    """  # noqa: S608 (only column names from _meta; values are parameters)
    with connection.cursor() as cursor:
        cursor.execute(query, [tz.key, department.pk, since, until])
        rows = cursor.fetchall()
    volume: dict[Group, int] = defaultdict(int)
    weeks: list[dict[str, Any]] = []
    bits = len(columns)
    for mask, week, *values in rows:
        n, resolved_once, reopened = values[bits:]
        if mask == (1 << bits) - 1:  # grouped by the week alone
            weeks.append({"week": week, "n": n, "resolved_once": resolved_once,
                          "reopened": reopened})  # fmt: skip
            volume[ALL] += n
            continue
        # The one column grouped: its GROUPING bit (1 << (bits - 1 - i)) is clear.
        i = next(i for i in range(bits) if not mask & (1 << (bits - 1 - i)))
        volume[(DIMENSIONS[i].field, values[i])] = n
    return volume, weeks


def _weeks(
    *, department: Department, created_weeks: list[dict[str, Any]], since: datetime,
    until: datetime, tz: zoneinfo.ZoneInfo,
) -> tuple[list[Week], dict[str, int]]:  # fmt: skip
    """Created (`_created_weeks`) and resolved per local week (Monday), every week of the
    period listed; and the reopen rate's counts (`resolved_once`, `reopened`), which come
    with the created ones."""
    created_rows = created_weeks
    resolved_rows = (
        Ticket.objects.filter(
            department=department,
            resolved_at__gte=since,
            resolved_at__lt=until,
            status__in=(Ticket.Status.RESOLVED, Ticket.Status.CLOSED),
        )
        .annotate(week=TruncWeek("resolved_at", tzinfo=tz))
        .values("week")
        .order_by("week")
        .annotate(n=Count("resolved_at"))  # index-only, from ticket_dept_resolved
    )
    made = {_local_date(row["week"], tz): row["n"] for row in created_rows}
    resolved = {_local_date(row["week"], tz): row["n"] for row in resolved_rows}
    first = since.astimezone(tz).date()
    monday = first - timedelta(days=first.weekday())
    last = (until - timedelta(microseconds=1)).astimezone(tz).date()
    weeks = []
    while monday <= last:
        weeks.append(Week(monday, made.get(monday, 0), resolved.get(monday, 0)))
        monday += timedelta(days=7)
    reopen = {
        "resolved_once": sum(row["resolved_once"] for row in created_rows),
        "reopened": sum(row["reopened"] for row in created_rows),
    }
    return weeks, reopen


def _local_date(value: datetime | date, tz: zoneinfo.ZoneInfo) -> date:
    if isinstance(value, datetime):
        return value.astimezone(tz).date() if value.tzinfo else value.date()
    return value


def _live(*, department: Department, now: datetime) -> dict[str, Any]:
    """Open backlog by age, and the tickets at risk or breached now (the queue's filters,
    over the partial index ticket_dept_sla_due). One query: the open tickets and those
    with a running deadline, each count filtered to its own."""
    open_now = Q(status__in=Ticket.OPEN_STATUSES)
    ages = {
        f"b{i}": Count(
            "pk",
            filter=open_now
            & Q(created_at__lte=now - low)
            & (Q(created_at__gt=now - high) if high is not None else Q()),
        )
        for i, (_, low, high) in enumerate(AGE_BUCKETS)
    }
    with_deadline = Q(sla_due_at__isnull=False)
    counts = Ticket.objects.filter(open_now | with_deadline, department=department).aggregate(
        **ages,
        breached=Count("pk", filter=with_deadline & Q(sla_due_at__lte=now)),
        at_risk=Count("pk", filter=with_deadline & Q(sla_at_risk_at__lte=now, sla_due_at__gt=now)),
    )
    return {
        "backlog": [
            AgeBucket(label, counts[f"b{i}"]) for i, (label, _, _) in enumerate(AGE_BUCKETS)
        ],
        "breached": counts["breached"],
        "at_risk": counts["at_risk"],
    }


# --- Satisfaction on the lead dashboard ----------------------------------------------------

RECENT_COMMENTS = 10


@dataclass(frozen=True)
class SatisfactionWeek:
    start: date  # the local Monday
    figures: SurveyFigures  # hidden when too few answers in an anonymous survey


@dataclass(frozen=True)
class RecentComment:
    """A comment as the lead may see it: `reference` and `requester` are None when the
    survey was anonymous (the department's setting, or the invitation's promise)."""

    answered_at: datetime
    score: int
    comment: str
    reference: str | None
    requester: str | None
    requesting_department: str | None


@dataclass(frozen=True)
class LeadSatisfaction:
    stats: SurveyStats
    weeks: list[SatisfactionWeek]
    comments: list[RecentComment]
    # Nothing at all is shown when the period's answers are too few to stay anonymous.
    comments_withheld: bool
    open_follow_ups: int

    @property
    def distribution(self) -> list[tuple[int, int, int]]:
        """(score, responses, percent of the responses), 1 to 5; empty when hidden."""
        figures = self.stats.overall
        if figures.distribution is None or not figures.responses:
            return []
        return [
            (score, count, round(100 * count / figures.responses))
            for score, count in sorted(figures.distribution.items())
        ]


def lead_satisfaction(
    *, stats: SurveyStats, tz: zoneinfo.ZoneInfo, weeks: dict[date, dict[str, int]] | None = None
) -> LeadSatisfaction:  # fmt: skip
    """The satisfaction section beside `stats` (surveys.stats over the same period and
    department): the average per local week, the latest comments and the open low-score
    follow-ups. Three queries; two when given the invitations' counts per week (`weeks`,
    the lead dashboard's `survey_weeks`).

    The weeks obey the same anonymity rule as the stats (no week under the minimum group
    size shows a score, nor can be worked out from the others). Comments count the same
    invitations (created in the period, not withdrawn); in an anonymous survey they show
    no requester, request or requesting department, and none at all when the period's
    answers are under the minimum group size. Follow-ups are the ones open now.
    """
    department, since, until = stats.department, stats.since, stats.until
    limit = stats.min_group_size if stats.anonymous else 0
    invitations = invitations_in(department=department, since=since, until=until)
    by_week: dict[date, dict[str, Any]] = dict(weeks or {})
    if weeks is None:
        rows = cast(
            list[dict[str, Any]],
            list(
                invitations.annotate(week=TruncWeek("created_at", tzinfo=tz))
                .values("week")
                .order_by("week")
                .annotate(**SURVEY_AGGREGATES)
            ),
        )
        by_week = {_local_date(row["week"], tz): row for row in rows}
    starts = _mondays(since=since, until=until, tz=tz)
    figures = [
        survey_figures(start.isoformat(), by_week.get(start) or _NO_ANSWERS) for start in starts
    ]
    shown = [
        SatisfactionWeek(start, week)
        for start, week in zip(starts, hide_small_groups(figures, limit), strict=True)
    ]
    withheld = stats.overall.hidden
    comments = (
        [] if withheld else _recent_comments(invitations, since=since, anonymous=stats.anonymous)
    )
    open_follow_ups = FollowUp.objects.filter(department=department, closed_at__isnull=True)
    return LeadSatisfaction(
        stats=stats,
        weeks=shown,
        comments=comments,
        comments_withheld=withheld,
        open_follow_ups=open_follow_ups.count(),
    )


_NO_ANSWERS: dict[str, Any] = dict.fromkeys(SURVEY_AGGREGATES, 0)


def _mondays(*, since: datetime, until: datetime, tz: zoneinfo.ZoneInfo) -> list[date]:
    first = since.astimezone(tz).date()
    monday = first - timedelta(days=first.weekday())
    last = (until - timedelta(microseconds=1)).astimezone(tz).date()
    mondays = []
    while monday <= last:
        mondays.append(monday)
        monday += timedelta(days=7)
    return mondays


def _recent_comments(
    invitations: QuerySet[SurveyInvitation], *, since: datetime, anonymous: bool
) -> list[RecentComment]:
    """The latest RECENT_COMMENTS answers with a comment to `invitations` (created from
    `since`), newest first. The invitations are found newest answer first by an
    index-only read of survey_inv_commented (the answered invitations with a comment),
    which stops after a few rows: an answer comes after its invitation, so nothing
    answered before `since` counts. Then their responses (one query)."""
    latest = (
        invitations.filter(commented=True, answered_at__gte=since)
        .order_by("-answered_at", "-id")
        .values("pk")[:RECENT_COMMENTS]
    )
    responses = (
        SurveyResponse.objects.filter(invitation__in=Subquery(latest))
        .select_related(
            "invitation__ticket", "invitation__requester", "invitation__requesting_department"
        )
        # An answer's time is its invitation's answered_at (survey_respond sets both).
        .order_by("-invitation__answered_at", "-invitation_id")
    )
    comments = []
    for response in responses:
        invitation = response.invitation
        identified = not (anonymous or invitation.anonymous)
        requesting = invitation.requesting_department
        comments.append(
            RecentComment(
                answered_at=response.created_at,
                score=response.score,
                comment=response.comment,
                reference=invitation.ticket.reference if identified else None,
                requester=str(invitation.requester) if identified else None,
                requesting_department=(
                    (requesting.name if requesting else NO_DEPARTMENT) if identified else None
                ),
            )
        )
    return comments


# --- The agent's home ------------------------------------------------------------------------

HOME_LIST_SIZE = 25
RECENT_SATISFACTION_DAYS = 30


@dataclass(frozen=True)
class TicketList:
    """At most HOME_LIST_SIZE open tickets, the soonest to breach first; the counts are
    of the whole list, shown or not."""

    rows: list[Ticket]
    total: int
    at_risk: int
    breached: int

    @property
    def more(self) -> int:
        return self.total - len(self.rows)


@dataclass(frozen=True)
class MySatisfaction:
    """Answers in the last 30 days about requests now assigned to the agent (who was
    assigned at the resolution is not recorded on the survey)."""

    responses: int
    average: float | None
    hidden: bool  # anonymous answers, fewer than the minimum group size


@dataclass(frozen=True)
class AgentHome:
    departments: list[Department]
    mine: TicketList
    unassigned: TicketList
    satisfaction: MySatisfaction


LIVE_LIST_SIZE = 8


@dataclass(frozen=True)
class LiveLists:
    """A department's open tickets at risk and breached at `now` (the soonest deadline
    first: the breached longest overdue first), LIVE_LIST_SIZE of each at most."""

    now: datetime
    at_risk: TicketList
    breached: TicketList

    @property
    def sections(self) -> list[tuple[str, TicketList, str, str]]:
        """(title, list, the queue's SLA filter, what to say when empty), for the page."""
        return [
            ("At risk", self.at_risk, "at_risk", "Nothing is at risk."),
            ("Breached", self.breached, "breached", "Nothing is past its deadline."),
        ]


def live_lists(*, department: Department, now: datetime) -> LiveLists:
    """Three queries over the partial index ticket_dept_sla_due (tickets with a running
    deadline), whatever the number of tickets."""
    with_deadline = Ticket.objects.filter(department=department, sla_due_at__isnull=False)
    at_risk = Q(sla_at_risk_at__lte=now, sla_due_at__gt=now)
    breached = Q(sla_due_at__lte=now)
    counts = with_deadline.aggregate(
        at_risk=Count("pk", filter=at_risk), breached=Count("pk", filter=breached)
    )
    order = ("sla_due_at", "id")

    def listed(condition: Q) -> list[Ticket]:
        # The first ids alone, then their rows with their people: joined in one query,
        # PostgreSQL misjudged the at-risk filter (one row expected, hundreds found) and
        # scanned the users once per ticket.
        first = with_deadline.filter(condition).order_by(*order).values("pk")[:LIVE_LIST_SIZE]
        return list(
            Ticket.objects.filter(pk__in=Subquery(first))
            .select_related("requester", "requesting_department", "assignee")
            .order_by(*order)
        )

    return LiveLists(
        now=now,
        at_risk=TicketList(
            rows=listed(at_risk),
            total=counts["at_risk"],
            at_risk=counts["at_risk"],
            breached=0,
        ),
        breached=TicketList(
            rows=listed(breached),
            total=counts["breached"],
            at_risk=0,
            breached=counts["breached"],
        ),
    )


def agent_home_access(*, user: User) -> list[Department]:
    """The departments the user works for (all of them for a superuser); 403 for anyone
    who works for none."""
    if not is_agent(user):
        raise PermissionDenied("The agent's home is for the departments' agents.")
    return list(departments_for_agent(user=user).order_by("name"))


def agent_home(*, user: User, departments: list[Department], now: datetime) -> AgentHome:
    """The agent's open tickets (in any department) and the unassigned open tickets of
    `departments`, each soonest deadline first (tickets without a running clock last,
    then by id), with their at-risk and breached counts; and the agent's recent
    satisfaction. Four queries, whatever the number of tickets."""
    open_tickets = Ticket.objects.filter(status__in=Ticket.OPEN_STATUSES)
    mine = Q(assignee=user)
    unassigned = Q(assignee__isnull=True, department__in=[d.pk for d in departments])
    at_risk = Q(sla_at_risk_at__lte=now, sla_due_at__gt=now)
    breached = Q(sla_due_at__lte=now)
    counts = open_tickets.filter(mine | unassigned).aggregate(
        mine=Count("pk", filter=mine),
        mine_at_risk=Count("pk", filter=mine & at_risk),
        mine_breached=Count("pk", filter=mine & breached),
        unassigned=Count("pk", filter=unassigned),
        unassigned_at_risk=Count("pk", filter=unassigned & at_risk),
        unassigned_breached=Count("pk", filter=unassigned & breached),
    )
    order = (F("sla_due_at").asc(nulls_last=True), "id")
    listed = open_tickets.select_related(
        "department", "request_type", "requester", "requesting_department"
    )
    return AgentHome(
        departments=departments,
        mine=TicketList(
            rows=list(listed.filter(mine).order_by(*order)[:HOME_LIST_SIZE]),
            total=counts["mine"],
            at_risk=counts["mine_at_risk"],
            breached=counts["mine_breached"],
        ),
        unassigned=TicketList(
            rows=list(listed.filter(unassigned).order_by(*order)[:HOME_LIST_SIZE]),
            total=counts["unassigned"],
            at_risk=counts["unassigned_at_risk"],
            breached=counts["unassigned_breached"],
        ),
        satisfaction=_my_satisfaction(user=user, now=now),
    )


def _my_satisfaction(*, user: User, now: datetime) -> MySatisfaction:
    """One query. Hidden when any answer was anonymous and they are fewer than the
    largest minimum group size among the departments concerned."""
    figures = SurveyResponse.objects.filter(
        created_at__gte=now - timedelta(days=RECENT_SATISFACTION_DAYS),
        created_at__lte=now,
        invitation__ticket__assignee=user,
        invitation__withdrawn_at__isnull=True,
    ).aggregate(
        responses=Count("pk"),
        score_sum=Sum("score"),
        anonymous=Count("pk", filter=Q(invitation__anonymous=True)),
        min_size=Max("invitation__department__survey_settings__min_group_size"),
    )
    responses = figures["responses"]
    limit = figures["min_size"] or DEFAULT_MIN_GROUP_SIZE
    if figures["anonymous"] and responses < limit:
        return MySatisfaction(responses=responses, average=None, hidden=True)
    average = round(figures["score_sum"] / responses, 2) if responses else None
    return MySatisfaction(responses=responses, average=average, hidden=False)

"""The department-to-department map: which departments ask which for help, how much, and
how well they are served.

Rows are the requesting departments (the requester's home department when the ticket
was filed; "No department" for requesters without one), columns the providing
departments. A cell counts what its row asked of its column over the chosen local days,
in the *providing* department's time zone, with the lead dashboard's definitions
(dashboards.selectors): requests = tickets created in the period; SLA = the first-
response and resolution clocks that finished in it; median resolution = nearest-rank
median business time of the resolution clocks met in it; satisfaction = the survey
invitations created in it, hidden under the providing department's anonymity rule.
So a column holds exactly its department's dashboard breakdown "by requesting
department", and each column's total its dashboard's overall figures.

Totals: per column (the providing department's whole service) and per row (everything
the requesting department asked of anyone; no satisfaction: the providers' anonymity
rules differ). Every figure is aggregated by the database, exactly: a fixed number of
queries whatever the number of tickets (on PostgreSQL from the daily figures by
requesting department, `dashboards.daily`: counts added up, the exact medians from the
histograms and the seconds of the buckets holding their ranks). A
finished clock counts for the requesting department it recorded when it finished
(`SlaClock.finished_requesting_department`, the ticket's snapshot taken at filing).
Access: leads of any department and superusers (`department_map_access`); the counts are
no secret, the tickets behind a cell are shown only to those who may open the providing
department's queue.
"""

from __future__ import annotations

import math
import zoneinfo
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, cast

from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.models import Count, F, Q, QuerySet, Value

from accounts.models import User
from dashboards.daily import SlaTotals, period_rows
from dashboards.models import DailyFigures
from dashboards.selectors import NO_CLOCKS, NO_DEPARTMENT, SlaFigures, met_percentiles
from slas.models import SlaClock
from surveys.models import SurveyInvitation, SurveySettings
from surveys.stats import (
    SURVEY_AGGREGATES,
    SurveyFigures,
    anonymity,
    hide_small_groups,
    sum_rows,
    survey_figures,
)
from tickets.models import Department, Ticket
from tickets.selectors import department_time_zone, local_days, user_lead_department_ids

Kind = SlaClock.Kind
State = SlaClock.State
TOTAL = 0  # the key of a total: department ids start at 1
# What colours the cells: the metric's label.
COLOURS = {
    "sla": "Resolution SLA met",
    "satisfaction": "Satisfaction",
    "volume": "Requests",
}


def department_map_access(*, user: User) -> None:
    """Leads (of any department) and superusers; 403 for everyone else."""
    if not (user.is_superuser or user_lead_department_ids(user)):
        raise PermissionDenied("The department map is for department leads.")


@dataclass(frozen=True)
class MapCell:
    """What one requesting department asked of one providing department (or of all of
    them, or what all asked of one: the totals)."""

    created: int = 0
    first_response: SlaFigures = NO_CLOCKS
    resolution: SlaFigures = NO_CLOCKS
    satisfaction: SurveyFigures | None = None

    @property
    def empty(self) -> bool:
        return not (self.created or self.first_response.finished or self.resolution.finished)

    def heat(self, colour: str, busiest: int) -> float | None:
        """0 (worst, or quietest) to 1 (best, or busiest) on the chosen colour scale; None
        when the cell has no such figure. SLA: 50 % met or less is 0, 100 % is 1;
        satisfaction: an average of 1 is 0, 5 is 1; volume: logarithmic up to `busiest`
        (more is 1); any other colour: None."""
        if colour not in COLOURS:
            return None
        if colour == "volume":
            if not self.created or busiest < 1:
                return None
            return round(min(math.log1p(self.created) / math.log1p(busiest), 1.0), 3)
        if colour == "satisfaction":
            s = self.satisfaction
            if s is None or s.csat_average is None:
                return None
            return round((s.csat_average - 1) / 4, 3)
        percent = self.resolution.percent_met
        if percent is None:
            return None
        return round(min(max((percent - 50) / 50, 0.0), 1.0), 3)


NO_CELL = MapCell()


@dataclass(frozen=True)
class MapRow:
    key: int | None  # the requesting department's id; None for "No department"
    name: str
    cells: list[tuple[Department, MapCell]]  # one per provider, in the providers' order
    total: MapCell


@dataclass(frozen=True)
class DepartmentMap:
    first_day: date
    last_day: date
    providers: list[Department]
    rows: list[MapRow]
    totals: list[tuple[Department, MapCell]]  # per provider, in the providers' order
    total: MapCell  # the whole company (no satisfaction)
    busiest: int = field(default=0)  # the most requests in one cell


def department_map(*, first_day: date, last_day: date) -> DepartmentMap:
    """The map over the local days [first_day, last_day] (each provider's own zone)."""
    providers = list(Department.objects.select_related("calendar").order_by("name"))
    periods = _periods(providers, first_day=first_day, last_day=last_day)
    if connection.vendor == "postgresql":
        volume, sla, invitations = _from_daily(providers, first_day=first_day, last_day=last_day)
    else:
        volume, sla, invitations = _volume(periods), _sla(periods), _invitations(periods)
    satisfaction = _satisfaction(invitations, providers)
    requesters = _requesters(
        {key for _, key in volume} | {key for _, _, key in sla} | {key for _, key in satisfaction}
    )

    def cell(provider: int, requester: int | None) -> MapCell:
        return MapCell(
            created=volume.get((provider, requester), 0),
            first_response=sla.get((Kind.FIRST_RESPONSE, provider, requester), NO_CLOCKS),
            resolution=sla.get((Kind.RESOLUTION, provider, requester), NO_CLOCKS),
            satisfaction=satisfaction.get((provider, requester)),
        )

    rows = [
        MapRow(
            key=key,
            name=name,
            cells=[(p, cell(p.pk, key)) for p in providers],
            total=cell(TOTAL, key),
        )
        for key, name in requesters
    ]
    return DepartmentMap(
        first_day=first_day,
        last_day=last_day,
        providers=providers,
        rows=rows,
        totals=[(p, cell(p.pk, TOTAL)) for p in providers],
        total=cell(TOTAL, TOTAL),
        busiest=max((c.created for row in rows for _, c in row.cells), default=0),
    )


def _volume(periods: list[Period]) -> dict[tuple[int, int | None], int]:
    """(provider, requester) -> tickets created, TOTAL standing for all of either."""
    created_q = _in_periods(periods, "department_id", "created_at")
    volume: dict[tuple[int, int | None], int] = defaultdict(int)
    for row in cast(
        list[dict[str, Any]],
        list(
            Ticket.objects.filter(created_q)
            .values("department", "requesting_department")
            .order_by()
            .annotate(n=Count("created_at"))  # index-only (ticket_dept_created)
        ),
    ):
        for key in _with_totals(row["department"], row["requesting_department"]):
            volume[key] += row["n"]
    return volume


# A time zone's period and the providers it applies to.
Period = tuple[list[int], datetime, datetime]


def _periods(providers: list[Department], *, first_day: date, last_day: date) -> list[Period]:
    by_zone: dict[zoneinfo.ZoneInfo, list[int]] = defaultdict(list)
    for provider in providers:
        by_zone[department_time_zone(provider)].append(provider.pk)
    return [
        (ids, *local_days(first_day=first_day, last_day=last_day, tz=tz))
        for tz, ids in by_zone.items()
    ]


def _in_periods(periods: list[Period], department: str, instant: str) -> Q:
    """`instant` in the period of the zone of the row's `department` (one range per zone:
    the (department, instant) indexes serve each)."""
    condition = Q(pk__in=[])
    for ids, since, until in periods:
        condition |= Q(
            **{f"{department}__in": ids, f"{instant}__gte": since, f"{instant}__lt": until}
        )
    return condition


def _from_daily(
    providers: list[Department], *, first_day: date, last_day: date
) -> tuple[
    dict[tuple[int, int | None], int],
    dict[tuple[str, int, int | None], SlaFigures],
    list[dict[str, Any]],
]:
    """`_volume` and `_sla` on PostgreSQL, from the daily figures by requesting
    department (`dashboards.daily.period_rows`, each provider's own local days): counts
    added up, the resolution clocks' histograms for the exact median of each cell and
    total (`SlaTotals`) (the first response's and the 90th percentiles are not shown:
    None)."""
    period = period_rows(
        departments=[(p.pk, department_time_zone(p)) for p in providers],
        first_day=first_day,
        last_day=last_day,
        dimensions=[DailyFigures.Dimension.REQUESTING_DEPARTMENT],
        seconds=["res_seconds"],
    )
    volume: dict[tuple[int, int | None], int] = defaultdict(int)
    totals = SlaTotals(period, percentiles=[50])  # the map shows no 90th percentile
    invited: dict[tuple[int, int | None], dict[str, Any]] = {}
    for row in period.rows:
        for key in _with_totals(row.department_id, row.key or None):
            if row.created:
                volume[key] += row.created
            totals.add(key, row)
        if row.invited:
            cell = (row.department_id, row.key or None)
            counts = invited.setdefault(cell, dict.fromkeys(SURVEY_AGGREGATES, 0))
            for name in SURVEY_AGGREGATES:
                counts[name] += getattr(row, name)
    sla = {
        (kind, *cast("tuple[int, int | None]", key)): SlaFigures(*figures)
        for kind, key, figures in totals.figures()
    }
    invitations = [
        {"department": provider, "requesting_department": requester, **counts}
        for (provider, requester), counts in invited.items()
    ]
    return volume, sla, invitations


def _with_totals(provider: int, requester: int | None) -> list[tuple[int, int | None]]:
    """The cell and the three totals that count it."""
    return [(provider, requester), (TOTAL, requester), (provider, TOTAL), (TOTAL, TOTAL)]


def _sla(periods: list[Period]) -> dict[tuple[str, int, int | None], SlaFigures]:
    """(kind, provider, requester) -> figures, TOTAL standing for all of either (the
    requester as the clock recorded it when it finished, `SlaClock.finished_*`). Two
    queries: the counts per (kind, provider, requester), added up here; the medians of the
    resolution clocks per cell, per provider, per requester and overall, from the
    database (PostgreSQL reads the daily figures instead: `_from_daily`)."""
    met = _in_periods(periods, "department_id", "met_at") & Q(state=State.MET)
    stopped_late = _in_periods(periods, "department_id", "stopped_at") & Q(
        state=State.STOPPED, breached_at__isnull=False
    )
    clocks = SlaClock.objects.filter(
        met | stopped_late, kind__in=(Kind.FIRST_RESPONSE, Kind.RESOLUTION)
    )
    rows = (
        clocks.values("kind", "department", "finished_requesting_department")
        .order_by()
        .annotate(
            finished=Count("pk"),
            met=Count("pk", filter=Q(state=State.MET, breached_at__isnull=True)),
            breached=Count("pk", filter=Q(breached_at__isnull=False)),
        )
    )
    counts: dict[tuple[str, int, int | None], list[int]] = defaultdict(lambda: [0, 0, 0])
    for row in cast(list[dict[str, Any]], list(rows)):
        provider, requester = row["department"], row["finished_requesting_department"]
        for key in _with_totals(provider, requester):
            total = counts[(row["kind"], *key)]
            total[0] += row["finished"]
            total[1] += row["met"]
            total[2] += row["breached"]
    zero = Value(TOTAL)
    parts = [
        (F("department"), F("finished_requesting_department")),
        (F("department"), zero),
        (zero, F("finished_requesting_department")),
        (zero, zero),
    ]
    percentiles = met_percentiles(clocks.filter(kind=Kind.RESOLUTION), parts)
    return {  # the median only, as from the daily figures (`_from_daily`)
        key: SlaFigures(finished, met, breached, percentiles.get(key, (None, None))[0])
        for key, (finished, met, breached) in counts.items()
    }


def _invitations(periods: list[Period]) -> list[dict[str, Any]]:
    """The survey counts (SURVEY_AGGREGATES) of the invitations created in the periods
    per (`department`, `requesting_department`). One query."""
    invitations = SurveyInvitation.objects.filter(
        _in_periods(periods, "department_id", "created_at"), withdrawn_at__isnull=True
    )
    return cast(
        list[dict[str, Any]],
        list(
            invitations.values("department", "requesting_department")
            .order_by()
            .annotate(**SURVEY_AGGREGATES)
        ),
    )


def _satisfaction(
    invitations: list[dict[str, Any]], providers: list[Department]
) -> dict[tuple[int, int | None], SurveyFigures]:
    """(provider, requester) -> survey figures from the invitations' counts per cell,
    and (provider, TOTAL) for the provider's whole service, hidden as its lead dashboard
    hides them. One query (the survey settings)."""
    rows: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in invitations:
        rows[row["department"]].append(row)
    settings = {s.department_id: s for s in SurveySettings.objects.filter(department__in=rows)}
    names = {p.pk: p.name for p in providers}
    result: dict[tuple[int, int | None], SurveyFigures] = {}
    for provider, provider_rows in rows.items():
        anonymous, min_size = anonymity(settings.get(provider), provider_rows)
        limit = min_size if anonymous else 0
        # In the lead dashboard's order (by name), so the same groups are hidden.
        provider_rows.sort(key=lambda r: names.get(r["requesting_department"], NO_DEPARTMENT))
        labelled = [
            survey_figures(names.get(r["requesting_department"], NO_DEPARTMENT), r)
            for r in provider_rows
        ]
        for row, figures in zip(provider_rows, hide_small_groups(labelled, limit), strict=True):
            result[(provider, row["requesting_department"])] = figures
        total = sum_rows(provider_rows)
        result[(provider, TOTAL)] = hide_small_groups(
            [survey_figures("All requests", total)], limit, complementary=False
        )[0]
    return result


def _requesters(keys: set[int | None]) -> list[tuple[int | None, str]]:
    """The rows: the requesting departments by name, "No department" last."""
    named: QuerySet[Department] = Department.objects.filter(pk__in=[k for k in keys if k])
    rows: list[tuple[int | None, str]] = [(d.pk, d.name) for d in named.order_by("name")]
    if None in keys:
        rows.append((None, NO_DEPARTMENT))
    return rows

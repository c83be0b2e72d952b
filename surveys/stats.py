"""Survey statistics for the dashboards: response rate, average CSAT, the score
distribution and NPS, for a department, per requesting department, and split by whether
the ticket met its SLA.

A period counts the invitations created (the resolutions surveyed) in [since, until),
less those withdrawn because the ticket was reopened, and their responses.

Anonymity: when the department surveys anonymously (or any answer in the period was
given under anonymity), a group of fewer than `min_group_size` responses is hidden: its
scores are not shown, only how many were asked and answered. And because the hidden
groups together could be read off the total minus the visible ones, more groups (the
smallest first) are hidden until the hidden ones hold at least `min_group_size`
responses between them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, cast

from django.db.models import Count, Q, QuerySet, Sum

from surveys.models import SCORES, SurveyInvitation, SurveySettings
from tickets.models import Department

DEFAULT_MIN_GROUP_SIZE = 5


@dataclass(frozen=True)
class SurveyFigures:
    label: str
    invited: int
    responses: int
    # Scores withheld: too few responses to show in an anonymous survey.
    hidden: bool = False
    response_rate: float | None = None  # 0..1
    csat_average: float | None = None  # 1..5
    csat_percent: float | None = None  # share of 4s and 5s, 0..100
    distribution: dict[int, int] | None = None  # score -> responses
    nps: int | None = None  # % promoters (9-10) - % detractors (0-6), -100..100
    nps_responses: int = 0


@dataclass(frozen=True)
class SurveyStats:
    department: Department
    since: datetime
    until: datetime
    anonymous: bool
    min_group_size: int
    overall: SurveyFigures
    by_sla: list[SurveyFigures]
    by_requesting_department: list[SurveyFigures]


# Over the invitations alone: an answered one carries its answer's score and
# recommendation (`SurveyInvitation.score`, `.nps`, copied by `survey_respond`), and every
# column counted here is in survey_inv_stats, so no answer is joined and no table row
# read (COUNT of created_at, not of the id, for the same reason).
SURVEY_AGGREGATES: dict[str, Any] = {
    "invited": Count("created_at"),
    "responses": Count("score"),
    "score_sum": Sum("score"),
    "nps_responses": Count("nps"),
    "promoters": Count("nps", filter=Q(nps__gte=9)),
    "detractors": Count("nps", filter=Q(nps__lte=6)),
    "anonymous_answers": Count("score", filter=Q(anonymous=True)),
    **{f"s{score}": Count("score", filter=Q(score=score)) for score in SCORES},
}
SLA_LABELS = {True: "SLA met", False: "SLA missed", None: "No SLA"}


def invitations_in(
    *, department: Department, since: datetime, until: datetime
) -> QuerySet[SurveyInvitation]:
    """The department's invitations created in [since, until) and not withdrawn: what
    every survey figure counts."""
    return SurveyInvitation.objects.filter(
        department=department,
        created_at__gte=since,
        created_at__lt=until,
        withdrawn_at__isnull=True,
    )


def survey_stats(
    *,
    department: Department,
    since: datetime,
    until: datetime,
    by_requesting_department: bool = False,
    requesting_rows: list[dict[str, Any]] | None = None,
    sla_rows: list[dict[str, Any]] | None = None,
) -> SurveyStats:
    """The department's survey figures over [since, until). Two queries (four with the
    per-requesting-department breakdown), whatever the number of responses. Access is
    the caller's to check (the dashboards show a department's figures to its leads).
    `requesting_rows`: the breakdown's counts (SURVEY_AGGREGATES per
    `requesting_department`, a row for each with invitations) when the caller has them
    already (the lead dashboard's daily figures): one query fewer; `sla_rows` likewise,
    the counts per `sla_met` (every figure but the breakdown's comes from them)."""
    settings = SurveySettings.objects.filter(department=department).first()
    invitations = invitations_in(department=department, since=since, until=until)
    by_sla_rows = sla_rows
    if by_sla_rows is None:
        # Plain dicts: django-stubs types .values() rows by the grouped fields only.
        by_sla_rows = cast(
            list[dict[str, Any]],
            list(invitations.values("sla_met").order_by("sla_met").annotate(**SURVEY_AGGREGATES)),
        )
    anonymous, min_size = anonymity(settings, by_sla_rows)
    limit = min_size if anonymous else 0

    total = sum_rows(by_sla_rows)
    overall = hide_small_groups(
        [survey_figures("All requests", total)], limit, complementary=False
    )[0]
    by_sla = hide_small_groups(
        [survey_figures(SLA_LABELS[row["sla_met"]], row) for row in _sla_order(by_sla_rows)], limit
    )
    by_requester: list[SurveyFigures] = []
    if by_requesting_department:
        rows = requesting_rows
        if rows is None:
            rows = cast(
                list[dict[str, Any]],
                list(
                    invitations.values("requesting_department")
                    .order_by("requesting_department")
                    .annotate(**SURVEY_AGGREGATES)
                ),
            )
        names = dict(
            Department.objects.filter(
                pk__in=[row["requesting_department"] for row in rows]
            ).values_list("pk", "name")
        )
        figures = [
            survey_figures(names.get(row["requesting_department"], "No department"), row)
            for row in rows
        ]
        by_requester = hide_small_groups(sorted(figures, key=lambda f: f.label), limit)
    return SurveyStats(
        department=department,
        since=since,
        until=until,
        anonymous=anonymous,
        min_group_size=min_size,
        overall=overall,
        by_sla=by_sla,
        by_requesting_department=by_requester,
    )


def anonymity(settings: SurveySettings | None, rows: Iterable[dict[str, Any]]) -> tuple[bool, int]:
    """(anonymous, minimum group size) of a department's figures: anonymous when its
    survey is, or when any answer counted in `rows` (SURVEY_AGGREGATES) was given under
    the promise of anonymity."""
    anonymous = (settings is not None and settings.anonymous) or any(
        row["anonymous_answers"] for row in rows
    )
    return anonymous, settings.min_group_size if settings else DEFAULT_MIN_GROUP_SIZE


def _sla_order(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    order = {True: 0, False: 1, None: 2}
    return sorted(rows, key=lambda row: order[row["sla_met"]])


def sum_rows(rows: Iterable[dict[str, Any]]) -> dict[str, int]:
    """SURVEY_AGGREGATES rows added up (a group without answers has no score sum)."""
    total = dict.fromkeys(SURVEY_AGGREGATES, 0)
    for row in rows:
        for key in SURVEY_AGGREGATES:
            total[key] += row[key] or 0
    return total


def survey_figures(label: str, row: dict[str, Any]) -> SurveyFigures:
    invited, responses = row["invited"], row["responses"]
    if not responses:
        return SurveyFigures(
            label=label,
            invited=invited,
            responses=0,
            response_rate=0.0 if invited else None,
        )
    distribution = {score: row[f"s{score}"] for score in SCORES}
    nps_responses = row["nps_responses"]
    nps = None
    if nps_responses:
        nps = round(100 * (row["promoters"] - row["detractors"]) / nps_responses)
    return SurveyFigures(
        label=label,
        invited=invited,
        responses=responses,
        response_rate=responses / invited,
        csat_average=round(row["score_sum"] / responses, 2),
        csat_percent=round(100 * (distribution[4] + distribution[5]) / responses, 1),
        distribution=distribution,
        nps=nps,
        nps_responses=nps_responses,
    )


def hide_small_groups(
    groups: list[SurveyFigures], limit: int, *, complementary: bool = True
) -> list[SurveyFigures]:
    """Hide the scores of groups under `limit` responses; with `complementary`, also of
    the smallest others until the hidden groups hold `limit` responses between them (or
    all are hidden), so no hidden group can be worked out from the total."""
    if not limit:
        return groups
    hidden = {i for i, group in enumerate(groups) if 0 < group.responses < limit}
    if complementary:
        by_size = sorted(
            (i for i, group in enumerate(groups) if group.responses and i not in hidden),
            key=lambda i: groups[i].responses,
        )
        while hidden and sum(groups[i].responses for i in hidden) < limit and by_size:
            hidden.add(by_size.pop(0))
    return [_withheld(group) if i in hidden else group for i, group in enumerate(groups)]


def _withheld(group: SurveyFigures) -> SurveyFigures:
    return replace(
        group,
        hidden=True,
        csat_average=None,
        csat_percent=None,
        distribution=None,
        nps=None,
        nps_responses=0,
    )

"""A department's knowledge-base figures for a period, for the lead dashboard: article
views, the helpful ratio, deflections and the searches that found nothing.

A **deflection** is a visit to the department's new-request form (a filing session) in
which the employee opened a suggested article and then filed nothing to the department,
neither from that form nor from another, within `KB_DEFLECTION_HOURS` of opening the
form. Counted when read, once that window has passed: nothing needs to run on a
schedule, and a request filed late in the window still cancels the deflection.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import (
    Count,
    DateTimeField,
    Exists,
    ExpressionWrapper,
    Func,
    IntegerField,
    OuterRef,
    QuerySet,
    Subquery,
    Value,
)

from knowledge.models import (
    ArticleFeedback,
    ArticleView,
    FilingSession,
    FilingSuggestion,
    SearchLog,
)
from tickets.models import Department, Ticket

EMPTY_SEARCHES_SHOWN = 10


@dataclass
class KnowledgeFigures:
    views: int
    helpful: int
    not_helpful: int
    deflections: int
    empty_searches: list[tuple[str, int]]  # (query, times), most frequent first

    @property
    def answers(self) -> int:
        return self.helpful + self.not_helpful

    @property
    def helpful_percent(self) -> int | None:
        return round(100 * self.helpful / self.answers) if self.answers else None


def deflection_window() -> timedelta:
    return timedelta(hours=settings.KB_DEFLECTION_HOURS)


def deflected_sessions(
    *, department: Department, since: datetime, until: datetime, now: datetime
) -> QuerySet[FilingSession]:
    """The department's filing sessions opened in [since, until) that were deflections
    (see the module's docstring); those whose window is still open are not counted yet."""
    window = deflection_window()
    opened = FilingSuggestion.objects.filter(session=OuterRef("pk"), opened_at__isnull=False)
    window_end = ExpressionWrapper(OuterRef("created_at") + Value(window), DateTimeField())
    filed = Ticket.objects.filter(
        department_id=OuterRef("department_id"),
        created_by_id=OuterRef("user_id"),
        created_at__gte=OuterRef("created_at"),
        created_at__lt=window_end,
    )
    return (
        FilingSession.objects.filter(
            department=department,
            ticket__isnull=True,
            created_at__gte=since,
            created_at__lt=min(until, now - window),
        )
        .filter(Exists(opened))
        .exclude(Exists(filed))
    )


def _count(queryset: QuerySet) -> Subquery:  # type: ignore[type-arg]
    """COUNT(*) of `queryset` as a scalar subquery (Func, not Count: no GROUP BY)."""
    counted = queryset.order_by().annotate(n=Func(Value(1), function="COUNT")).values("n")
    return Subquery(counted, output_field=IntegerField())


def knowledge_figures(
    *, department: Department, since: datetime, until: datetime, now: datetime
) -> KnowledgeFigures:
    """The figures in two queries: the counts together, then the empty searches."""
    period = {"department": department}
    feedback = ArticleFeedback.objects.filter(**period, updated_at__gte=since, updated_at__lt=until)
    counts = (
        Department.objects.filter(pk=department.pk)
        .annotate(
            views=_count(
                ArticleView.objects.filter(**period, viewed_at__gte=since, viewed_at__lt=until)
            ),
            helpful=_count(feedback.filter(helpful=True)),
            not_helpful=_count(feedback.filter(helpful=False)),
            deflections=_count(
                deflected_sessions(department=department, since=since, until=until, now=now)
            ),
        )
        .values("views", "helpful", "not_helpful", "deflections")
        .get()
    )
    empty = (
        SearchLog.objects.filter(
            **period, result_count=0, created_at__gte=since, created_at__lt=until
        )
        .values("query")
        .annotate(times=Count("pk"))
        .order_by("-times", "query")
        .values_list("query", "times")[:EMPTY_SEARCHES_SHOWN]
    )
    return KnowledgeFigures(
        views=counts["views"] or 0,
        helpful=counts["helpful"] or 0,
        not_helpful=counts["not_helpful"] or 0,
        deflections=counts["deflections"] or 0,
        empty_searches=list(empty),
    )

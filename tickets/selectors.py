"""Permission-checked reads. Every screen and API endpoint reads tickets through here.

Who sees what:
- requesters see tickets they requested or filed, and tickets they watch (unless the
  request type is confidential and they are not a member of the department);
- members (agents and leads) of a department see all of its tickets;
- superusers see everything.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from accounts.models import User
from servicedesk.config import config_cached
from tickets.models import (
    Attachment,
    Comment,
    Department,
    Membership,
    RequestType,
    Ticket,
    TicketEvent,
)

PAGE_SIZE = 25


def department_time_zone(department: Department) -> zoneinfo.ZoneInfo:
    """The zone of the department's business calendar (UTC without one)."""
    calendar = department.calendar
    return zoneinfo.ZoneInfo(calendar.time_zone if calendar is not None else "UTC")


def local_days(
    *, first_day: date, last_day: date, tz: zoneinfo.ZoneInfo
) -> tuple[datetime, datetime]:
    """[since, until) from the first day's local midnight to the midnight after the last
    day, as aware UTC instants (days are local: 23 or 25 hours long across DST)."""
    since = datetime.combine(first_day, time(0), tzinfo=tz)
    until = datetime.combine(last_day + timedelta(days=1), time(0), tzinfo=tz)
    return since.astimezone(UTC), until.astimezone(UTC)


def user_department_ids(user: User) -> frozenset[int]:
    """The departments the user works for (agent or lead), cached on the user object."""
    cached = getattr(user, "_department_ids", None)
    if cached is None:
        _load_memberships(user)
        cached = user._department_ids  # type: ignore[attr-defined]
    return cached


def user_lead_department_ids(user: User) -> frozenset[int]:
    """The departments the user leads, cached with the others (one query for both)."""
    cached = getattr(user, "_lead_department_ids", None)
    if cached is None:
        _load_memberships(user)
        cached = user._lead_department_ids  # type: ignore[attr-defined]
    return cached


def _load_memberships(user: User) -> None:
    user_memberships_known(
        user, list(Membership.objects.filter(user=user).values_list("department_id", "role"))
    )


def user_memberships_sql(user_id: str) -> str:
    """PostgreSQL: the memberships of the user whose id is the SQL expression `user_id`,
    as an array of [department id, role], for a query that reads the user anyway (the
    API's token, filing's round-robin agent); `user_memberships_known` takes it."""
    table = Membership._meta.db_table
    return (
        f"ARRAY(SELECT ARRAY[department_id::text, role] FROM {table} "  # noqa: S608 (names from the code)
        f"WHERE user_id = {user_id})"
    )


def user_memberships_known(user: User, rows: Iterable[Sequence[Any]]) -> None:
    """Cache the user's memberships, all of them as (department id, role), read by another
    query (`user_memberships_sql`)."""
    rows = [(int(department), role) for department, role in rows]
    user._department_ids = frozenset(d for d, _ in rows)  # type: ignore[attr-defined]
    user._lead_department_ids = frozenset(  # type: ignore[attr-defined]
        d for d, role in rows if role == Membership.Role.LEAD
    )


def department_leads(*, department_id: int) -> QuerySet[User]:
    """The department's leads with active accounts, oldest account first."""
    return User.objects.filter(
        is_active=True,
        memberships__department_id=department_id,
        memberships__role=Membership.Role.LEAD,
    ).order_by("pk")


def is_member(user: User, department_id: int) -> bool:
    return user.is_superuser or department_id in user_department_ids(user)


def is_agent(user: User) -> bool:
    return user.is_superuser or bool(user_department_ids(user))


def visible_tickets_q(user: User) -> Q:
    if user.is_superuser:
        return Q()
    own = Q(requester=user) | Q(created_by=user)
    # A subquery, not Q(watchers=user): joining the watchers table under an OR repeats a
    # ticket once per watcher.
    watching = Ticket.watchers.through.objects.filter(user=user).values("ticket_id")
    watched = Q(pk__in=watching) & Q(request_type__is_confidential=False)
    return own | watched | Q(department_id__in=user_department_ids(user))


def ticket_access(*, user: User, reference: str) -> Ticket:
    """The ticket, if the user may see it; otherwise 404 (existence is not revealed)."""
    if "\x00" in reference:  # no reference has one, and PostgreSQL refuses the string
        raise Http404("No such ticket.")
    ticket = (
        Ticket.objects.filter(reference=reference)
        .select_related(
            "department", "request_type", "requesting_department", "requester", "assignee",
            "created_by",
        )
        .first()
    )  # fmt: skip
    if ticket is None or not can_view(user=user, ticket=ticket):
        raise Http404("No such ticket.")
    return ticket


def can_view(*, user: User, ticket: Ticket) -> bool:
    # The people on the ticket first: that needs no query (a filing's receipt to its
    # requester would otherwise load the requester's memberships).
    if user.pk in (ticket.requester_id, ticket.created_by_id):
        return True
    if is_member(user, ticket.department_id):
        return True
    if ticket.request_type.is_confidential:
        return False
    return ticket.watchers.filter(pk=user.pk).exists()


def can_work(*, user: User, ticket: Ticket) -> bool:
    """Agents' actions: assign, change status, internal notes, transfer, priority."""
    return is_member(user, ticket.department_id)


def ticket_comments_for(*, user: User, ticket: Ticket) -> QuerySet[Comment]:
    comments = ticket.comments.select_related("author").prefetch_related("attachments")
    if not can_work(user=user, ticket=ticket):
        comments = comments.filter(is_internal=False)
    return comments


def ticket_events_for(*, user: User, ticket: Ticket) -> QuerySet[TicketEvent]:
    events = ticket.events.select_related("actor")
    if not can_work(user=user, ticket=ticket):
        events = events.exclude(action__in=TicketEvent.INTERNAL_ACTIONS)
    return events


def ticket_attachments_for(*, user: User, ticket: Ticket) -> QuerySet[Attachment]:
    """Attachments filed with the description (comment attachments come with comments)."""
    return ticket.attachments.filter(comment__isnull=True)


def attachment_access(*, user: User, attachment_id: int) -> Attachment:
    attachment = (
        Attachment.objects.select_related("ticket__request_type", "comment")
        .filter(pk=attachment_id)
        .first()
    )
    if attachment is None or not can_view(user=user, ticket=attachment.ticket):
        raise Http404("No such file.")
    internal = attachment.comment is not None and attachment.comment.is_internal
    if internal and not can_work(user=user, ticket=attachment.ticket):
        raise Http404("No such file.")
    return attachment


def department_list_for_filing() -> QuerySet[Department]:
    return Department.objects.filter(is_active=True, request_types__is_active=True).distinct()


def department_for_filing(*, code: str) -> Department:
    department = Department.objects.filter(code=code, is_active=True).first()
    if department is None:
        raise Http404("No such department.")
    return department


def request_type_by_id(request_type_id: int) -> RequestType | None:
    """The request type with its department and questions (prefetched), or None; from the
    process's configuration cache (servicedesk/config.py). Shared: do not change it."""
    return config_cached(
        ("request_type", request_type_id),
        lambda: (
            RequestType.objects.select_related("department")
            .prefetch_related("fields")
            .filter(pk=request_type_id)
            .first()
        ),
    )


def request_type_for_filing(*, department: Department, request_type_id: int) -> RequestType:
    request_type = (
        RequestType.objects.filter(department=department, pk=request_type_id, is_active=True)
        .prefetch_related("fields")
        .first()
    )
    if request_type is None:
        raise Http404("No such request type.")
    return request_type


def department_access_for_agent(*, user: User, code: str) -> Department:
    department = Department.objects.filter(code=code).first()
    if department is None or not is_member(user, department.pk):
        raise Http404("No such department.")
    return department


def departments_for_agent(*, user: User) -> QuerySet[Department]:
    if user.is_superuser:
        return Department.objects.all()
    return Department.objects.filter(pk__in=user_department_ids(user))


@dataclass(frozen=True)
class Page:
    """One keyset page: rows plus the cursors of the neighbouring pages (None at an end).

    A cursor goes into the URL as it is: an id for the newest-first order, an encoded
    DueCursor for the due-soonest order.
    """

    rows: list[Ticket]
    next_cursor: int | str | None
    previous_cursor: int | str | None


def keyset_page(
    queryset: QuerySet[Ticket],
    *,
    after: int | None = None,
    before: int | None = None,
    size: int = PAGE_SIZE,
) -> Page:
    """Newest first by id. `after` pages to older rows, `before` to newer ones.

    No OFFSET and no COUNT: each page is an index range scan of size + 1 rows, so a deep
    page costs what the first does.
    """
    return _keyset(
        queryset,
        order=("-id",),
        after=None if after is None else Q(id__lt=after),
        before=None if before is None else Q(id__gt=before),
        cursor_of=lambda ticket: ticket.pk,
        size=size,
    )


def _keyset(
    queryset: QuerySet[Ticket],
    *,
    order: tuple[str, ...],
    after: Q | None,
    before: Q | None,
    cursor_of: Callable[[Ticket], int | str],
    size: int,
) -> Page:
    """One page in `order`: rows past the `after` condition, or (reading the order
    backwards) the rows just before the `before` condition. Cursors are the first and last
    rows' positions, None at either end."""
    if before is not None:
        backwards = [field[1:] if field.startswith("-") else f"-{field}" for field in order]
        rows = list(queryset.filter(before).order_by(*backwards)[: size + 1])
        has_more_before = len(rows) > size
        rows = rows[:size][::-1]
        return Page(
            rows=rows,
            next_cursor=cursor_of(rows[-1]) if rows else None,
            previous_cursor=cursor_of(rows[0]) if rows and has_more_before else None,
        )
    if after is not None:
        queryset = queryset.filter(after)
    rows = list(queryset.order_by(*order)[: size + 1])
    has_more = len(rows) > size
    rows = rows[:size]
    return Page(
        rows=rows,
        next_cursor=cursor_of(rows[-1]) if rows and has_more else None,
        previous_cursor=cursor_of(rows[0]) if rows and after is not None else None,
    )


@dataclass(frozen=True)
class DueCursor:
    """A position in the due-soonest order: the (sla_due_at, id) of a row."""

    due_at: datetime
    id: int

    def encode(self) -> str:
        """'2025-11-24T14:30:00.250000Z_42': readable, and exact to the microsecond."""
        return f"{self.due_at.astimezone(UTC).isoformat().replace('+00:00', 'Z')}_{self.id}"

    # In both conditions the redundant bound (gte / lte) lets the database scan one
    # index range instead of two.
    def rows_after(self) -> Q:
        later = Q(sla_due_at__gt=self.due_at) | Q(sla_due_at=self.due_at, id__gt=self.id)
        return later & Q(sla_due_at__gte=self.due_at)

    def rows_before(self) -> Q:
        sooner = Q(sla_due_at__lt=self.due_at) | Q(sla_due_at=self.due_at, id__lt=self.id)
        return sooner & Q(sla_due_at__lte=self.due_at)

    @classmethod
    def of(cls, ticket: Ticket) -> DueCursor:
        assert ticket.sla_due_at is not None
        return cls(ticket.sla_due_at, ticket.pk)

    @classmethod
    def parse(cls, value: str | None) -> DueCursor | None:
        """The cursor in `value`, or None when it is missing or malformed (a hand-edited
        or truncated link shows the first page rather than an error)."""
        moment, _, ident = (value or "").rpartition("_")
        if not (ident.isascii() and ident.isdigit() and len(ident) <= 18):
            return None
        try:
            due_at = datetime.fromisoformat(moment)
        except ValueError:
            return None
        if timezone.is_naive(due_at):
            return None
        return cls(due_at, int(ident))


def keyset_page_by_due(
    queryset: QuerySet[Ticket],
    *,
    after: DueCursor | None = None,
    before: DueCursor | None = None,
    size: int = PAGE_SIZE,
) -> Page:
    """Soonest SLA deadline first, then by id. `after` pages to later deadlines, `before`
    to sooner ones.

    Only tickets with a running SLA clock have a deadline; the others are left out of
    this order (a paused clock has no due time). Keyset on (sla_due_at, id), which the
    partial index ticket_dept_sla_due covers: a deep page costs what the first does.
    """
    return _keyset(
        queryset.filter(sla_due_at__isnull=False),
        order=("sla_due_at", "id"),
        after=after.rows_after() if after else None,
        before=before.rows_before() if before else None,
        cursor_of=lambda ticket: DueCursor.of(ticket).encode(),
        size=size,
    )


LIST_RELATED = ("department", "request_type", "requester", "assignee", "requesting_department")


def ticket_queue_for_agent(
    *,
    user: User,
    department: Department,
    filters: dict[str, Any],
    now: datetime | None = None,
) -> QuerySet[Ticket]:
    """The department's tickets, filtered; the caller pages it with keyset_page (or
    keyset_page_by_due for the "due soonest" order). `now` decides what is at risk or
    breached."""
    if not is_member(user, department.pk):
        raise Http404("No such department.")
    queryset = Ticket.objects.filter(department=department).select_related(*LIST_RELATED)
    return _apply_filters(queryset, filters, now=now)


def ticket_list_for_user(
    *, user: User, filters: dict[str, Any], now: datetime | None = None
) -> QuerySet[Ticket]:
    """Every ticket the user may see (the API's list), filtered: the queue's filters plus
    `department` and `updated_since` / `updated_until` (ids and aware instants)."""
    queryset = Ticket.objects.filter(visible_tickets_q(user)).select_related(*LIST_RELATED)
    return _apply_filters(queryset, filters, now=now)


def ticket_list_for_requester(*, user: User, status: str = "") -> QuerySet[Ticket]:
    """'My requests': tickets the user asked for or filed for someone else."""
    queryset = Ticket.objects.filter(Q(requester=user) | Q(created_by=user)).select_related(
        *LIST_RELATED
    )
    return _apply_filters(queryset, {"status": status})


def _apply_filters(
    queryset: QuerySet[Ticket], filters: dict[str, Any], *, now: datetime | None = None
) -> QuerySet[Ticket]:
    status = filters.get("status") or ""
    if status == "active":
        queryset = queryset.filter(status__in=Ticket.OPEN_STATUSES)
    elif status:
        queryset = queryset.filter(status=status)
    if filters.get("priority"):
        queryset = queryset.filter(priority=filters["priority"])
    assignee = filters.get("assignee")
    if assignee == "none":
        queryset = queryset.filter(assignee__isnull=True)
    elif assignee:
        queryset = queryset.filter(assignee_id=assignee)
    if filters.get("request_type"):
        queryset = queryset.filter(request_type_id=filters["request_type"])
    if filters.get("requesting_department"):
        queryset = queryset.filter(requesting_department_id=filters["requesting_department"])
    if filters.get("department"):
        queryset = queryset.filter(department_id=filters["department"])
    # [since, until) ranges of the filing and last-change instants.
    for column in ("created", "updated"):
        if filters.get(f"{column}_since"):
            queryset = queryset.filter(**{f"{column}_at__gte": filters[f"{column}_since"]})
        if filters.get(f"{column}_until"):
            queryset = queryset.filter(**{f"{column}_at__lt": filters[f"{column}_until"]})
    sla = filters.get("sla")
    if sla:
        # The ticket's soonest running deadline, kept on the ticket by the SLA services.
        now = now or timezone.now()
        if sla == "breached":
            queryset = queryset.filter(sla_due_at__lte=now)
        elif sla == "at_risk":
            queryset = queryset.filter(sla_at_risk_at__lte=now, sla_due_at__gt=now)
    search = (filters.get("q") or "").strip()
    if search:
        # References are upper case by construction: an exact comparison uses the unique
        # index, where iexact's UPPER(reference) would make PostgreSQL walk every row.
        queryset = queryset.filter(Q(reference=search.upper()) | Q(title__icontains=search))
    return queryset

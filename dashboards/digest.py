"""The weekly digest: every Monday morning, in each department's time zone, its leads get
an email summary of the week before, sent through the outbox once per lead per week.

When: a department's digest for a week (local Monday 00:00 to the next Monday 00:00) is
due from the following Monday at DIGEST_SEND_HOUR, local, until that Monday's week is
over (the Sunday before the next digest). A run finds, for every active department, the
week due now (if any) and the leads who have not been sent it; a digest missed because
the workers were down on Monday goes out later that week, and one whose week ended more
than about six days ago never does (the next week's digest has taken its place).

Once: each email is an outbox row keyed `digest:<department id>:<lead id>:<ISO week>`.
The key's UNIQUE constraint, not the look-up before it, is what guarantees it: two runs
that both find a lead missing both compute the digest, and the second insert is
refused and ignored. A run that crashed half way sends the rest on the next run.

The figures are the lead dashboard's (`lead_dashboard`, `lead_satisfaction`) over that
week: one code path, and the email links to the same week on the dashboard.

Worst-served requesting department: among the requesting departments (tickets from
people without a home department are not one) with at least WORST_SERVED_MIN_CLOCKS
resolution targets finished in the week and at least one of them breached, the lowest
share met; a tie goes to the one with more breaches, then by name. None qualifies: none.
"""

from __future__ import annotations

import logging
import zoneinfo
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse

from accounts.models import User
from dashboards.selectors import (
    BreakdownRow,
    LeadDashboard,
    SlaFigures,
    lead_dashboard,
    lead_satisfaction,
)
from outbox.models import Message
from outbox.services import outbox_enqueue_once
from surveys.stats import SurveyFigures
from tickets.models import Department, Membership
from tickets.selectors import department_time_zone, local_days

logger = logging.getLogger(__name__)

WEEK = timedelta(days=7)
WORST_SERVED_MIN_CLOCKS = 5
# How often beat runs the digest (settings.CELERY_BEAT_SCHEDULE, "weekly-digest"): a
# department whose leads have no email address at all is logged by the first run only.
DIGEST_RUN_INTERVAL = timedelta(hours=1)


@dataclass(frozen=True)
class DigestWeek:
    """The local week a digest reports on, Monday to Sunday, and when it becomes due."""

    first_day: date  # a Monday
    since: datetime  # aware UTC, the first day's local midnight
    until: datetime  # aware UTC, the next Monday's local midnight
    due_at: datetime  # aware, the next Monday at the send hour, local

    @property
    def last_day(self) -> date:
        return self.first_day + timedelta(days=6)

    @property
    def iso_week(self) -> str:
        year, week, _ = self.first_day.isocalendar()
        return f"{year}-W{week:02d}"


def digest_week_due(*, tz: zoneinfo.ZoneInfo, now: datetime, send_hour: int) -> DigestWeek | None:
    """The week whose digest is due at `now` in zone `tz`: the one that ended this local
    Monday, once it is `send_hour` o'clock that Monday; None before that hour (the week
    before's digest is a week old by then: too late)."""
    today = now.astimezone(tz).date()
    monday = today - timedelta(days=today.weekday())
    due_at = datetime.combine(monday, time(send_hour), tzinfo=tz)
    if now < due_at:
        return None
    first_day = monday - WEEK
    since, until = local_days(first_day=first_day, last_day=monday - timedelta(days=1), tz=tz)
    return DigestWeek(first_day=first_day, since=since, until=until, due_at=due_at)


def digest_dedupe_key(*, department: Department, lead: User, week: DigestWeek) -> str:
    return f"digest:{department.pk}:{lead.pk}:{week.iso_week}"


# --- The figures ------------------------------------------------------------------------


@dataclass(frozen=True)
class Digest:
    department: Department
    week: DigestWeek
    board: LeadDashboard
    open_follow_ups: int
    worst_served: BreakdownRow | None
    dashboard_url: str

    @property
    def quiet(self) -> bool:
        """Nothing filed, resolved, finished against a target or surveyed in the week."""
        board = self.board
        return not (
            board.created
            or board.resolved
            or board.first_response.finished
            or board.resolution.finished
            or board.satisfaction.overall.invited
        )


def worst_served(rows: list[BreakdownRow], *, min_clocks: int) -> BreakdownRow | None:
    """The requesting department served worst (see the module's docstring), or None."""
    candidates = [
        row
        for row in rows
        if row.key is not None
        and row.resolution.finished >= min_clocks
        and row.resolution.breached > 0
    ]
    if not candidates:
        return None
    return min(
        candidates,
        key=lambda row: (row.resolution.met / row.resolution.finished, -row.resolution.breached,
                         row.name),
    )  # fmt: skip


def digest_build(*, department: Department, week: DigestWeek, now: datetime) -> Digest:
    """The week's figures for the department, as its dashboard shows them."""
    tz = department_time_zone(department)
    board = lead_dashboard(department=department, since=week.since, until=week.until, tz=tz,
                           now=now)  # fmt: skip
    satisfaction = lead_satisfaction(stats=board.satisfaction, tz=tz, weeks=board.survey_weeks)
    query = urlencode({"first_day": week.first_day, "last_day": week.last_day})
    url = f"{settings.SITE_URL}{reverse('lead_dashboard', args=[department.code])}?{query}"
    return Digest(
        department=department,
        week=week,
        board=board,
        open_follow_ups=satisfaction.open_follow_ups,
        worst_served=worst_served(
            board.by_requesting_department, min_clocks=WORST_SERVED_MIN_CLOCKS
        ),
        dashboard_url=url,
    )


# --- The email -------------------------------------------------------------------------

Section = tuple[str, list[tuple[str, str]]]  # a heading and its (label, value) lines


def digest_sections(digest: Digest) -> list[Section]:
    """The email's figures, worded once for its text and its HTML."""
    board = digest.board
    survey = board.satisfaction
    return [
        (
            "Service levels",
            [
                ("First response", _sla_line(board.first_response)),
                ("Resolution", _sla_line(board.resolution)),
                ("At sending", f"{board.at_risk_now} at risk · {board.breached_now} breached"),
            ],
        ),
        ("Tickets", [("Created", str(board.created)), ("Resolved", str(board.resolved))]),
        (
            "Satisfaction",
            [
                ("Average", _average_line(survey.overall, survey.min_group_size)),
                ("NPS", _nps_line(survey.overall)),
                ("Open low-score follow-ups", str(digest.open_follow_ups)),
            ],
        ),
        ("Worst served", [("Requesting department", _worst_line(digest.worst_served))]),
    ]


def _percent(value: float) -> str:
    return f"{value:g}%"


def _sla_line(figures: SlaFigures) -> str:
    if figures.percent_met is None:
        return "no targets finished"
    met = f"{_percent(figures.percent_met)} met ({figures.met} of {figures.finished})"
    return f"{met} · {figures.breached} breached"


def _average_line(figures: SurveyFigures, min_group_size: int) -> str:
    if figures.hidden:
        return (
            f"hidden: {figures.responses} responses, fewer than {min_group_size} "
            "in an anonymous survey"
        )
    if not figures.invited:
        return "no surveys sent"
    if figures.csat_average is None:
        return f"no responses ({figures.invited} asked)"
    average = f"{figures.csat_average:.1f} / 5"
    return f"{average} from {figures.responses} responses ({figures.invited} asked)"


def _nps_line(figures: SurveyFigures) -> str:
    if figures.hidden:
        return "hidden"
    if figures.nps is None:
        return "no answers"
    answers = f"{figures.nps_responses} answer{'s' if figures.nps_responses != 1 else ''}"
    return f"{figures.nps:+d} ({answers})" if figures.nps else f"0 ({answers})"


def _worst_line(row: BreakdownRow | None) -> str:
    if row is None:
        return (
            f"none (no requesting department with {WORST_SERVED_MIN_CLOCKS} or more resolution "
            "targets finished missed any)"
        )
    resolution = row.resolution
    percent = _percent(resolution.percent_met or 0.0)
    return (
        f"{row.name}: {percent} of resolution targets met ({resolution.met} of "
        f"{resolution.finished}) · {resolution.breached} breached"
    )


def digest_email(*, digest: Digest, lead: User) -> dict[str, object]:
    """The outbox payload of the digest's email to one lead (topic "email")."""
    context = {
        "digest": digest,
        "department": digest.department,
        "period": _span(digest.week.first_day, digest.week.last_day),
        "time_zone": digest.board.tz.key,
        "sections": digest_sections(digest),
        "recipient": lead,
    }
    return {
        "to": lead.email,
        "subject": f"{digest.department.name} weekly digest: {context['period']}",
        "text": render_to_string("emails/weekly_digest.txt", context),
        "html": render_to_string("emails/weekly_digest.html", context),
        "headers": {"Auto-Submitted": "auto-generated"},
    }


def _span(first: date, last: date) -> str:
    """'2 to 8 March 2026', '30 March to 5 April 2026', '29 December 2025 to 4 January
    2026'."""
    if first.year != last.year:
        return f"{first.day} {first:%B %Y} to {last.day} {last:%B %Y}"
    if first.month != last.month:
        return f"{first.day} {first:%B} to {last.day} {last:%B %Y}"
    return f"{first.day} to {last.day} {last:%B %Y}"


# --- Sending --------------------------------------------------------------------------------


def weekly_digest_send(*, now: datetime) -> int:
    """Enqueue every digest due at `now` and not yet enqueued; returns how many. Safe to
    run at any time and any number of times, also concurrently."""
    hour = settings.DIGEST_SEND_HOUR
    leads = _leads_by_department()
    departments = Department.objects.filter(is_active=True, pk__in=list(leads))
    due: list[tuple[Department, DigestWeek, list[User]]] = []
    for department in departments.select_related("calendar").order_by("pk"):
        week = digest_week_due(tz=department_time_zone(department), now=now, send_hour=hour)
        if week is not None:
            due.append((department, week, leads[department.pk]))
    keys = [
        digest_dedupe_key(department=department, lead=lead, week=week)
        for department, week, people in due
        for lead in people
    ]
    sent = _enqueued(keys)
    queued = 0
    for department, week, people in due:
        pending = [
            lead
            for lead in people
            if digest_dedupe_key(department=department, lead=lead, week=week) not in sent
        ]
        queued += _send_department(department=department, week=week, leads=pending, now=now)
    return queued


def _enqueued(keys: list[str]) -> set[str]:
    """The keys already in the outbox. Only spares the work: another run may enqueue one
    right after this look-up, and the UNIQUE constraint refuses it then."""
    return set(Message.objects.filter(dedupe_key__in=keys).values_list("dedupe_key", flat=True))


def _leads_by_department() -> dict[int, list[User]]:
    """Department id -> its active leads (as tickets.selectors.department_leads), in one
    query for every department."""
    memberships = (
        Membership.objects.filter(role=Membership.Role.LEAD, user__is_active=True)
        .select_related("user")
        .order_by("department_id", "user_id")
    )
    leads: dict[int, list[User]] = defaultdict(list)
    for membership in memberships:
        leads[membership.department_id].append(membership.user)
    return leads


def _send_department(
    *, department: Department, week: DigestWeek, leads: list[User], now: datetime
) -> int:
    reachable = [lead for lead in leads if lead.email]
    unreachable = [lead.username for lead in leads if not lead.email]
    if not reachable:
        # Nothing to compute. Said once, by the run in the first interval after it is due.
        if unreachable and now < week.due_at + DIGEST_RUN_INTERVAL:
            logger.warning(
                "weekly digest %s %s: no email address for lead(s) %s; not sent",
                department.code, week.iso_week, ", ".join(unreachable),
            )  # fmt: skip
        return 0
    if unreachable:
        logger.warning(
            "weekly digest %s %s: no email address for lead(s) %s; skipped",
            department.code, week.iso_week, ", ".join(unreachable),
        )  # fmt: skip
    digest = digest_build(department=department, week=week, now=now)
    queued = 0
    for lead in reachable:
        key = digest_dedupe_key(department=department, lead=lead, week=week)
        payload = digest_email(digest=digest, lead=lead)
        if not outbox_enqueue_once(topic=Message.Topic.EMAIL, dedupe_key=key, payload=payload):
            logger.info("weekly digest %s: already enqueued by another run", key)
            continue
        queued += 1
    logger.info("weekly digest %s %s: %s email(s) enqueued", department.code, week.iso_week, queued)
    return queued

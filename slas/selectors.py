"""Permission-aware reads of SLA clocks, shaped for screens.

What each viewer sees on a ticket page (the caller has already checked access with
tickets.selectors.ticket_access):
- members of the department (agents, leads) and superusers: every clock the ticket ever
  had — other departments' stopped clocks after a transfer, earlier next-response clocks,
  the targets, business time used and the segment timeline;
- everyone else (the requester, whoever filed it, watchers): the first-response and
  resolution targets of the department that holds the ticket now, with their due time
  and whether they are on time. Nothing else: no timeline, no other departments, and
  "at risk" reads as "on track", because the warning threshold is an internal escalation
  trigger and the deadline has not passed.

SLA events (warnings, breaches, “no update”) and what the escalation rules did about them
are internal: members of the department and superusers only (ticket_escalations_for).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime

from django.db.models import Prefetch
from django.utils import timezone

from accounts.models import User
from slas import clock
from slas.escalations import describe
from slas.filing import sla_clocks_filed
from slas.models import SlaClock, SlaEvent, SlaSegment
from slas.services import cached_calendar, calendar_for
from tickets import selectors as ticket_selectors
from tickets.models import Department, Ticket

ON_TRACK = "on_track"
AT_RISK = "at_risk"
BREACHED = "breached"
PAUSED = "paused"
MET = "met"
MET_LATE = "met_late"
STOPPED = "stopped"

STATE_LABELS = {
    ON_TRACK: "On track",
    AT_RISK: "At risk",
    BREACHED: "Breached",
    PAUSED: "Paused",
    MET: "Met",
    MET_LATE: "Met late",
    STOPPED: "Stopped",
}
# Targets in the order a person reads them: the first answer, later answers, the fix.
KIND_ORDER: dict[str, int] = {
    SlaClock.Kind.FIRST_RESPONSE: 0,
    SlaClock.Kind.NEXT_RESPONSE: 1,
    SlaClock.Kind.RESOLUTION: 2,
}
REQUESTER_KINDS = (SlaClock.Kind.FIRST_RESPONSE, SlaClock.Kind.RESOLUTION)


def deadline_state(
    due_at: datetime | None, at_risk_at: datetime | None, now: datetime
) -> str | None:
    """The state of a running deadline at `now`: breached, at risk or on track.

    The one definition used by the ticket page (per clock) and the queue (per ticket,
    from the denormalised Ticket.sla_due_at / sla_at_risk_at). None without a deadline.
    """
    if due_at is None:
        return None
    if now >= due_at:
        return BREACHED
    if at_risk_at is not None and now >= at_risk_at:
        return AT_RISK
    return ON_TRACK


@dataclass(frozen=True)
class SegmentView:
    """One stretch of a clock's timeline."""

    state: str  # SlaSegment.State: running or paused
    reason: str
    department: str
    started_at: datetime
    ended_at: datetime | None  # None: still going
    business_seconds: int  # business time counted against the target (0 while paused)

    @property
    def is_running(self) -> bool:
        return self.state == SlaSegment.State.RUNNING


@dataclass(frozen=True)
class ClockView:
    """One SLA target of a ticket as a person should read it at `now`."""

    kind: str
    kind_label: str
    state: str  # one of STATE_LABELS
    department: str  # who held the ticket while this clock ran
    time_zone: str  # the department's business calendar zone: times are shown in it
    target_seconds: int
    used_seconds: int  # business seconds used so far (or in total, once finished)
    due_at: datetime | None  # None while paused
    met_at: datetime | None
    stopped_at: datetime | None
    stop_reason: str
    is_current: bool  # the latest clock of its kind for the department holding the ticket
    paused_reason: str  # why a paused clock is paused (only with the timeline)
    segments: tuple[SegmentView, ...]  # empty for viewers who don't see the timeline

    @property
    def state_label(self) -> str:
        return STATE_LABELS[self.state]

    @property
    def seconds_left(self) -> int:
        """Business seconds left before the target runs out; negative when overdue."""
        return self.target_seconds - self.used_seconds

    @property
    def is_overdue(self) -> bool:
        return self.seconds_left < 0 or self.state in (BREACHED, MET_LATE)

    @property
    def is_finished(self) -> bool:
        return self.state in (MET, MET_LATE, STOPPED)


def ticket_sla_for(
    *, user: User, ticket: Ticket, now: datetime, timeline: bool = True
) -> list[ClockView]:
    """The ticket's SLA targets for `user`, current ones first in reading order, then
    earlier ones newest first. Empty when no SLA applies. `timeline` False leaves out
    the segments (and their query) for a reader that shows none (the API).

    Queries: one for the clocks (with departments and their calendars), and one for the
    segments when the viewer sees the timeline.
    """
    sees_everything = ticket_selectors.can_work(user=user, ticket=ticket)
    clocks = SlaClock.objects.filter(ticket=ticket).select_related("department__calendar")
    if sees_everything and timeline:
        segments = SlaSegment.objects.select_related("department").order_by("started_at", "id")
        clocks = clocks.prefetch_related(Prefetch("segments", queryset=segments))
    else:
        clocks = clocks.filter(department_id=ticket.department_id, kind__in=REQUESTER_KINDS)
    # Oldest first, sorted here: an ORDER BY next to the joined departments and calendars
    # costs Django more Python than the whole query (it hashes every selected column to
    # match the ordering against them).
    rows = sorted(clocks.order_by(), key=lambda sla_clock: (sla_clock.started_at, sla_clock.pk))
    return _clock_views(
        rows, ticket=ticket, now=now, sees_everything=sees_everything, timeline=timeline
    )


def ticket_sla_as_filed(*, user: User, ticket: Ticket, now: datetime) -> list[ClockView]:
    """`ticket_sla_for` without the timeline, for the ticket ticket_create has just
    returned: from the clocks filing wrote (slas/filing.py), not read back. Any other
    instance of the ticket has its clocks read."""
    filed = sla_clocks_filed(ticket)
    if filed is None:
        return ticket_sla_for(user=user, ticket=ticket, now=now, timeline=False)
    sees_everything = ticket_selectors.can_work(user=user, ticket=ticket)
    for sla_clock in filed:
        sla_clock.department = ticket.department  # the filing's, in hand
    rows = [
        c
        for c in filed
        if sees_everything
        or (c.department_id == ticket.department_id and c.kind in REQUESTER_KINDS)
    ]
    return _clock_views(
        rows, ticket=ticket, now=now, sees_everything=sees_everything, timeline=False
    )


def _clock_views(
    rows: list[SlaClock], *, ticket: Ticket, now: datetime, sees_everything: bool, timeline: bool
) -> list[ClockView]:
    latest: dict[str, SlaClock] = {}
    for sla_clock in rows:
        if sla_clock.department_id == ticket.department_id:
            latest[sla_clock.kind] = sla_clock  # rows are oldest first: the last one wins
    current_ids = {sla_clock.pk for sla_clock in latest.values()}
    calendars: dict[int, clock.Calendar] = {}
    views = [
        _clock_view(
            sla_clock,
            now=now,
            calendars=calendars,
            is_current=sla_clock.pk in current_ids,
            with_timeline=sees_everything and timeline,
        )
        for sla_clock in rows
        if sees_everything or sla_clock.pk in current_ids
    ]
    if not sees_everything:
        views = [_as_requester_sees(view) for view in views]
    current = sorted((v for v in views if v.is_current), key=lambda v: KIND_ORDER[v.kind])
    earlier = [v for v in reversed(views) if not v.is_current]
    return current + earlier


def _clock_view(
    sla_clock: SlaClock,
    *,
    now: datetime,
    calendars: dict[int, clock.Calendar],
    is_current: bool,
    with_timeline: bool,
) -> ClockView:
    department = sla_clock.department
    used = sla_clock.consumed_seconds
    calendar = None
    if sla_clock.state == SlaClock.State.RUNNING:
        calendar = _calendar(department, calendars)
        used += _business_seconds(sla_clock.running_since, now, calendar)
    segments: tuple[SegmentView, ...] = ()
    if with_timeline:
        segments = tuple(
            _segment_view(segment, now=now, calendar=calendar)
            for segment in sla_clock.segments.all()
        )
    state = _state(sla_clock, now)
    return ClockView(
        kind=sla_clock.kind,
        kind_label=str(SlaClock.Kind(sla_clock.kind).label),
        state=state,
        department=department.name,
        time_zone=(
            _calendar(department, calendars).time_zone
            if department.calendar_id
            else calendar_zone()
        ),
        target_seconds=sla_clock.target_seconds,
        used_seconds=used,
        due_at=sla_clock.due_at if sla_clock.state == SlaClock.State.RUNNING else None,
        met_at=sla_clock.met_at,
        stopped_at=sla_clock.stopped_at,
        stop_reason=sla_clock.stop_reason,
        is_current=is_current,
        paused_reason=segments[-1].reason if segments and state == PAUSED else "",
        segments=segments,
    )


def _state(sla_clock: SlaClock, now: datetime) -> str:
    state = sla_clock.state
    if state == SlaClock.State.RUNNING:
        return deadline_state(sla_clock.due_at, sla_clock.at_risk_at, now) or ON_TRACK
    if state == SlaClock.State.PAUSED:
        return PAUSED
    if state == SlaClock.State.MET:
        late = sla_clock.breached_at is not None
        return MET_LATE if late or sla_clock.consumed_seconds > sla_clock.target_seconds else MET
    return STOPPED


def _segment_view(
    segment: SlaSegment, *, now: datetime, calendar: clock.Calendar | None
) -> SegmentView:
    counted = segment.business_seconds or 0
    if segment.ended_at is None and segment.state == SlaSegment.State.RUNNING and calendar:
        # The open stretch of a running clock: counted up to now.
        counted = _business_seconds(segment.started_at, now, calendar)
    return SegmentView(
        state=segment.state,
        reason=segment.reason,
        department=segment.department.name,
        started_at=segment.started_at,
        ended_at=segment.ended_at,
        business_seconds=counted,
    )


def _as_requester_sees(view: ClockView) -> ClockView:
    return replace(view, state=ON_TRACK) if view.state == AT_RISK else view


def _calendar(department: Department, calendars: dict[int, clock.Calendar]) -> clock.Calendar:
    if department.pk not in calendars:
        # The clocks' query read the calendar row with the department: its last change
        # picks the cached calendar without calendar_for's own lookup.
        stored = department.calendar if Department.calendar.is_cached(department) else None
        calendars[department.pk] = (
            cached_calendar(stored.pk, stored.updated_at) if stored else calendar_for(department)
        )
    return calendars[department.pk]


def _business_seconds(start: datetime | None, end: datetime, calendar: clock.Calendar) -> int:
    if start is None or end <= start:
        return 0
    return clock.business_seconds_between(start, end, calendar)


def calendar_zone() -> str:
    """Where times of a department without a business calendar are shown (its SLAs count
    round the clock, so any zone is exact): the site's zone, as on the rest of the page."""
    return timezone.get_current_timezone_name()


# --- Escalations ----------------------------------------------------------------------

# A ticket has a handful of events (two warnings and a breach per target, and “no update”
# now and then); a ticket that lingers for months is shown its latest ones only.
ESCALATION_EVENTS_SHOWN = 30
# slas.escalations writes a rule's part of an event's outcome as “Level 2 “Tell the
# lead”:” followed by one indented line per action.
_RULE_HEADER = re.compile(r"^Level (\d+) “(.*)”:$")


@dataclass(frozen=True)
class RuleOutcome:
    """What one escalation rule did about an event."""

    level: int
    name: str
    results: tuple[str, ...]  # one line per action: “Raise priority by one step: now High”


@dataclass(frozen=True)
class EscalationEventView:
    """One recorded warning, breach or “no update”, and what the rules did about it."""

    kind: str  # SlaEvent.Kind
    description: str  # “Resolution: 75 % of the target used”, “No update for 8 business hours”
    department: str
    is_current: bool  # recorded for the department that holds the ticket now
    time_zone: str  # the department's calendar zone, as for its SLA targets
    instant: datetime
    handled_at: datetime | None  # None: a worker has not run its rules yet
    rules: tuple[RuleOutcome, ...]  # empty when no rule ran
    note: str  # the outcome when no rule ran (“No escalation rule applies.”, “Not escalated: ...”)

    @property
    def level(self) -> int:
        return max((rule.level for rule in self.rules), default=0)


@dataclass(frozen=True)
class TicketEscalations:
    events: tuple[EscalationEventView, ...]  # oldest first
    level: int  # the highest escalation level reached in the current department (0: none)
    more: bool  # older events exist that are not shown

    def __bool__(self) -> bool:
        return bool(self.events)


NO_ESCALATIONS = TicketEscalations(events=(), level=0, more=False)


def ticket_escalations_for(*, user: User, ticket: Ticket) -> TicketEscalations:
    """The ticket's SLA events and escalation outcomes, for members of its department
    (and superusers); nothing for anyone else (the requester, watchers): SLA events are
    internal. One query (the events with their clocks and departments' calendars); none
    for a viewer who does not see them."""
    if not ticket_selectors.can_work(user=user, ticket=ticket):
        return NO_ESCALATIONS
    rows = list(
        SlaEvent.objects.filter(ticket=ticket)
        .select_related("clock", "department__calendar")
        .order_by("-instant", "-id")[: ESCALATION_EVENTS_SHOWN + 1]
    )
    more = len(rows) > ESCALATION_EVENTS_SHOWN
    events = tuple(
        _event_view(event, current_department_id=ticket.department_id)
        for event in reversed(rows[:ESCALATION_EVENTS_SHOWN])
    )
    level = max((event.level for event in events if event.is_current), default=0)
    return TicketEscalations(events=events, level=level, more=more)


def _event_view(event: SlaEvent, *, current_department_id: int) -> EscalationEventView:
    rules, notes = _parse_outcome(event.outcome)
    calendar = event.department.calendar
    return EscalationEventView(
        kind=event.kind,
        description=describe(event),
        department=event.department.name,
        is_current=event.department_id == current_department_id,
        time_zone=calendar.time_zone if calendar else calendar_zone(),
        instant=event.instant,
        handled_at=event.handled_at,
        rules=rules,
        note=" ".join(notes),
    )


def _parse_outcome(outcome: str) -> tuple[tuple[RuleOutcome, ...], list[str]]:
    rules: list[RuleOutcome] = []
    notes: list[str] = []
    for line in outcome.splitlines():
        header = _RULE_HEADER.match(line)
        if header:
            rules.append(RuleOutcome(int(header.group(1)), header.group(2), ()))
        elif line.startswith(" ") and rules:
            last = rules[-1]
            rules[-1] = replace(last, results=(*last.results, line.strip()))
        elif line.strip():
            notes.append(line.strip())
    return tuple(rules), notes

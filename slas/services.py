"""SLA clocks: started, paused, resumed, met, stopped and rescheduled as tickets change.

`sla_on_ticket_change` is registered as a ticket hook (slas/apps.py): ticket services
call it inside their transaction, so a clock never disagrees with its ticket. Deadlines
are computed here, on write, with slas/clock.py, and stored with the checks ahead (each
warning and the breach, with its instant) and the first of them, the next instant at which
the sweep must look at the clock (`checks` and `next_check_at`, in the clock's SlaSchedule
row; `_schedule` is the one place that computes them, `_save`, `sla_clocks_create` and
`sla_recompute` the ones that write them).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import cast

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from servicedesk.config import config_cached
from servicedesk.db import update_rows
from slas import clock
from slas.checks import Check, due_checks, encode_checks, pending_checks
from slas.events import TicketFacts, due_clock_events, record_events
from slas.models import BusinessCalendar, SlaClock, SlaEvent, SlaPolicy, SlaSchedule, SlaSegment
from slas.rulebook import RuleBook
from tickets import hooks
from tickets.models import Department, Ticket

Kind = SlaClock.Kind
State = SlaClock.State
Status = Ticket.Status
ROUND_THE_CLOCK = clock.Calendar("UTC", tuple((day, 0, clock.DAY) for day in range(7)))
WAITING_REASON = "Waiting on requester"
RESOLVED_REASON = "Resolved"

_calendars: dict[tuple[int, datetime], clock.Calendar] = {}


# --- Calendars and policies -----------------------------------------------------------


def calendar_for(department: Department) -> clock.Calendar:
    """The department's business calendar as a clock value (round the clock if none).

    Read-mostly configuration, cached per process while the configuration generation is
    unchanged (servicedesk/config.py: a calendar's, its intervals' and holidays' saves
    move it, slas/apps.py), so filing reads no calendar row; within that, by (calendar id,
    last change), so an edit keeps the other calendars' precomputed windows.
    """
    calendar_id = department.calendar_id
    if calendar_id is None:
        return ROUND_THE_CLOCK

    def load() -> clock.Calendar:
        updated_at = (
            BusinessCalendar.objects.filter(pk=calendar_id)
            .values_list("updated_at", flat=True)
            .get()
        )
        return cached_calendar(calendar_id, updated_at)

    return config_cached(("calendar", calendar_id), load)


def cached_calendar(calendar_id: int, updated_at: datetime) -> clock.Calendar:
    """The calendar as a clock value, built once per (id, last change) in this process."""
    key = (calendar_id, updated_at)
    cached = _calendars.get(key)
    if cached is None:
        stored = BusinessCalendar.objects.prefetch_related("intervals", "holidays").get(
            pk=calendar_id
        )
        cached = stored.as_clock_calendar()
        _calendars[key] = cached
    return cached


def calendars_for(department_ids: Iterable[int]) -> dict[int, clock.Calendar]:
    """Calendars of several departments by id: one query (then the cache)."""
    rows = Department.objects.filter(pk__in=set(department_ids)).values_list(
        "pk", "calendar_id", "calendar__updated_at"
    )
    return {
        pk: ROUND_THE_CLOCK if calendar_id is None else cached_calendar(calendar_id, updated_at)
        for pk, calendar_id, updated_at in rows
    }


def policy_for(*, ticket: Ticket, now: datetime) -> SlaPolicy | None:
    """The most specific active policy for the ticket, or None (no SLA)."""
    if ticket.request_type.sla_exempt:
        return None
    # The department's active policies (a handful, cached per process: servicedesk/config.py),
    # matched here: building the SQL of five OR-ed conditions cost more than running it.
    today = timezone.localdate(now)
    department_id = ticket.department_id
    policies = config_cached(
        ("sla_policies", department_id),
        lambda: list(SlaPolicy.objects.filter(department_id=department_id, is_active=True)),
    )
    candidates = [
        p
        for p in policies
        if p.request_type_id in (None, ticket.request_type_id)
        and p.requesting_department_id in (None, ticket.requesting_department_id)
        and p.priority in (None, ticket.priority)
        and (p.active_from is None or p.active_from <= today)
        and (p.active_until is None or p.active_until >= today)
    ]
    return max(candidates, key=lambda p: (p.specificity, p.pk), default=None)


def _target_seconds(policy: SlaPolicy, kind: str) -> int | None:
    minutes = {
        Kind.FIRST_RESPONSE: policy.first_response_minutes,
        Kind.RESOLUTION: policy.resolution_minutes,
        Kind.NEXT_RESPONSE: policy.next_response_minutes,
    }[Kind(kind)]
    return minutes * 60 if minutes else None


def sla_preview(*, policy: SlaPolicy, start: datetime) -> dict[str, datetime]:
    """When each target of the policy would fall due for a ticket filed at `start`."""
    calendar = calendar_for(policy.department)
    preview: dict[str, datetime] = {}
    for kind in (Kind.FIRST_RESPONSE, Kind.NEXT_RESPONSE, Kind.RESOLUTION):
        seconds = _target_seconds(policy, kind)
        if seconds:
            preview[str(kind.label)] = clock.add_business_time(start, seconds, calendar)
    return preview


# --- The hook -------------------------------------------------------------------------


def sla_on_ticket_change(change: hooks.TicketChange) -> None:
    if change.kind == hooks.ASSIGNED:  # who works a ticket moves none of its clocks
        return
    if change.kind == hooks.CREATED:  # slas/filing.py starts a new ticket's clocks
        return
    ticket, now = change.ticket, change.now
    if change.kind == hooks.AGENT_REPLIED:
        for sla_clock in _active(ticket, Kind.FIRST_RESPONSE, Kind.NEXT_RESPONSE):
            _meet(sla_clock, now)
    elif change.kind == hooks.REQUESTER_REPLIED:
        # A requester's reply after the first response starts the next-response clock.
        if ticket.is_open and not _active(ticket, Kind.NEXT_RESPONSE, Kind.FIRST_RESPONSE):
            _start_clocks(ticket=ticket, now=now, kinds=(Kind.NEXT_RESPONSE,))
    elif change.kind == hooks.STATUS_CHANGED:
        _on_status(ticket=ticket, old=change.old_status, new=change.new_status, now=now)
    elif change.kind == hooks.PRIORITY_CHANGED:
        _reapply_policy(ticket=ticket, now=now)
    elif change.kind == hooks.TRANSFERRED and change.old_department_id == ticket.department_id:
        # Another request type of the same department: new targets, same time used (the
        # department must not restart its clocks, or be asked for a first response again).
        _reapply_policy(ticket=ticket, now=now)
    elif change.kind == hooks.TRANSFERRED:
        # The old department's clocks stop as the ticket was in its hands: its request
        # type and assignee before the transfer (the breakdowns count them so).
        before = _ticket_groups(ticket)
        details = change.details
        before["finished_request_type_id"] = cast(
            "int | None", details.get("old_request_type_id", ticket.request_type_id)
        )
        before["finished_assignee_id"] = cast(
            "int | None", details.get("old_assignee_id", ticket.assignee_id)
        )
        for sla_clock in _active(ticket):
            _stop(sla_clock, now, f"Transferred to {ticket.department.name}", groups=before)
        if ticket.is_open:
            _start_clocks(ticket=ticket, now=now, kinds=(Kind.FIRST_RESPONSE, Kind.RESOLUTION))
    _refresh_ticket(ticket)


def _on_status(*, ticket: Ticket, old: str, new: str, now: datetime) -> None:
    if new == Status.WAITING:
        for sla_clock in _active(ticket):
            _pause(sla_clock, now, WAITING_REASON)
    elif old == Status.WAITING and new == Status.OPEN:
        for sla_clock in _active(ticket):
            _resume(sla_clock, now)
    elif new == Status.RESOLVED:
        for sla_clock in _active(ticket):
            _meet(sla_clock, now)
    elif old == Status.RESOLVED and new == Status.OPEN:
        _restart_resolution(ticket=ticket, now=now)
    elif new in (Status.CLOSED, Status.CANCELLED):
        for sla_clock in _active(ticket):
            _stop(sla_clock, now, Status(new).label)


def _start_clocks(*, ticket: Ticket, now: datetime, kinds: Iterable[str]) -> list[SlaClock]:
    """Start the policy's clocks of these kinds; returns them (none without a policy).

    Each clock is scheduled before it is written, and clocks and segments are inserted in
    one statement each (filing writes them in one statement with the rest: slas/filing.py).
    """
    clocks = sla_clocks_new(ticket=ticket, now=now, kinds=kinds)
    sla_clocks_insert_running(clocks, now=now)
    if ticket.status == Status.WAITING:
        for sla_clock in clocks:
            _pause(sla_clock, now, WAITING_REASON)
    return clocks


def sla_clocks_new(*, ticket: Ticket, now: datetime, kinds: Iterable[str]) -> list[SlaClock]:
    """The policy's clocks of these kinds, running from `now` and scheduled (deadlines,
    checks), in memory, not written: none without a policy."""
    policy = policy_for(ticket=ticket, now=now)
    if policy is None:
        return []
    calendar = calendar_for(ticket.department)
    clocks = []
    for kind in kinds:
        target = _target_seconds(policy, kind)
        if target is None:
            continue
        sla_clock = SlaClock(
            ticket=ticket,
            department_id=ticket.department_id,
            policy=policy,
            kind=kind,
            state=State.RUNNING,
            target_seconds=target,
            warning_percents=policy.warning_list,
            started_at=now,
            running_since=now,
            updated_at=now,
        )
        _schedule(sla_clock, calendar)
        clocks.append(sla_clock)
    return clocks


def sla_clocks_insert_running(clocks: list[SlaClock], *, now: datetime) -> None:
    """Insert clocks started at `now` (`sla_clocks_new`) with their schedule rows and
    first segments, running: three statements."""
    sla_clocks_create(clocks)
    SlaSegment.objects.bulk_create(
        SlaSegment(
            clock=sla_clock,
            department_id=sla_clock.department_id,
            state=SlaSegment.State.RUNNING,
            started_at=now,
        )
        for sla_clock in clocks
    )


def sla_clocks_create(clocks: list[SlaClock]) -> list[SlaClock]:
    """Insert clocks built in memory, each with its schedule row (what the properties
    `next_check_at` and `warned_percent` were set to): two statements."""
    SlaClock.objects.bulk_create(clocks)
    schedules = []
    for sla_clock in clocks:
        schedule = sla_clock.sweep_schedule
        schedule.copy_clock(sla_clock)
        schedules.append(schedule)
    SlaSchedule.objects.bulk_create(schedules)
    return clocks


def _save(sla_clock: SlaClock) -> None:
    """Write a clock the services changed, and its schedule row."""
    sla_clock.save()
    schedule = sla_clock.sweep_schedule
    schedule.copy_clock(sla_clock)
    schedule.save()


def _locked_clocks() -> QuerySet[SlaClock]:
    """Clocks with their schedule rows, both locked (the sweep locks the schedule row of
    a clock it works on, and skips rows a service holds). The filter makes the join an
    inner one, which PostgreSQL needs to lock both sides in one statement."""
    return (
        SlaClock.objects.select_for_update(of=("self", "schedule"))
        .filter(schedule__isnull=False)
        .select_related("schedule")
    )


def _restart_resolution(*, ticket: Ticket, now: datetime) -> None:
    """A reopened ticket's resolution clock runs on from where it was met."""
    last = (
        _locked_clocks()
        .filter(ticket=ticket, department_id=ticket.department_id, kind=Kind.RESOLUTION)
        .order_by("-started_at", "-id")
        .first()
    )
    if last is None or last.state != State.MET:
        return
    last.state = State.RUNNING
    last.met_at = None
    for name, value in _ticket_groups(None).items():  # counted again when met again
        setattr(last, name, value)
    last.running_since = now
    SlaSegment.objects.create(
        clock=last,
        department_id=last.department_id,
        state=SlaSegment.State.RUNNING,
        reason="Reopened",
        started_at=now,
    )
    _schedule(last, calendar_for(ticket.department))
    last.updated_at = now
    _save(last)


def _reapply_policy(*, ticket: Ticket, now: datetime) -> None:
    """Priority (or anything the policy depends on) changed: new targets, same time used.

    A ticket that had no SLA and now has one gets clocks counted from now.
    """
    policy = policy_for(ticket=ticket, now=now)
    calendar = calendar_for(ticket.department)
    active = _active(ticket)
    if not active and policy is not None and ticket.is_open:
        kinds = [Kind.RESOLUTION]
        if ticket.first_response_at is None:
            kinds.insert(0, Kind.FIRST_RESPONSE)
        _start_clocks(ticket=ticket, now=now, kinds=kinds)
        return
    for sla_clock in active:
        target = _target_seconds(policy, sla_clock.kind) if policy else None
        if target is None:
            _stop(sla_clock, now, "No SLA applies any more")
            continue
        sla_clock.policy = policy
        sla_clock.target_seconds = target
        sla_clock.warning_percents = policy.warning_list if policy else []
        if sla_clock.state == State.RUNNING:
            _schedule(sla_clock, calendar)
        sla_clock.updated_at = now
        _save(sla_clock)


# --- One clock ------------------------------------------------------------------------


def _active(ticket: Ticket, *kinds: str) -> list[SlaClock]:
    # Locked: the sweep may be recording a warning or breach on one of them right now
    # (it skips locked clocks), and a stale save must not undo what it recorded.
    clocks = _locked_clocks().filter(ticket=ticket, state__in=SlaClock.ACTIVE_STATES)
    if kinds:
        clocks = clocks.filter(kind__in=kinds)
    active = list(clocks.select_related("department"))
    for sla_clock in active:
        sla_clock.ticket = ticket  # what `_finish` records, without loading it again
    return active


def _close_segment(sla_clock: SlaClock, now: datetime, calendar: clock.Calendar) -> int:
    """End the open segment; return the business seconds it counted (0 if paused)."""
    segment = sla_clock.segments.filter(ended_at__isnull=True).order_by("-started_at").first()
    if segment is None:
        return 0
    used = 0
    if segment.state == SlaSegment.State.RUNNING:
        used = clock.business_seconds_between(segment.started_at, now, calendar)
    segment.ended_at = now
    segment.business_seconds = used
    segment.save(update_fields=["ended_at", "business_seconds"])
    return used


def _record_passed_checks(sla_clock: SlaClock, now: datetime) -> None:
    """Before a running clock is paused, met or stopped: record the warnings and breach
    that came due since the sweep last looked (it runs every few seconds; a reply may
    land in between, or the workers may be down), exactly as the sweep would have: from
    the same stored checks (so at the same instants). The common case, nothing due yet,
    costs nothing."""
    if sla_clock.next_check_at is None or sla_clock.next_check_at > now:
        return
    schedule = sla_clock.sweep_schedule
    checks, _ = due_checks(
        schedule.checks, warned_percent=schedule.warned_percent, breached=schedule.breached,
        now=now,
    )  # fmt: skip
    ticket = sla_clock.ticket
    facts = TicketFacts(
        ticket.pk, sla_clock.department_id, ticket.request_type_id, ticket.priority,
        ticket.requesting_department_id,
    )  # fmt: skip
    due = due_clock_events(
        checks, clock_id=sla_clock.pk, clock_kind=sla_clock.kind, facts=facts,
        rules=RuleBook.load(),
    )  # fmt: skip
    for row in due:
        if row.kind == SlaEvent.Kind.BREACH:
            sla_clock.breached_at = row.instant
            schedule.breached = True
        else:
            sla_clock.warned_percent = row.threshold
    record_events(due, now=now)


def _pause(sla_clock: SlaClock, now: datetime, reason: str) -> None:
    if sla_clock.state != State.RUNNING:
        return
    calendar = calendar_for(sla_clock.department)
    _record_passed_checks(sla_clock, now)
    sla_clock.consumed_seconds += _close_segment(sla_clock, now, calendar)
    _note_breach(sla_clock, now)  # a paused clock forgets its due time
    SlaSegment.objects.create(
        clock=sla_clock,
        department_id=sla_clock.department_id,
        state=SlaSegment.State.PAUSED,
        reason=reason,
        started_at=now,
    )
    sla_clock.state = State.PAUSED
    sla_clock.running_since = None
    sla_clock.due_at = sla_clock.at_risk_at = None
    _set_checks(sla_clock, [])
    sla_clock.updated_at = now
    _save(sla_clock)


def _resume(sla_clock: SlaClock, now: datetime) -> None:
    if sla_clock.state != State.PAUSED:
        return
    calendar = calendar_for(sla_clock.department)
    _close_segment(sla_clock, now, calendar)
    SlaSegment.objects.create(
        clock=sla_clock,
        department_id=sla_clock.department_id,
        state=SlaSegment.State.RUNNING,
        started_at=now,
    )
    sla_clock.state = State.RUNNING
    sla_clock.running_since = now
    _schedule(sla_clock, calendar)
    sla_clock.updated_at = now
    _save(sla_clock)


def _meet(sla_clock: SlaClock, now: datetime) -> None:
    _finish(sla_clock, now, State.MET, "")


def _stop(
    sla_clock: SlaClock, now: datetime, reason: str, groups: dict[str, int | None] | None = None
) -> None:
    _finish(sla_clock, now, State.STOPPED, reason, groups)


def _ticket_groups(ticket: Ticket | None) -> dict[str, int | None]:
    """The clock's `finished_*` columns for the ticket as it is (all None: unfinished)."""
    return {
        "finished_requesting_department_id": ticket.requesting_department_id if ticket else None,
        "finished_request_type_id": ticket.request_type_id if ticket else None,
        "finished_assignee_id": ticket.assignee_id if ticket else None,
        "finished_priority": ticket.priority if ticket else None,
    }


def _finish(
    sla_clock: SlaClock, now: datetime, state: str, reason: str,
    groups: dict[str, int | None] | None = None,
) -> None:  # fmt: skip
    """Meet or stop the clock; it records the ticket as it is now (or `groups`: as it was
    just before the change that stops it) for the dashboards' breakdowns."""
    for name, value in (groups or _ticket_groups(sla_clock.ticket)).items():
        setattr(sla_clock, name, value)
    calendar = calendar_for(sla_clock.department)
    if sla_clock.state == State.RUNNING:
        _record_passed_checks(sla_clock, now)
    sla_clock.consumed_seconds += _close_segment(sla_clock, now, calendar)
    _note_breach(sla_clock, now)
    sla_clock.state = state
    if state == State.MET:
        sla_clock.met_at = now
    else:
        sla_clock.stopped_at = now
        sla_clock.stop_reason = reason[:200]
    sla_clock.running_since = None
    sla_clock.at_risk_at = None
    _set_checks(sla_clock, [])
    sla_clock.updated_at = now
    _save(sla_clock)


def _note_breach(sla_clock: SlaClock, now: datetime) -> None:
    """After a run is closed: the breach the sweep recorded goes onto the clock (the
    sweep marks only the schedule row, never the clock; the event has the instant, one
    probe of its UNIQUE index); else, if the run used up the target, the breach happened
    when the target ran out, the due time of that run (met, stopped or paused late)."""
    if sla_clock.breached_at is not None:
        return
    if sla_clock.sweep_schedule.breached:
        sla_clock.breached_at = (
            SlaEvent.objects.filter(clock=sla_clock, kind=SlaEvent.Kind.BREACH)
            .order_by("instant")
            .values_list("instant", flat=True)
            .first()
        )
    if sla_clock.breached_at is None and sla_clock.consumed_seconds > sla_clock.target_seconds:
        sla_clock.breached_at = sla_clock.due_at or now


def check_instants(sla_clock: SlaClock, calendar: clock.Calendar) -> list[Check]:
    """The running clock's checks still ahead, from its state (slas/checks.py)."""
    assert sla_clock.running_since is not None
    return pending_checks(
        target=sla_clock.target_seconds,
        used=sla_clock.consumed_seconds,
        running_since=sla_clock.running_since,
        warning_percents=sla_clock.warning_percents,
        warned_percent=sla_clock.warned_percent,
        breached=sla_clock.breached_at is not None or sla_clock.sweep_schedule.breached,
        calendar=calendar,
    )


def _schedule(sla_clock: SlaClock, calendar: clock.Calendar) -> None:
    """Due time, at-risk time, the checks ahead and the next check of a running clock,
    from its state."""
    if not calendar.has_working_time:  # nothing can fall due; admin refuses such calendars
        sla_clock.due_at = sla_clock.at_risk_at = None
        _set_checks(sla_clock, [])
        return
    start = sla_clock.running_since
    assert start is not None
    target, used = sla_clock.target_seconds, sla_clock.consumed_seconds
    sla_clock.due_at = clock.add_business_time(start, max(target - used, 0), calendar)
    last_warning = max(sla_clock.warning_percents, default=100)
    sla_clock.at_risk_at = clock.add_business_time(
        start, max(target * last_warning // 100 - used, 0), calendar
    )
    _set_checks(sla_clock, check_instants(sla_clock, calendar))


def sla_clock_schedule(*, sla_clock: SlaClock, calendar: clock.Calendar) -> None:
    """Compute a running clock's deadlines and checks in memory, for callers that build
    clocks themselves and insert them with `sla_clocks_create` (scripts, tests)."""
    _schedule(sla_clock, calendar)


def _set_checks(sla_clock: SlaClock, checks: list[Check]) -> None:
    """The schedule's checks and, with them, its next check (the first of them)."""
    schedule = sla_clock.sweep_schedule
    schedule.checks = encode_checks(checks)
    schedule.next_check_at = checks[0].instant if checks else None


def _refresh_ticket(ticket: Ticket) -> None:
    """Copy the earliest running deadline onto the ticket for the queue, in the database
    and on the instance in hand (the API answers with it)."""
    ticket.sla_due_at, ticket.sla_at_risk_at = _refresh_tickets({ticket.pk})[ticket.pk]


# --- Recomputation --------------------------------------------------------------------


def sla_recompute(*, now: datetime, batch_size: int = 1000, after_id: int = 0) -> int:
    """Recompute every active clock after an admin changed a calendar or a policy: the
    policy is chosen again, the business time used is measured again from the clock's
    segments with today's calendar, and the deadlines follow.

    Works in batches by id, each in its own short transaction, with calendars and policies
    looked up once per batch, segments prefetched and rows written back in bulk, so it is
    safe on a live system with a million open tickets. Returns how many it recomputed.
    """
    done = 0
    while True:
        with transaction.atomic():
            batch = list(
                _locked_clocks()
                .filter(state__in=SlaClock.ACTIVE_STATES, pk__gt=after_id)
                .select_related("department", "ticket__request_type")
                .prefetch_related("segments")
                .order_by("pk")[:batch_size]
            )
            if not batch:
                return done
            _recompute_batch(batch, now)
        done += len(batch)
        after_id = batch[-1].pk


def _recompute_batch(batch: list[SlaClock], now: datetime) -> None:
    calendars: dict[int, clock.Calendar] = {}
    policies: dict[tuple[object, ...], SlaPolicy | None] = {}
    changed_clocks: list[SlaClock] = []
    changed_segments: list[SlaSegment] = []
    for sla_clock in batch:
        department = sla_clock.department
        if department.pk not in calendars:
            calendars[department.pk] = calendar_for(department)
        ticket = sla_clock.ticket
        key = (
            ticket.department_id,
            ticket.request_type_id,
            ticket.requesting_department_id,
            ticket.priority,
        )
        if key not in policies:
            policies[key] = policy_for(ticket=ticket, now=now)
        policy = policies[key]
        target = _target_seconds(policy, sla_clock.kind) if policy else None
        if target is None:
            _stop(sla_clock, now, "No SLA applies any more")
            continue
        calendar = calendars[department.pk]
        consumed = 0
        for segment in sla_clock.segments.all():
            if segment.state != SlaSegment.State.RUNNING or segment.ended_at is None:
                continue
            used = clock.business_seconds_between(segment.started_at, segment.ended_at, calendar)
            if used != segment.business_seconds:
                segment.business_seconds = used
                changed_segments.append(segment)
            consumed += used
        sla_clock.consumed_seconds = consumed
        sla_clock.policy = policy
        sla_clock.target_seconds = target
        sla_clock.warning_percents = policy.warning_list if policy else []
        if sla_clock.state == State.RUNNING:
            _schedule(sla_clock, calendar)
        sla_clock.updated_at = now
        changed_clocks.append(sla_clock)
    update_rows(
        SlaSegment,
        ["business_seconds"],
        [(seg.business_seconds, seg.pk) for seg in changed_segments],
    )
    update_rows(
        SlaClock,
        [
            "consumed_seconds", "policy_id", "target_seconds", "warning_percents", "due_at",
            "at_risk_at", "updated_at",
        ],
        [
            (
                c.consumed_seconds, c.policy_id, c.target_seconds, json.dumps(c.warning_percents),
                c.due_at, c.at_risk_at, c.updated_at, c.pk,
            )
            for c in changed_clocks
        ],
    )  # fmt: skip
    for sla_clock in changed_clocks:
        sla_clock.sweep_schedule.copy_clock(sla_clock)
    update_rows(
        SlaSchedule,
        ["next_check_at", "checks", "breached"],
        [
            (s.next_check_at, s.checks, s.breached, s.pk)
            for s in (c.sweep_schedule for c in changed_clocks)
        ],
    )
    _refresh_tickets({sla_clock.ticket_id for sla_clock in batch})


def _refresh_tickets(ticket_ids: set[int]) -> dict[int, tuple[datetime | None, datetime | None]]:
    """Each ticket's soonest running deadline and at-risk time, copied onto it for the
    queue: one read of their running clocks, one write. Returns what was written, by
    ticket id."""
    rows = SlaClock.objects.filter(ticket_id__in=ticket_ids, state=State.RUNNING).values_list(
        "ticket_id", "due_at", "at_risk_at"
    )
    written = soonest_deadlines(ticket_ids, rows)
    update_rows(Ticket, ["sla_due_at", "sla_at_risk_at"], [(*written[pk], pk) for pk in ticket_ids])
    return written


def soonest_deadlines(
    ticket_ids: Iterable[int], running: Iterable[tuple[int, datetime | None, datetime | None]]
) -> dict[int, tuple[datetime | None, datetime | None]]:
    """The (due, at risk) a ticket carries for the queue, by ticket id: the soonest of
    its running clocks' (`running`: ticket id, due_at, at_risk_at of each)."""
    due: dict[int, list[datetime]] = {pk: [] for pk in ticket_ids}
    at_risk: dict[int, list[datetime]] = {pk: [] for pk in due}
    for ticket_id, due_at, at_risk_at in running:
        if due_at:
            due[ticket_id].append(due_at)
        if at_risk_at:
            at_risk[ticket_id].append(at_risk_at)
    return {pk: (min(due[pk], default=None), min(at_risk[pk], default=None)) for pk in due}

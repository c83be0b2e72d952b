"""Presentation of SLA times: business durations, deadlines relative to now, times in a
calendar's zone. Pure formatting; no database access."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django import template
from django.utils import timezone
from django.utils.dateformat import format as date_format

from slas.selectors import STATE_LABELS, deadline_state

register = template.Library()


@register.filter
def business_duration(seconds: int | None) -> str:
    """Business seconds, unsigned: '0 min', 'under 1 min', '45 min', '2 h 15 min', '40 h'.

    Hours, not days: a business day is whatever the calendar says, so '3 days' would
    mislead. Minutes are dropped from a day's worth of hours up, where they are noise.
    """
    seconds = abs(int(seconds or 0))
    if seconds == 0:
        return "0 min"
    if seconds < 60:
        return "under 1 min"
    hours, minutes = divmod(seconds // 60, 60)
    if not hours:
        return f"{minutes} min"
    if minutes and hours < 24:
        return f"{hours} h {minutes} min"
    return f"{hours} h"


@register.filter
def due_relative(due_at: datetime | None, now: datetime) -> str:
    """Wall-clock distance to a deadline: 'in 2 h', 'in 3 days', 'overdue 45 min'."""
    if due_at is None:
        return ""
    seconds = (due_at - now).total_seconds()
    span = _compact(abs(seconds))
    return f"in {span}" if seconds > 0 else f"overdue {span}"


def _compact(seconds: float) -> str:
    if seconds < 60:
        return "<1 min"
    if seconds < 3600:
        return f"{int(seconds // 60)} min"
    if seconds < 48 * 3600:
        return f"{int(seconds // 3600)} h"
    return f"{int(seconds // 86400)} days"


@register.filter
def ticket_sla_state(ticket: Any, now: datetime) -> str:
    """'breached', 'at_risk', 'on_track' from the ticket's stored soonest deadline, or ''
    (no running clock). Reads two columns already loaded: no query per row."""
    return deadline_state(ticket.sla_due_at, ticket.sla_at_risk_at, now) or ""


@register.filter
def sla_state_label(state: str) -> str:
    return STATE_LABELS.get(state, state)


@register.filter
def in_zone(value: datetime | None, zone: str) -> str:
    """'Tue 24 Nov, 15:30' in the given IANA zone (with the year if not this year)."""
    if value is None:
        return ""
    local = value.astimezone(ZoneInfo(zone))
    this_year = timezone.now().astimezone(local.tzinfo).year
    return date_format(local, "D j M, H:i" if local.year == this_year else "D j M Y, H:i")


@register.filter
def end_in_zone(segment: Any, zone: str) -> str:
    """Where a finished timeline stretch ends: the time alone when it ends on the day it
    started ('11:30'), else date and time ('Wed 25 Nov, 10:00')."""
    tz = ZoneInfo(zone)
    start, end = segment.started_at.astimezone(tz), segment.ended_at.astimezone(tz)
    return date_format(end, "H:i") if start.date() == end.date() else in_zone(end, zone)

"""Small presentation helpers for the templates: compact times, initials, status names.

Pure formatting; no database access.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import template
from django.utils import timezone
from django.utils.dateformat import format as date_format

from tickets.models import Ticket

register = template.Library()


@register.filter
def when(value: datetime | None, now: datetime | None = None) -> str:
    """'just now', '5 min ago', '3 h ago', 'yesterday', '4 days ago', '12 Mar', '12 Mar 2023'."""
    if not value:
        return ""
    now = now or timezone.now()
    seconds = (now - value).total_seconds()
    if seconds < 0:
        return date_format(timezone.localtime(value), "j M, H:i")
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h ago"
    local, today = timezone.localtime(value), timezone.localtime(now)
    days = (today.date() - local.date()).days
    if days == 1:
        return "yesterday"
    if days < 7:
        return f"{days} days ago"
    if local.year == today.year:
        return date_format(local, "j M")
    return date_format(local, "j M Y")


@register.filter
def initials(user: Any) -> str:
    if user is None:
        return ""
    first = (getattr(user, "first_name", "") or "")[:1]
    last = (getattr(user, "last_name", "") or "")[:1]
    return (first + last) or (getattr(user, "username", "") or "?")[:2]


@register.filter
def status_label(value: str) -> str:
    """A status value's label, e.g. from the audit trail: 'waiting' -> 'Waiting on requester'."""
    try:
        return str(Ticket.Status(value).label)
    except ValueError:
        return value


@register.filter
def hue(value: Any) -> str:
    """A stable colour slot (0-9) for an avatar, from the user's id."""
    try:
        return str(int(getattr(value, "pk", value) or 0) % 10)
    except (TypeError, ValueError):
        return "0"

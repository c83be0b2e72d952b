"""The checks of a running clock: the instants at which the sweep must record a warning
or the breach. Pure: no database, no Django.

While a clock runs, its checks are fixed: they move only when a service changes the clock
(pause, resume, new target, met, stopped, a recompute), and the services compute them
then (slas/services.py `_schedule`) and store them in the clock's schedule row, encoded
by `encode_checks`. The sweep only decodes them (`due_checks`): it does no business-time
math, so its cost does not depend on calendars, and the service recording a check that
passed before the sweep saw it reads the very same instants (one UNIQUE key per event).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from slas import clock

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
BREACH = 100  # a breach is the check at 100 % of the target


class Check(NamedTuple):
    """An instant at which the sweep must record an event: a warning at `percent` of the
    target, or the breach (percent 100)."""

    kind: str  # "warning" or "breach"
    percent: int
    instant: datetime


def pending_checks(
    *,
    target: int,
    used: int,
    running_since: datetime,
    warning_percents: list[int],
    warned_percent: int,
    breached: bool,
    calendar: clock.Calendar,
) -> list[Check]:
    """The checks still ahead of a running clock, in order: each warning threshold above
    the highest already recorded and not used up before this run, then the breach unless
    it has been recorded. So a threshold passed before a pause, or recorded before the
    target changed, is never repeated."""
    pending = [
        ("warning", percent)
        for percent in warning_percents
        if percent > warned_percent and target * percent // 100 > used
    ]
    if not breached:
        pending.append(("breach", BREACH))
    return [
        Check(
            kind,
            percent,
            clock.add_business_time(
                running_since, max(target * percent // 100 - used, 0), calendar
            ),
        )
        for kind, percent in pending
    ]


def encode_checks(checks: list[Check]) -> str:
    """'[[50, <microseconds since the epoch>], ..., [100, ...]]': compact, exact to the
    microsecond (an event's instant is part of its UNIQUE key), read the same on every
    database. Empty text: nothing ahead."""
    if not checks:
        return ""
    return json.dumps([[c.percent, microseconds(c.instant)] for c in checks], separators=(",", ":"))


def microseconds(moment: datetime) -> int:
    delta = moment - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _instant(microseconds: int) -> datetime:
    return EPOCH + timedelta(microseconds=microseconds)


def due_checks(
    encoded: str, *, warned_percent: int, breached: bool, now: datetime
) -> tuple[list[Check], datetime | None]:
    """The stored checks that have come due by `now` and are not recorded yet (warnings
    above `warned_percent`, the breach unless `breached`), in order, and the instant of
    the next one still ahead (None: nothing ahead)."""
    if not encoded:
        return [], None
    limit = microseconds(now)
    due: list[Check] = []
    for percent, at in json.loads(encoded):
        if at > limit:
            return due, _instant(at)
        if percent == BREACH:
            if not breached:
                due.append(Check("breach", percent, _instant(at)))
        elif percent > warned_percent:
            due.append(Check("warning", percent, _instant(at)))
    return due, None


def first_instant(checks: list[Check]) -> datetime | None:
    return checks[0].instant if checks else None

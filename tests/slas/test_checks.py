"""A running clock's checks, stored by the services and read by the sweep (slas/checks.py):
pure, no database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from slas.checks import Check, due_checks, encode_checks

T0 = datetime(2026, 3, 2, 9, 0, 0, 123456, tzinfo=UTC)
MIN = timedelta(minutes=1)
CHECKS = [
    Check("warning", 50, T0 + 30 * MIN),
    Check("warning", 75, T0 + 45 * MIN),
    Check("breach", 100, T0 + 60 * MIN),
]


def test_stored_checks_come_back_exact_to_the_microsecond():
    berlin = timezone(timedelta(hours=1))
    stored = encode_checks([Check("breach", 100, T0.astimezone(berlin))])

    due, ahead = due_checks(stored, warned_percent=0, breached=False, now=T0)

    assert due == [Check("breach", 100, T0)]
    assert due[0].instant == T0  # same instant, whatever the zone it was computed in
    assert ahead is None


def test_due_checks_are_those_reached_and_not_recorded_and_the_next_is_the_first_ahead():
    stored = encode_checks(CHECKS)

    assert due_checks(stored, warned_percent=0, breached=False, now=T0 + 29 * MIN) == (
        [],
        T0 + 30 * MIN,
    )
    assert due_checks(stored, warned_percent=0, breached=False, now=T0 + 50 * MIN) == (
        CHECKS[:2],
        T0 + 60 * MIN,
    )
    # The 50 % warning is recorded already (by a sweep, or a service before a pause).
    assert due_checks(stored, warned_percent=50, breached=False, now=T0 + 61 * MIN) == (
        CHECKS[1:],
        None,
    )
    # Everything recorded: a repeated sweep finds nothing to record, nothing ahead.
    assert due_checks(stored, warned_percent=75, breached=True, now=T0 + 61 * MIN) == ([], None)


def test_a_clock_with_nothing_ahead_stores_nothing():
    assert encode_checks([]) == ""
    assert due_checks("", warned_percent=0, breached=False, now=T0) == ([], None)

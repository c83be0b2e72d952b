"""slas/clock.py against a minute-by-minute oracle, plus table tests for the cases people
ask about. Pure Python: no database."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from slas.clock import Calendar, add_business_time, business_seconds_between, is_business_time

H = 3600
ZONES = ["America/New_York", "Europe/Berlin", "Asia/Kolkata", "Australia/Sydney", "UTC"]
# Daylight-saving changes in 2026, where bugs live: starts are drawn near them often.
DST_CHANGES = [
    datetime(2026, 3, 8, 7, tzinfo=UTC),  # New York springs forward
    datetime(2026, 11, 1, 6, tzinfo=UTC),  # New York falls back
    datetime(2026, 3, 29, 1, tzinfo=UTC),  # Berlin springs forward
    datetime(2026, 10, 25, 1, tzinfo=UTC),  # Berlin falls back
    datetime(2026, 4, 4, 16, tzinfo=UTC),  # Sydney falls back
    datetime(2026, 10, 3, 16, tzinfo=UTC),  # Sydney springs forward
]


def oracle_is_business(moment: datetime, calendar: Calendar) -> bool:
    local = moment.astimezone(ZoneInfo(calendar.time_zone))
    if local.date() in calendar.holidays:
        return False
    second = local.hour * H + local.minute * 60 + local.second
    return any(
        weekday == local.weekday() and start <= second < end
        for weekday, start, end in calendar.intervals
    )


def oracle_seconds_between(start: datetime, end: datetime, calendar: Calendar) -> int:
    total, moment = 0, start
    while moment < end:
        if oracle_is_business(moment, calendar):
            total += 60
        moment += timedelta(minutes=1)
    return total


@st.composite
def calendars(draw: st.DrawFn) -> Calendar:
    zone = draw(st.sampled_from(ZONES))
    intervals = []
    for weekday in range(7):
        # Up to three shifts a day on a 15-minute grid: lunch breaks, split and night shifts.
        marks = sorted(draw(st.sets(st.integers(0, 96), max_size=6)))
        for low, high in zip(marks[::2], marks[1::2], strict=False):
            intervals.append((weekday, low * 900, high * 900))
    if not intervals:
        intervals.append((draw(st.integers(0, 6)), 9 * H, 17 * H))
    holidays = draw(st.frozensets(st.dates(date(2025, 12, 1), date(2027, 2, 1)), max_size=40))
    return Calendar(zone, tuple(intervals), holidays)


minute_starts = st.one_of(
    st.builds(
        lambda base, minutes: base + timedelta(minutes=minutes),
        st.sampled_from(DST_CHANGES),
        st.integers(-3 * 24 * 60, 3 * 24 * 60),
    ),
    st.datetimes(datetime(2026, 1, 1), datetime(2026, 12, 31)).map(
        lambda d: d.replace(second=0, microsecond=0, tzinfo=UTC)
    ),
)
ORACLE_SETTINGS = settings(
    max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@ORACLE_SETTINGS
@given(calendar=calendars(), start=minute_starts, minutes=st.integers(0, 3 * 24 * 60))
def test_business_seconds_between_matches_the_minute_oracle(
    calendar: Calendar, start: datetime, minutes: int
) -> None:
    end = start + timedelta(minutes=minutes)
    assert business_seconds_between(start, end, calendar) == oracle_seconds_between(
        start, end, calendar
    )


@ORACLE_SETTINGS
@given(calendar=calendars(), start=minute_starts, minutes=st.integers(1, 5000))
def test_add_business_time_lands_on_the_earliest_instant_with_that_much_business_time(
    calendar: Calendar, start: datetime, minutes: int
) -> None:
    result = add_business_time(start, minutes * 60, calendar)
    assert result.tzinfo == UTC
    assert result > start
    assert business_seconds_between(start, result, calendar) == minutes * 60
    # Earliest: the minute just before the result was business time (counted by the oracle).
    assert oracle_is_business(result - timedelta(minutes=1), calendar)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(calendar=calendars(), start=minute_starts)
def test_is_business_time_matches_the_oracle(calendar: Calendar, start: datetime) -> None:
    assert is_business_time(start, calendar) == oracle_is_business(start, calendar)


# --- Table tests ------------------------------------------------------------------------

NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
WEEKDAYS_9_TO_5 = tuple((d, 9 * H, 17 * H) for d in range(5))
WITH_LUNCH = tuple((d, s, e) for d in range(5) for s, e in ((9 * H, 12 * H), (13 * H, 17 * H)))


def ny(*args: int) -> datetime:
    return datetime(*args, tzinfo=NEW_YORK)


def test_friday_afternoon_rolls_over_the_weekend() -> None:
    calendar = Calendar("America/New_York", WEEKDAYS_9_TO_5)
    due = add_business_time(ny(2026, 11, 20, 16), 2 * H, calendar)  # Friday 16:00
    assert due == ny(2026, 11, 23, 10).astimezone(UTC)  # Monday 10:00


def test_holidays_are_skipped() -> None:
    calendar = Calendar("America/New_York", WEEKDAYS_9_TO_5, frozenset({date(2026, 11, 26)}))
    due = add_business_time(ny(2026, 11, 25, 16), 2 * H, calendar)  # day before Thanksgiving
    assert due == ny(2026, 11, 27, 10).astimezone(UTC)


def test_lunch_break_is_not_counted() -> None:
    calendar = Calendar("America/New_York", WITH_LUNCH)
    assert add_business_time(ny(2026, 11, 23, 11), 2 * H, calendar) == ny(2026, 11, 23, 14)
    assert business_seconds_between(ny(2026, 11, 23, 8), ny(2026, 11, 23, 18), calendar) == 7 * H


def test_start_outside_working_hours_counts_from_the_next_opening() -> None:
    calendar = Calendar("America/New_York", WEEKDAYS_9_TO_5)
    assert add_business_time(ny(2026, 11, 23, 6), H, calendar) == ny(2026, 11, 23, 10)
    assert add_business_time(ny(2026, 11, 22, 12), H, calendar) == ny(2026, 11, 23, 10)  # Sunday


def test_zero_seconds_is_the_start_itself() -> None:
    calendar = Calendar("America/New_York", WEEKDAYS_9_TO_5)
    start = ny(2026, 11, 22, 12)
    assert add_business_time(start, 0, calendar) == start


def test_spring_forward_night_shift_loses_the_skipped_hour() -> None:
    # 00:00-06:00 on Sunday 8 March 2026: 02:00-03:00 does not exist in New York.
    calendar = Calendar("America/New_York", ((6, 0, 6 * H),))
    night = business_seconds_between(ny(2026, 3, 7, 12), ny(2026, 3, 8, 12), calendar)
    assert night == 5 * H


def test_fall_back_night_shift_counts_the_repeated_hour() -> None:
    calendar = Calendar("America/New_York", ((6, 0, 6 * H),))
    night = business_seconds_between(ny(2026, 10, 31, 12), ny(2026, 11, 1, 12), calendar)
    assert night == 7 * H


def test_day_shift_across_dst_changes_keeps_wall_clock_hours() -> None:
    calendar = Calendar("Europe/Berlin", WEEKDAYS_9_TO_5)
    friday = datetime(2026, 3, 27, 16, tzinfo=BERLIN)  # clocks go forward on Sunday 29 March
    assert add_business_time(friday, 2 * H, calendar) == datetime(2026, 3, 30, 10, tzinfo=BERLIN)
    friday = datetime(2026, 10, 23, 16, tzinfo=BERLIN)  # and back on Sunday 25 October
    assert add_business_time(friday, 2 * H, calendar) == datetime(2026, 10, 26, 10, tzinfo=BERLIN)


def test_round_the_clock_calendar_is_elapsed_time() -> None:
    calendar = Calendar("Australia/Sydney", tuple((d, 0, 24 * H) for d in range(7)))
    start = datetime(2026, 4, 1, tzinfo=UTC)
    assert add_business_time(start, 30 * 24 * H, calendar) == start + timedelta(days=30)
    assert business_seconds_between(start, start + timedelta(days=400), calendar) == 400 * 24 * H


def test_long_spans_extend_the_precomputed_range() -> None:
    calendar = Calendar("Asia/Kolkata", WEEKDAYS_9_TO_5)
    start = datetime(2026, 1, 5, 9, tzinfo=ZoneInfo("Asia/Kolkata"))  # a Monday
    # 52 weeks of 40 hours end on the Friday of the 52nd week at 17:00: the earliest
    # instant with that much business time, not the Monday morning after.
    year_later = datetime(2027, 1, 1, 17, tzinfo=ZoneInfo("Asia/Kolkata"))
    assert add_business_time(start, 52 * 40 * H, calendar) == year_later
    far = add_business_time(start, 400 * 40 * H, calendar)  # eight years ahead
    assert business_seconds_between(start, far, calendar) == 400 * 40 * H


def test_reversed_span_is_zero() -> None:
    calendar = Calendar("UTC", WEEKDAYS_9_TO_5)
    assert business_seconds_between(ny(2026, 11, 24), ny(2026, 11, 23), calendar) == 0


def test_microseconds_are_kept() -> None:
    calendar = Calendar("UTC", tuple((d, 0, 24 * H) for d in range(7)))
    start = datetime(2026, 1, 1, 0, 0, 0, 250_000, tzinfo=UTC)
    assert add_business_time(start, 10, calendar) == start + timedelta(seconds=10)


@pytest.mark.parametrize(
    ("intervals", "message"),
    [
        (((7, 0, 3600),), "weekday"),
        (((0, 3600, 3600),), "start < end"),
        (((0, 0, 90_000),), "start < end"),
    ],
)
def test_invalid_calendars_are_refused(intervals: tuple, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Calendar("UTC", intervals)


def test_unknown_time_zone_is_refused() -> None:
    with pytest.raises(Exception, match="Mars"):
        Calendar("Mars/Olympus_Mons", WEEKDAYS_9_TO_5)


def test_naive_datetimes_are_refused() -> None:
    calendar = Calendar("UTC", WEEKDAYS_9_TO_5)
    with pytest.raises(ValueError, match="aware"):
        add_business_time(datetime(2026, 1, 1), H, calendar)


def test_calendar_without_working_hours_cannot_add_time() -> None:
    with pytest.raises(ValueError, match="no working hours"):
        add_business_time(datetime(2026, 1, 1, tzinfo=UTC), H, Calendar("UTC", ()))

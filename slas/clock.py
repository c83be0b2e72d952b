"""Business-time arithmetic: pure Python, no Django.

A `Calendar` is a frozen value: an IANA time zone, weekly working intervals in local
wall-clock time (several per day, so lunch breaks and split shifts work; a 24x7 calendar
is every day from 0 to 86400) and a set of local holiday dates.

Definition (the one the brute-force oracle in tests/slas/test_clock.py checks): an
instant is business time when its local wall-clock time, in the calendar's zone, falls in
one of that weekday's working intervals and its local date is not a holiday.

How it is fast: a calendar's working windows are precomputed in UTC (as integer
microseconds since the epoch) together with a running sum of business time before each
window. `business_seconds_between` is two binary searches and `add_business_time` is two
more, whatever the span. Windows are computed a few years at a time and the range grows
on demand. Daylight-saving changes are handled by splitting the timeline at the zone's
UTC-offset changes: between two changes local time is UTC plus a constant, so the local
working intervals map to UTC by one subtraction (a skipped hour simply contains no
business time; a repeated hour counts twice, as real elapsed time does).
"""

from __future__ import annotations

import threading
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

DAY = 86_400
US = 1_000_000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
ONE_US = timedelta(microseconds=1)
YEARS_PER_EXTENSION = 2
MAX_YEAR_RANGE = 200
# Zones change offset at most a few times a year, months apart; sampling once a day finds
# each change and a binary search pins it to the second.
SAMPLE_STEP = DAY


@dataclass(frozen=True)
class Calendar:
    """Working hours of a department.

    `intervals` are (weekday, start_second, end_second) in local time, weekday 0 = Monday,
    0 <= start < end <= 86400. Overlapping or touching intervals on a day are merged.
    """

    time_zone: str
    intervals: tuple[tuple[int, int, int], ...]
    holidays: frozenset[date] = field(default_factory=frozenset)
    _windows: _Windows | None = field(default=None, init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        ZoneInfo(self.time_zone)  # raises for an unknown zone
        for weekday, start, end in self.intervals:
            if not 0 <= weekday <= 6:
                raise ValueError(f"weekday must be 0 (Monday) to 6 (Sunday), not {weekday}")
            if not 0 <= start < end <= DAY:
                raise ValueError(
                    f"a working interval must have 0 <= start < end <= 86400: {start}, {end}"
                )
        object.__setattr__(self, "intervals", _normalise(self.intervals))
        object.__setattr__(self, "holidays", frozenset(self.holidays))

    @property
    def has_working_time(self) -> bool:
        return bool(self.intervals)

    def _remember(self, windows: _Windows) -> None:
        object.__setattr__(self, "_windows", windows)


def _normalise(intervals: tuple[tuple[int, int, int], ...]) -> tuple[tuple[int, int, int], ...]:
    merged: list[tuple[int, int, int]] = []
    for weekday, start, end in sorted(intervals):
        if merged and merged[-1][0] == weekday and start <= merged[-1][2]:
            previous = merged.pop()
            merged.append((weekday, previous[1], max(previous[2], end)))
        else:
            merged.append((weekday, start, end))
    return tuple(merged)


def _to_us(moment: datetime) -> int:
    """Microseconds since the epoch, exact: timedelta arithmetic is integer, and done in C
    (0.5 µs, a third of spelling it out in Python; bench/clock.py)."""
    try:
        return (moment - EPOCH) // ONE_US
    except TypeError:  # naive (or a tzinfo without an offset)
        raise ValueError("business-time functions take aware datetimes") from None


def _from_us(micros: int) -> datetime:
    return EPOCH + timedelta(0, 0, micros)  # positional: keywords cost 0.4 µs a call


@dataclass(frozen=True)
class _Windows:
    first_year: int
    end_year: int  # exclusive
    starts: list[int]
    ends: list[int]
    before: list[int]  # business microseconds before each window
    through: list[int]  # business microseconds up to the end of each window
    start_us: int  # the covered range, in UTC microseconds
    end_us: int


class _WindowCache:
    """Windows per calendar, extended on demand. Readers see a complete _Windows value:
    an extension builds a new one and swaps the reference."""

    def __init__(self) -> None:
        self._by_calendar: dict[Calendar, _Windows] = {}
        self._lock = threading.Lock()

    def covering(self, calendar: Calendar, *moments_us: int) -> _Windows:
        # The calendar object remembers its windows, so the hot path needs no hashing.
        windows = calendar._windows or self._by_calendar.get(calendar)
        if windows is not None:
            for moment in moments_us:
                if not windows.start_us <= moment < windows.end_us:
                    break
            else:
                calendar._remember(windows)
                return windows
        with self._lock:
            windows = self._by_calendar.get(calendar)
            years = [_from_us(m).year for m in moments_us]
            first, end = min(years), max(years) + YEARS_PER_EXTENSION
            if windows is not None:
                first, end = min(first, windows.first_year), max(end, windows.end_year)
            if end - first > MAX_YEAR_RANGE:
                raise ValueError("business-time span of more than 200 years")
            windows = _build(calendar, first, end)
            self._by_calendar[calendar] = windows
            calendar._remember(windows)
            return windows

    def extend_forward(self, calendar: Calendar, windows: _Windows) -> _Windows:
        with self._lock:
            current = self._by_calendar.get(calendar, windows)
            end = max(current.end_year, windows.end_year) + YEARS_PER_EXTENSION * 2
            if end - current.first_year > MAX_YEAR_RANGE:
                raise ValueError("no business time within 200 years of the start")
            current = _build(calendar, current.first_year, end)
            self._by_calendar[calendar] = current
            calendar._remember(current)
            return current


_cache = _WindowCache()


def _offset_changes(zone: ZoneInfo, start: int, end: int) -> list[tuple[int, int]]:
    """[(utc_second, offset_seconds)]: the offset in force from each instant on."""

    def offset_at(second: int) -> int:
        moment = datetime.fromtimestamp(second, tz=zone)
        return int(moment.utcoffset().total_seconds())  # type: ignore[union-attr]

    pieces = [(start, offset_at(start))]
    previous_second, previous_offset = start, pieces[0][1]
    second = start + SAMPLE_STEP
    while second < end + SAMPLE_STEP:
        probe = min(second, end)
        offset = offset_at(probe)
        if offset != previous_offset:
            low, high = previous_second, probe  # offset(low) == previous, offset(high) != previous
            while high - low > 1:
                middle = (low + high) // 2
                if offset_at(middle) == previous_offset:
                    low = middle
                else:
                    high = middle
            pieces.append((high, offset_at(high)))
            previous_offset = pieces[-1][1]
        previous_second = probe
        if probe == end:
            break
        second += SAMPLE_STEP
    return pieces


def _build(calendar: Calendar, first_year: int, end_year: int) -> _Windows:
    zone = ZoneInfo(calendar.time_zone)
    start_s = int((datetime(first_year, 1, 1, tzinfo=UTC) - EPOCH).total_seconds())
    end_s = int((datetime(end_year, 1, 1, tzinfo=UTC) - EPOCH).total_seconds())
    by_weekday: dict[int, list[tuple[int, int]]] = {}
    for weekday, start, end in calendar.intervals:
        by_weekday.setdefault(weekday, []).append((start, end))

    changes = _offset_changes(zone, start_s, end_s)
    starts: list[int] = []
    ends: list[int] = []
    for index, (piece_start, offset) in enumerate(changes):
        piece_end = changes[index + 1][0] if index + 1 < len(changes) else end_s
        # Local wall-clock seconds (as if UTC) covered by this piece.
        local_start, local_end = piece_start + offset, piece_end + offset
        day = local_start // DAY
        while day * DAY < local_end:
            local_date = date.fromordinal(EPOCH_ORDINAL + day)
            if local_date not in calendar.holidays:
                for work_start, work_end in by_weekday.get(local_date.weekday(), ()):
                    low = max(day * DAY + work_start, local_start)
                    high = min(day * DAY + work_end, local_end)
                    if low < high:
                        utc_low, utc_high = (low - offset) * US, (high - offset) * US
                        if ends and ends[-1] == utc_low:
                            ends[-1] = utc_high  # one window across midnight or a piece change
                        else:
                            starts.append(utc_low)
                            ends.append(utc_high)
            day += 1

    before: list[int] = []
    through: list[int] = []
    total = 0
    for low, high in zip(starts, ends, strict=True):
        before.append(total)
        total += high - low
        through.append(total)
    return _Windows(
        first_year=first_year,
        end_year=end_year,
        starts=starts,
        ends=ends,
        before=before,
        through=through,
        start_us=start_s * US,
        end_us=end_s * US,
    )


def _business_before(windows: _Windows, moment: int) -> int:
    """Business microseconds from the start of the covered range to `moment`."""
    index = bisect_right(windows.starts, moment) - 1
    if index < 0:
        return 0
    return windows.before[index] + min(moment, windows.ends[index]) - windows.starts[index]


def business_seconds_between(start: datetime, end: datetime, calendar: Calendar) -> int:
    """Whole business seconds from `start` to `end` (0 when end is not after start)."""
    start_us, end_us = _to_us(start), _to_us(end)
    if end_us <= start_us:
        return 0
    windows = _cache.covering(calendar, start_us, end_us)
    return (_business_before(windows, end_us) - _business_before(windows, start_us)) // US


def add_business_time(start: datetime, seconds: int, calendar: Calendar) -> datetime:
    """The instant at which `seconds` of business time have passed since `start` (UTC).

    With seconds == 0 the answer is `start` itself, even outside working hours.
    """
    if seconds < 0:
        raise ValueError("seconds must not be negative")
    start_us = _to_us(start)
    if seconds == 0:
        return _from_us(start_us)
    if not calendar.has_working_time:
        raise ValueError("the calendar has no working hours")
    windows = _cache.covering(calendar, start_us)
    target = _business_before(windows, start_us) + seconds * US
    while not windows.through or windows.through[-1] < target:
        windows = _cache.extend_forward(calendar, windows)
        target = _business_before(windows, start_us) + seconds * US
    index = bisect_left(windows.through, target)
    return _from_us(windows.starts[index] + target - windows.before[index])


def is_business_time(moment: datetime, calendar: Calendar) -> bool:
    moment_us = _to_us(moment)
    windows = _cache.covering(calendar, moment_us)
    index = bisect_right(windows.starts, moment_us) - 1
    return index >= 0 and moment_us < windows.ends[index]

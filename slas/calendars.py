"""Business calendars: checking working intervals, and public holidays from `holidays`.

A calendar's deadlines are computed by slas/clock.py from its stored intervals and
holidays; `calendar_for` (slas/services.py) caches that value per (calendar, updated_at)
within the configuration generation, so every write here that changes what the clock
sees also moves `updated_at` and the generation.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import time

import holidays
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from servicedesk.config import config_changed
from slas.models import BusinessCalendar, Holiday, WorkingInterval

# Generating holidays is cheap, but a typo such as 20266 should not loop for minutes.
FIRST_HOLIDAY_YEAR = 1970
LAST_HOLIDAY_YEAR = 2100
MAX_HOLIDAY_YEARS = 30
# Holiday names in the language of the rest of the desk, where the country offers it.
HOLIDAY_LANGUAGE = "en_US"

Weekday = WorkingInterval.Weekday


def _day_seconds(moment: time, *, is_end: bool) -> int:
    seconds = moment.hour * 3600 + moment.minute * 60 + moment.second
    # An end of 00:00 is midnight at the end of the day (how a 24x7 day is written).
    return 86_400 if is_end and seconds == 0 else seconds


def check_working_intervals(intervals: Iterable[tuple[int, time, time]]) -> None:
    """Raise ValidationError unless every (weekday, start, end) ends after it starts and
    no two intervals of the same weekday overlap (touching, 12:00 after 12:00, is fine).

    Also refuses a calendar without any working time: no deadline could ever fall due.
    """
    spans = sorted(
        (weekday, _day_seconds(start, is_end=False), _day_seconds(end, is_end=True), start, end)
        for weekday, start, end in intervals
    )
    if not spans:
        raise ValidationError(
            "Add at least one working interval; for round-the-clock service add "
            "00:00 to 00:00 on every day."
        )
    errors: list[ValidationError] = []
    previous: tuple[int, int, int, time, time] | None = None  # the latest-ending so far
    for span in spans:
        weekday, low, high, start, end = span
        if high <= low:
            errors.append(
                ValidationError(
                    f"{Weekday(weekday).label} {start:%H:%M}-{end:%H:%M} ends before it starts "
                    "(write 00:00 as the end for midnight)."
                )
            )
            continue
        if previous is not None and previous[0] == weekday and low < previous[2]:
            errors.append(
                ValidationError(
                    f"{Weekday(weekday).label} {previous[3]:%H:%M}-{previous[4]:%H:%M} and "
                    f"{start:%H:%M}-{end:%H:%M} overlap; a lunch break is two intervals "
                    "that don't overlap, e.g. 09:00-12:30 and 13:30-17:30."
                )
            )
        if previous is None or previous[0] != weekday or high > previous[2]:
            previous = span
    if errors:
        raise ValidationError(errors)


def check_holiday_region(*, country: str, subdivision: str = "") -> tuple[str, str]:
    """Raise ValidationError unless `holidays` knows the country (and subdivision); return
    both as that package spells them (codes compare case-insensitively)."""
    country, subdivision = country.strip().upper(), subdivision.strip()
    try:
        # Loads one country's module (a millisecond or two), not all of them.
        known = holidays.country_holidays(country).subdivisions
    except NotImplementedError:
        raise ValidationError(
            {
                "holiday_country": f"“{country}” is not a country the holidays package knows; "
                "use a two-letter ISO code such as DE or US."
            }
        ) from None
    if not subdivision:
        return country, ""
    by_upper = {code.upper(): code for code in known}
    if subdivision.upper() not in by_upper:
        choose = f"choose one of {', '.join(known)}" if known else "leave it empty"
        raise ValidationError(
            {"holiday_subdivision": f"{country} has no subdivision “{subdivision}”; {choose}."}
        )
    return country, by_upper[subdivision.upper()]


def _check_years(years: range) -> None:
    if (
        not years
        or years.step != 1
        or years.start < FIRST_HOLIDAY_YEAR
        or years.stop - 1 > LAST_HOLIDAY_YEAR
        or len(years) > MAX_HOLIDAY_YEARS
    ):
        raise ValidationError(
            f"Choose consecutive years between {FIRST_HOLIDAY_YEAR} and {LAST_HOLIDAY_YEAR}, "
            f"at most {MAX_HOLIDAY_YEARS} at a time."
        )


def calendar_generate_holidays(*, calendar: BusinessCalendar, years: range) -> int:
    """Add the public holidays of the calendar's holiday country (and subdivision) for
    `years` as Holiday rows; return how many were added.

    Insert-or-ignore on (calendar, date): dates already there, generated or entered by
    hand, are kept as they are, so running it again adds nothing. Raises ValidationError
    for a calendar without a holiday country, an unknown country or subdivision code, or
    an unreasonable range of years. Open tickets keep their deadlines until
    `manage.py sla_recompute` runs.
    """
    if not calendar.holiday_country.strip():
        raise ValidationError(
            {"holiday_country": "Set the calendar's holiday country (e.g. DE) first."}
        )
    country, subdivision = check_holiday_region(
        country=calendar.holiday_country, subdivision=calendar.holiday_subdivision
    )
    _check_years(years)
    languages = holidays.country_holidays(country).supported_languages
    generated = holidays.country_holidays(
        country,
        subdiv=subdivision or None,
        years=years,
        language=HOLIDAY_LANGUAGE if HOLIDAY_LANGUAGE in languages else None,
    )
    with transaction.atomic():
        # One generation per calendar at a time, so the count returned is exact.
        BusinessCalendar.objects.select_for_update().filter(pk=calendar.pk).first()
        existing = set(
            Holiday.objects.filter(calendar=calendar, date__in=list(generated)).values_list(
                "date", flat=True
            )
        )
        missing = [
            Holiday(calendar=calendar, date=day, name=str(name)[:120])
            for day, name in sorted(generated.items())
            if day not in existing
        ]
        Holiday.objects.bulk_create(missing, ignore_conflicts=True)
        if missing:
            # calendar_for caches by updated_at, within the configuration generation
            # (bulk_create and update() send no post_save): the new holidays count from
            # now on.
            calendar.updated_at = timezone.now()
            BusinessCalendar.objects.filter(pk=calendar.pk).update(updated_at=calendar.updated_at)
            config_changed()
    return len(missing)

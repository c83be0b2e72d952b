"""Business calendars: checking working intervals, and generating public holidays."""

from __future__ import annotations

from datetime import date, time

import pytest
from django.core.exceptions import ValidationError

from slas import services as sla_services
from slas.calendars import calendar_generate_holidays, check_working_intervals
from slas.models import BusinessCalendar, Holiday

EPIPHANY = date(2026, 1, 6)  # a public holiday in Bavaria, not in Berlin


@pytest.fixture
def bavaria(make_calendar) -> BusinessCalendar:
    calendar = make_calendar("Munich office", "Europe/Berlin")
    calendar.holiday_country, calendar.holiday_subdivision = "DE", "BY"
    calendar.save()
    return calendar


# --- Generating public holidays -------------------------------------------------------


def test_generating_holidays_adds_the_regions_public_holidays(bavaria):
    added = calendar_generate_holidays(calendar=bavaria, years=range(2026, 2027))

    dates = set(bavaria.holidays.values_list("date", flat=True))
    assert EPIPHANY in dates
    assert date(2026, 12, 25) in dates
    assert date(2026, 12, 24) not in dates  # Christmas Eve is a working day in Germany
    assert added == len(dates) >= 12
    assert {d.year for d in dates} == {2026}


def test_generating_holidays_respects_the_subdivision(make_calendar):
    berlin = make_calendar("Berlin office", "Europe/Berlin")
    berlin.holiday_country, berlin.holiday_subdivision = "DE", "BE"
    berlin.save()

    calendar_generate_holidays(calendar=berlin, years=range(2026, 2027))

    dates = set(berlin.holidays.values_list("date", flat=True))
    assert EPIPHANY not in dates
    assert date(2026, 3, 8) in dates  # International Women's Day: Berlin only


def test_generating_holidays_for_several_years(bavaria):
    added = calendar_generate_holidays(calendar=bavaria, years=range(2025, 2028))

    years = {d.year for d in bavaria.holidays.values_list("date", flat=True)}
    assert years == {2025, 2026, 2027}
    assert added == bavaria.holidays.count()


def test_generating_holidays_again_adds_nothing_and_keeps_hand_entered_days(bavaria):
    Holiday.objects.create(calendar=bavaria, date=EPIPHANY, name="Team day")
    first = calendar_generate_holidays(calendar=bavaria, years=range(2026, 2027))
    count = bavaria.holidays.count()

    second = calendar_generate_holidays(calendar=bavaria, years=range(2026, 2027))

    assert first == count - 1  # everything but the day that was already there
    assert second == 0
    assert bavaria.holidays.count() == count
    assert Holiday.objects.get(calendar=bavaria, date=EPIPHANY).name == "Team day"


def test_generated_holidays_count_at_once_for_the_departments_deadlines(bavaria, it):
    it.calendar = bavaria
    it.save(update_fields=["calendar"])
    assert EPIPHANY not in sla_services.calendar_for(it).holidays  # cached now

    calendar_generate_holidays(calendar=bavaria, years=range(2026, 2027))

    assert EPIPHANY in sla_services.calendar_for(it).holidays


def test_an_edited_calendar_counts_at_once_for_the_departments_deadlines(make_calendar, it):
    """calendar_for is cached per configuration generation (no query per filing); the
    calendar's save, which admin makes with its intervals and holidays, moves it."""
    calendar = make_calendar("Berlin office", "Europe/Berlin", department=it)
    assert (0, 9 * 3600, 17 * 3600) in sla_services.calendar_for(it).intervals  # cached now
    calendar.intervals.filter(weekday=0).update(end=time(18, 0))
    calendar.save()

    assert (0, 9 * 3600, 18 * 3600) in sla_services.calendar_for(it).intervals


def test_an_unknown_country_is_a_clear_validation_error(bavaria):
    bavaria.holiday_country, bavaria.holiday_subdivision = "XX", ""
    bavaria.save()

    with pytest.raises(ValidationError) as error:
        calendar_generate_holidays(calendar=bavaria, years=range(2026, 2027))

    assert "“XX” is not a country" in error.value.message_dict["holiday_country"][0]
    assert not bavaria.holidays.exists()


def test_an_unknown_subdivision_is_a_clear_validation_error(bavaria):
    bavaria.holiday_subdivision = "ZZ"
    bavaria.save()

    with pytest.raises(ValidationError) as error:
        calendar_generate_holidays(calendar=bavaria, years=range(2026, 2027))

    message = error.value.message_dict["holiday_subdivision"][0]
    assert "DE has no subdivision “ZZ”" in message
    assert "BY" in message  # the valid choices are listed
    assert not bavaria.holidays.exists()


def test_a_calendar_without_a_holiday_country_is_refused(make_calendar):
    calendar = make_calendar("Remote", "UTC")

    with pytest.raises(ValidationError) as error:
        calendar_generate_holidays(calendar=calendar, years=range(2026, 2027))

    assert "holiday country" in error.value.message_dict["holiday_country"][0]


@pytest.mark.parametrize("years", [range(2026, 2026), range(2026, 2100), range(1800, 1801)])
def test_an_unreasonable_range_of_years_is_refused(bavaria, years):
    with pytest.raises(ValidationError, match="consecutive years"):
        calendar_generate_holidays(calendar=bavaria, years=years)
    assert not bavaria.holidays.exists()


# --- Checking working intervals (no database) -----------------------------------------

MONDAY, TUESDAY = 0, 1


def test_a_lunch_break_and_touching_intervals_are_fine():
    check_working_intervals(
        [
            (MONDAY, time(9), time(12, 30)),
            (MONDAY, time(13, 30), time(17, 30)),
            (TUESDAY, time(0), time(12)),
            (TUESDAY, time(12), time(0)),  # touching: 12:00 to midnight
        ]
    )


def test_midnight_to_midnight_is_the_whole_day():
    check_working_intervals([(day, time(0), time(0)) for day in range(7)])


def test_overlapping_intervals_on_a_weekday_are_refused():
    with pytest.raises(ValidationError) as error:
        check_working_intervals(
            [
                (MONDAY, time(13), time(17)),
                (MONDAY, time(9), time(13, 30)),
                (TUESDAY, time(12), time(17)),  # other days don't clash
            ]
        )
    assert error.value.messages == [
        "Monday 09:00-13:30 and 13:00-17:00 overlap; a lunch break is two intervals that "
        "don't overlap, e.g. 09:00-12:30 and 13:30-17:30."
    ]


def test_an_interval_inside_a_longer_one_overlaps_too():
    with pytest.raises(ValidationError, match="Monday 08:00-18:00 and 12:00-13:00 overlap"):
        check_working_intervals(
            [
                (MONDAY, time(8), time(18)),
                (MONDAY, time(12), time(13)),
                (MONDAY, time(14), time(15)),
            ]
        )


def test_an_interval_ending_before_it_starts_is_refused():
    with pytest.raises(ValidationError, match="Tuesday 17:00-09:00 ends before it starts"):
        check_working_intervals([(TUESDAY, time(17), time(9))])


def test_a_calendar_needs_some_working_time():
    with pytest.raises(ValidationError, match="at least one working interval"):
        check_working_intervals([])

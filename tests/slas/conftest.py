"""Fixtures for SLA tests: business calendars and policies, made in the database the way
admin stores them (the services read them back from there)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date, time
from typing import Any

import pytest

from slas import services as sla_services
from slas.models import BusinessCalendar, Holiday, SlaPolicy, WorkingInterval
from tickets.models import Department

WEEKDAYS = range(5)  # Monday to Friday
OFFICE_HOURS = ((time(9), time(17)),)
WITH_LUNCH = ((time(9), time(12)), (time(13), time(17)))


@pytest.fixture(autouse=True)
def _fresh_calendar_cache():
    """calendar_for caches per (calendar id, updated_at). SQLite reuses ids after a test's
    rollback, so start every test with an empty cache rather than trust the timestamps."""
    sla_services._calendars.clear()
    yield
    sla_services._calendars.clear()


@pytest.fixture
def make_calendar(db) -> Callable[..., BusinessCalendar]:
    def make(
        name: str,
        time_zone: str,
        *,
        hours: Mapping[int, Iterable[tuple[time, time]]] | None = None,
        holidays: Iterable[date] = (),
        department: Department | None = None,
    ) -> BusinessCalendar:
        """`hours` maps a weekday (0 = Monday) to its working intervals; the default is
        09:00-17:00 Monday to Friday. With `department`, that department uses it."""
        calendar = BusinessCalendar.objects.create(name=name, time_zone=time_zone)
        if hours is None:
            hours = dict.fromkeys(WEEKDAYS, OFFICE_HOURS)
        WorkingInterval.objects.bulk_create(
            WorkingInterval(calendar=calendar, weekday=weekday, start=start, end=end)
            for weekday, intervals in hours.items()
            for start, end in intervals
        )
        Holiday.objects.bulk_create(Holiday(calendar=calendar, date=day) for day in holidays)
        if department is not None:
            Department.objects.filter(pk=department.pk).update(calendar=calendar)
            department.calendar = calendar
        return calendar

    return make


@pytest.fixture
def make_policy(db) -> Callable[..., SlaPolicy]:
    def make(department: Department, **fields: Any) -> SlaPolicy:
        """A department-wide policy: first response 1 h, resolution 8 h, unless told."""
        values: dict[str, Any] = {
            "name": f"{department.code} policy",
            "first_response_minutes": 60,
            "resolution_minutes": 8 * 60,
        }
        values.update(fields)
        return SlaPolicy.objects.create(department=department, **values)

    return make

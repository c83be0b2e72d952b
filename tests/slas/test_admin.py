"""Django admin for SLAs: calendars (validation, public holidays), policies (preview of
their deadlines), clocks (read-only); the calendar on departments; `sla_recompute`."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from io import StringIO
from typing import Any

import pytest
import time_machine
from django.core.management import CommandError, call_command

from slas.models import BusinessCalendar, Holiday, SlaClock
from tests.factories import TicketFactory
from tickets.models import Department, Priority

CALENDARS = "/admin/slas/businesscalendar/"
POLICIES = "/admin/slas/slapolicy/"
CLOCKS = "/admin/slas/slaclock/"

CHRISTMAS_EVE_2026 = date(2026, 12, 24)  # a Thursday


@pytest.fixture
def admin_client(client, superuser):
    client.force_login(superuser)
    return client


def calendar_form(
    *,
    intervals: list[tuple[int, str, str]],
    holidays: tuple[tuple[str, str], ...] = (),
    **fields: str,
) -> dict[str, Any]:
    """POST data for the calendar add page, with its two inlines."""
    data: dict[str, Any] = {
        "name": "Berlin office",
        "time_zone": "Europe/Berlin",
        "holiday_country": "",
        "holiday_subdivision": "",
        **fields,
    }
    for prefix, rows, keys in (
        ("intervals", intervals, ("weekday", "start", "end")),
        ("holidays", holidays, ("date", "name")),
    ):
        data.update(
            {
                f"{prefix}-TOTAL_FORMS": str(len(rows)),
                f"{prefix}-INITIAL_FORMS": "0",
                f"{prefix}-MIN_NUM_FORMS": "0",
                f"{prefix}-MAX_NUM_FORMS": "1000",
            }
        )
        for index, row in enumerate(rows):
            data.update(
                {f"{prefix}-{index}-{key}": value for key, value in zip(keys, row, strict=True)}
            )
    return data


def text_of(response) -> str:
    """The page's text with tags removed and white space squeezed."""
    without_tags = re.sub(r"<[^>]+>", " ", response.content.decode())
    return re.sub(r"\s+", " ", without_tags)


# --- Business calendars ---------------------------------------------------------------


def test_calendar_add_page_explains_round_the_clock_and_lunch_breaks(admin_client):
    response = admin_client.get(f"{CALENDARS}add/")

    assert response.status_code == 200
    text = text_of(response)
    assert "00:00-00:00 is the whole day" in text
    assert "A lunch break is two rows on the same day" in text


def test_calendar_list_shows_time_zone_and_departments_using_it(
    admin_client, make_calendar, it, hr, sales
):
    make_calendar("Berlin office", "Europe/Berlin", department=it)
    Department.objects.filter(pk=hr.pk).update(calendar=it.calendar)
    make_calendar("New York office", "America/New_York", department=sales)

    response = admin_client.get(CALENDARS)

    assert response.status_code == 200
    text = text_of(response)
    assert "Time zone" in text and "Departments using it" in text
    model_admin = response.context["cl"].model_admin
    rows = {
        calendar.name: (calendar.time_zone, model_admin.departments_using(calendar))
        for calendar in response.context["cl"].result_list
    }
    assert rows == {
        "Berlin office": ("Europe/Berlin", 2),
        "New York office": ("America/New_York", 1),
    }
    assert "Europe/Berlin" in text and "America/New_York" in text


def test_adding_a_calendar_with_a_lunch_break_and_a_round_the_clock_day(admin_client):
    data = calendar_form(
        intervals=[
            (0, "09:00", "12:30"),
            (0, "13:30", "17:30"),
            (5, "00:00", "00:00"),
        ],
        holidays=[("2026-12-24", "Christmas Eve (company holiday)")],
    )

    response = admin_client.post(f"{CALENDARS}add/", data)

    assert response.status_code == 302, text_of(response)
    calendar = BusinessCalendar.objects.get(name="Berlin office")
    assert calendar.as_clock_calendar().intervals == (
        (0, 9 * 3600, 12 * 3600 + 1800),
        (0, 13 * 3600 + 1800, 17 * 3600 + 1800),
        (5, 0, 86_400),
    )
    assert list(calendar.holidays.values_list("date", flat=True)) == [CHRISTMAS_EVE_2026]


def test_overlapping_intervals_are_refused_with_a_clear_message(admin_client):
    data = calendar_form(intervals=[(0, "09:00", "13:00"), (0, "12:30", "17:30")])

    response = admin_client.post(f"{CALENDARS}add/", data)

    assert response.status_code == 200
    assert "Monday 09:00-13:00 and 12:30-17:30 overlap" in text_of(response)
    assert not BusinessCalendar.objects.exists()


def test_an_interval_ending_before_it_starts_is_refused(admin_client):
    data = calendar_form(intervals=[(2, "17:00", "09:00")])

    response = admin_client.post(f"{CALENDARS}add/", data)

    assert response.status_code == 200
    assert "A working interval must end after it starts." in text_of(response)
    assert not BusinessCalendar.objects.exists()


def test_a_calendar_without_working_hours_is_refused(admin_client):
    response = admin_client.post(f"{CALENDARS}add/", calendar_form(intervals=[]))

    assert response.status_code == 200
    assert "Add at least one working interval" in text_of(response)
    assert not BusinessCalendar.objects.exists()


def test_an_unknown_time_zone_is_refused(admin_client):
    data = calendar_form(intervals=[(0, "09:00", "17:00")], time_zone="Europe/Munich")

    response = admin_client.post(f"{CALENDARS}add/", data)

    assert response.status_code == 200
    assert "“Europe/Munich” is not an IANA time zone" in text_of(response)
    assert not BusinessCalendar.objects.exists()


def test_an_unknown_holiday_region_is_refused_on_save(admin_client):
    data = calendar_form(
        intervals=[(0, "09:00", "17:00")], holiday_country="de", holiday_subdivision="XY"
    )

    response = admin_client.post(f"{CALENDARS}add/", data)

    assert response.status_code == 200
    assert "DE has no subdivision “XY”" in text_of(response)
    assert not BusinessCalendar.objects.exists()


def test_holiday_region_codes_are_saved_as_the_holidays_package_spells_them(admin_client):
    data = calendar_form(
        intervals=[(0, "09:00", "17:00")], holiday_country=" de ", holiday_subdivision="by"
    )

    response = admin_client.post(f"{CALENDARS}add/", data)

    assert response.status_code == 302, text_of(response)
    calendar = BusinessCalendar.objects.get()
    assert (calendar.holiday_country, calendar.holiday_subdivision) == ("DE", "BY")


@pytest.fixture
def bavaria(make_calendar, it) -> BusinessCalendar:
    calendar = make_calendar("Munich office", "Europe/Berlin", department=it)
    calendar.holiday_country, calendar.holiday_subdivision = "DE", "BY"
    calendar.save()
    return calendar


def test_calendar_change_page_offers_to_generate_public_holidays(admin_client, bavaria):
    response = admin_client.get(f"{CALENDARS}{bavaria.pk}/change/")

    assert response.status_code == 200
    assert "Adds the public holidays of DE-BY" in text_of(response)
    assert f'action="{CALENDARS}{bavaria.pk}/holidays/"' in response.content.decode()


def test_generating_public_holidays_from_the_change_page(admin_client, bavaria):
    url = f"{CALENDARS}{bavaria.pk}/holidays/"

    response = admin_client.post(url, {"first_year": "2026", "last_year": "2027"}, follow=True)

    assert response.redirect_chain == [(f"{CALENDARS}{bavaria.pk}/change/", 302)]
    assert Holiday.objects.filter(calendar=bavaria, date=date(2026, 1, 6)).exists()
    assert Holiday.objects.filter(calendar=bavaria, date=date(2027, 1, 6)).exists()
    added = bavaria.holidays.count()
    assert f"added {added} public holidays of DE-BY for 2026-2027" in text_of(response)


def test_generating_holidays_with_bad_years_says_why(admin_client, bavaria):
    url = f"{CALENDARS}{bavaria.pk}/holidays/"

    response = admin_client.post(url, {"first_year": "2027", "last_year": "2026"}, follow=True)

    assert "No holidays generated: The last year is before the first." in text_of(response)
    assert not bavaria.holidays.exists()


def test_generating_holidays_for_an_unknown_country_says_why(admin_client, bavaria):
    BusinessCalendar.objects.filter(pk=bavaria.pk).update(holiday_country="XX")
    url = f"{CALENDARS}{bavaria.pk}/holidays/"

    response = admin_client.post(url, {"first_year": "2026", "last_year": "2026"}, follow=True)

    assert response.status_code == 200
    assert "“XX” is not a country the holidays package knows" in text_of(response)
    assert not bavaria.holidays.exists()


def test_the_generate_holidays_url_takes_only_posts(admin_client, bavaria):
    assert admin_client.get(f"{CALENDARS}{bavaria.pk}/holidays/").status_code == 405
    assert not bavaria.holidays.exists()


def test_admin_action_asks_for_the_years_then_generates_holidays(admin_client, bavaria):
    action = {"action": "generate_public_holidays", "_selected_action": [str(bavaria.pk)]}

    asked = admin_client.post(CALENDARS, action)
    assert asked.status_code == 200
    assert "Munich office: DE-BY" in text_of(asked)
    assert not bavaria.holidays.exists()

    done = admin_client.post(
        CALENDARS, {**action, "apply": "yes", "first_year": "2026", "last_year": "2026"}
    )
    assert done.status_code == 302
    assert Holiday.objects.filter(calendar=bavaria, date=date(2026, 1, 6)).exists()
    assert not bavaria.holidays.filter(date__year=2027).exists()


# --- SLA policies ---------------------------------------------------------------------


@pytest.fixture
def berlin_policy(make_calendar, make_policy, it):
    """Berlin Mon-Fri 09:00-17:00, Christmas Day off; 1 h first response, 8 h to resolve."""
    make_calendar("Berlin office", "Europe/Berlin", holidays=[date(2026, 12, 25)], department=it)
    return make_policy(it, name="IT standard", next_response_minutes=90)


def test_policy_list_shows_targets_in_hours_and_minutes(admin_client, berlin_policy):
    response = admin_client.get(POLICIES)

    assert response.status_code == 200
    text = text_of(response)
    assert "IT standard" in text
    assert "1 h" in text and "8 h" in text and "1 h 30 min" in text


def test_policy_preview_for_a_chosen_time_skips_the_evening_holiday_and_weekend(
    admin_client, berlin_policy
):
    url = f"{POLICIES}{berlin_policy.pk}/change/?preview_at=2026-12-24T16:00"

    response = admin_client.get(url)

    assert response.status_code == 200
    text = text_of(response)
    assert "A ticket filed at Thu 24 Dec 2026, 16:00 CET would be due at" in text
    assert "Berlin office (Europe/Berlin)" in text
    # 1 h: the last hour of Thursday. 8 h: 1 h on Thursday, then Christmas Day and the
    # weekend are off, and 7 h more on Monday from 09:00.
    assert "First response 1 h Thu 24 Dec 2026, 17:00 CET" in text
    assert (
        "Next response (after a requester reply then) 1 h 30 min Mon 28 Dec 2026, 09:30 CET" in text
    )
    assert "Resolution 8 h Mon 28 Dec 2026, 16:00 CET" in text


def test_policy_preview_for_a_ticket_filed_now(client, superuser, berlin_policy):
    with time_machine.travel(datetime(2026, 12, 21, 8, 0, tzinfo=UTC), tick=False):  # 09:00
        client.force_login(superuser)  # a session of that day: it would have expired
        response = client.get(f"{POLICIES}{berlin_policy.pk}/change/")

    assert response.status_code == 200
    text = text_of(response)
    assert "A ticket filed now Mon 21 Dec 2026, 09:00 CET would be due at" in text
    assert "First response 1 h Mon 21 Dec 2026, 10:00 CET" in text
    assert "Resolution 8 h Mon 21 Dec 2026, 17:00 CET" in text


def test_policy_preview_in_utc_for_a_department_without_calendar(admin_client, make_policy, hr):
    policy = make_policy(hr)

    response = admin_client.get(f"{POLICIES}{policy.pk}/change/?preview_at=2026-12-24T16:00")

    text = text_of(response)
    assert "round the clock" in text
    assert "First response 1 h Thu 24 Dec 2026, 17:00 UTC" in text
    assert "Resolution 8 h Fri 25 Dec 2026, 00:00 UTC" in text


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("tomorrow", "“tomorrow” is not a date and time; write it as 2026-12-24T16:00."),
        ("2026-02-30T10:00", "is not a date and time"),
        ("9999-12-31T23:00", "Choose a time between 1970 and 2100."),
    ],
)
def test_an_invalid_preview_time_shows_a_message(admin_client, berlin_policy, value, message):
    response = admin_client.get(f"{POLICIES}{berlin_policy.pk}/change/", {"preview_at": value})

    assert response.status_code == 200
    assert message in text_of(response)
    assert "A ticket filed now" in text_of(response)  # and the preview for now instead


def test_policy_preview_says_so_when_the_calendar_has_no_working_hours(
    admin_client, make_calendar, make_policy, it
):
    make_calendar("Closed", "UTC", hours={}, department=it)
    policy = make_policy(it)

    response = admin_client.get(f"{POLICIES}{policy.pk}/change/")

    assert response.status_code == 200
    assert "No preview: the calendar has no working hours." in text_of(response)


def test_policy_add_page_renders_without_a_preview(admin_client):
    response = admin_client.get(f"{POLICIES}add/")

    assert response.status_code == 200
    assert "would be due at" not in text_of(response)


# --- SLA clocks (read-only) -----------------------------------------------------------


@pytest.fixture
def clocked_ticket(make_policy, it, it_type, requester):
    make_policy(it)
    return TicketFactory(request_type=it_type, created_by=requester)


def test_clock_list_filters_and_finds_a_ticket_by_reference(admin_client, clocked_ticket):
    other = TicketFactory(
        request_type=clocked_ticket.request_type, created_by=clocked_ticket.requester
    )

    found = admin_client.get(CLOCKS, {"q": clocked_ticket.reference.lower()})
    running = admin_client.get(CLOCKS, {"state__exact": "running", "kind__exact": "resolution"})

    assert found.status_code == running.status_code == 200
    assert list(found.context["cl"].result_list) == list(
        SlaClock.objects.filter(ticket=clocked_ticket).order_by("-id")
    )
    assert [c.ticket_id for c in running.context["cl"].result_list] == [other.pk, clocked_ticket.pk]


def test_clock_page_is_read_only_with_its_segments(admin_client, clocked_ticket):
    sla_clock = SlaClock.objects.get(ticket=clocked_ticket, kind=SlaClock.Kind.RESOLUTION)

    response = admin_client.get(f"{CLOCKS}{sla_clock.pk}/change/")

    assert response.status_code == 200
    text = text_of(response)
    assert "Timeline (running and paused segments)" in text
    assert "Running - IT" in text  # the segment: running, no reason, while IT held it
    assert 'name="_save"' not in response.content.decode()
    assert admin_client.get(f"{CLOCKS}add/").status_code == 403
    assert admin_client.post(f"{CLOCKS}{sla_clock.pk}/delete/").status_code == 403


# --- Departments and request types ----------------------------------------------------


def test_department_admin_sets_the_calendar_and_saves_only_that(
    admin_client, make_calendar, it, it_type, requester
):
    calendar = make_calendar("Berlin office", "Europe/Berlin")
    page = admin_client.get(f"/admin/tickets/department/{it.pk}/change/")
    assert page.status_code == 200
    # A search box, not a long list.
    assert re.search(r'<select name="calendar"[^>]*admin-autocomplete', page.content.decode())
    form = page.context["adminform"].form
    data = {
        **{name: form[name].value() for name in form.fields if form[name].value() is not None},
        "is_active": "on",
        "calendar": str(calendar.pk),
        "memberships-TOTAL_FORMS": "0",
        "memberships-INITIAL_FORMS": "0",
        "request_types-TOTAL_FORMS": "1",
        "request_types-INITIAL_FORMS": "1",
        "request_types-0-id": str(it_type.pk),
        "request_types-0-department": str(it.pk),
        "request_types-0-name": it_type.name,
        "request_types-0-default_priority": str(Priority.NORMAL),
        "request_types-0-sla_exempt": "on",
        "request_types-0-is_active": "on",
        "request_types-0-position": "0",
    }
    TicketFactory(request_type=it_type, created_by=requester)  # filed meanwhile

    response = admin_client.post(f"/admin/tickets/department/{it.pk}/change/", data)

    assert response.status_code == 302, text_of(response)
    it.refresh_from_db()
    it_type.refresh_from_db()
    assert it.calendar == calendar
    assert it.ticket_sequence == 1  # not written back from the stale form
    assert it_type.sla_exempt


def test_request_type_admin_lists_no_sla_types(admin_client, it_type):
    it_type.sla_exempt = True
    it_type.save()

    response = admin_client.get("/admin/tickets/requesttype/", {"sla_exempt__exact": "1"})

    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [it_type]


# --- manage.py sla_recompute ----------------------------------------------------------


def test_sla_recompute_applies_a_changed_target_and_reports_the_count(clocked_ticket):
    policy = SlaClock.objects.filter(ticket=clocked_ticket).first().policy
    before = {c.kind: c.due_at for c in SlaClock.objects.filter(ticket=clocked_ticket)}
    policy.resolution_minutes = 16 * 60
    policy.save()
    out = StringIO()

    call_command("sla_recompute", "--batch-size", "1", stdout=out)

    assert re.fullmatch(
        r"Recomputed 2 SLA clocks and 0 “no update” timers in \d+\.\d s\.\n", out.getvalue()
    )
    after = {c.kind: c.due_at for c in SlaClock.objects.filter(ticket=clocked_ticket)}
    assert after["first_response"] == before["first_response"]
    assert (after["resolution"] - before["resolution"]).total_seconds() == 8 * 3600


def test_sla_recompute_with_nothing_to_do(db):
    out = StringIO()
    call_command("sla_recompute", stdout=out)
    assert out.getvalue().startswith("Recomputed 0 SLA clocks and 0 “no update” timers in ")


def test_sla_recompute_refuses_a_batch_size_below_one(db):
    with pytest.raises(CommandError, match="--batch-size must be positive"):
        call_command("sla_recompute", "--batch-size", "0")

"""SLA clocks on tickets, driven through the real ticket services.

Every expected instant below is worked out by hand from the calendar (the comments show
the sum), not computed with slas/clock.py, which has its own oracle test.
Berlin is UTC+2 in summer (CEST) and UTC+1 in winter (CET); New York is UTC-4 (EDT)
and UTC-5 (EST).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from servicedesk.db import prepared_sql
from slas import services as sla_services
from slas.clock import business_seconds_between
from slas.models import Holiday, SlaClock, SlaSegment
from tests.factories import RequestTypeFactory
from tickets import services
from tickets.models import Priority, Ticket

Kind = SlaClock.Kind
State = SlaClock.State
Status = Ticket.Status
RUNNING, PAUSED = SlaSegment.State.RUNNING, SlaSegment.State.PAUSED
H = 3600
BERLIN = ZoneInfo("Europe/Berlin")
LUNCH = dict.fromkeys(range(5), ((time(9), time(12)), (time(13), time(17))))
SUNDAY_NIGHT = {6: ((time(0), time(6)),)}  # a night shift, Sunday 00:00-06:00 local


def berlin(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=BERLIN)


def utc(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


# --- Driving the ticket services ------------------------------------------------------


def file_ticket(request_type, requester, now) -> Ticket:
    return services.ticket_create(
        created_by=requester,
        request_type=request_type,
        title="The VPN drops every hour",
        description="Since Monday's update.",
        now=now,
    )


def reply(ticket, author, now, *, internal=False, then_status=""):
    services.comment_add(
        ticket=ticket,
        author=author,
        body="Noted.",
        is_internal=internal,
        then_status=then_status,
        now=now,
    )


def move(ticket, actor, status, now):
    services.ticket_transition(ticket=ticket, actor=actor, to_status=status, now=now)


def clock_of(ticket, kind, department=None) -> SlaClock:
    """The ticket's latest clock of `kind` (in `department`, if given)."""
    clocks = SlaClock.objects.filter(ticket=ticket, kind=kind)
    if department is not None:
        clocks = clocks.filter(department=department)
    latest = clocks.last()
    assert latest is not None, f"no {kind} clock"
    return latest


def segments(sla_clock):
    return [
        (s.state, s.reason, s.started_at, s.ended_at, s.business_seconds)
        for s in sla_clock.segments.all()
    ]


def reloaded(ticket) -> Ticket:
    return Ticket.objects.get(pk=ticket.pk)


# --- Fixtures: IT works 09:00-17:00 in Berlin, Labour Day off -------------------------


@pytest.fixture
def office(it, make_calendar):
    return make_calendar(
        "Berlin office", "Europe/Berlin", holidays=[date(2026, 5, 1)], department=it
    )


@pytest.fixture
def it_policy(office, it, make_policy):
    return make_policy(it, first_response_minutes=60, resolution_minutes=8 * 60)


# --- Deadlines at filing --------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "hours", "holidays", "filed", "fr_minutes", "fr_due", "res_minutes", "res_due"),
    [
        pytest.param(
            "Europe/Berlin", None, (), berlin(6, 1, 10),
            60, berlin(6, 1, 11),
            8 * 60, berlin(6, 2, 10),  # Mon 10-17 (7 h), Tue 9-10
            id="within-working-hours",
        ),
        pytest.param(
            "Europe/Berlin", None, (), berlin(6, 5, 16),
            120, berlin(6, 8, 10),  # Fri 16-17, Mon 9-10
            8 * 60, berlin(6, 8, 16),  # Fri 16-17, Mon 9-16
            id="over-a-weekend",
        ),
        pytest.param(
            "Europe/Berlin", None, (), berlin(6, 6, 11),
            60, berlin(6, 8, 10),
            8 * 60, berlin(6, 8, 17),
            id="filed-on-a-saturday",
        ),
        pytest.param(
            "Europe/Berlin", None, (), berlin(6, 1, 7, 30),
            60, berlin(6, 1, 10),
            8 * 60, berlin(6, 1, 17),  # exactly one working day: due at closing time
            id="filed-before-opening",
        ),
        pytest.param(
            "Europe/Berlin", None, (), berlin(6, 2, 20),
            60, berlin(6, 3, 10),
            10 * 60, berlin(6, 4, 11),  # Wed 8 h, Thu 9-11
            id="filed-after-closing",
        ),
        pytest.param(
            "Europe/Berlin", None, (date(2026, 5, 1),), berlin(4, 30, 16),
            120, berlin(5, 4, 10),  # Thu 16-17, Fri 1 May off, Mon 9-10
            16 * 60, berlin(5, 5, 16),  # Thu 1 h, Mon 8 h, Tue 9-16
            id="holiday-before-a-weekend",
        ),
        pytest.param(
            "Europe/Berlin", None, (date(2026, 12, 24), date(2026, 12, 25)), berlin(12, 23, 15),
            180, berlin(12, 28, 10),  # Wed 15-17, Thu and Fri off, Mon 9-10
            8 * 60, berlin(12, 28, 15),
            id="two-holidays",
        ),
        pytest.param(
            "Europe/Berlin", LUNCH, (), berlin(6, 1, 11),
            120, berlin(6, 1, 14),  # 11-12, lunch, 13-14
            8 * 60, berlin(6, 2, 12),  # Mon 11-12 and 13-17 (5 h), Tue 9-12
            id="lunch-break",
        ),
        pytest.param(
            "Europe/Berlin", LUNCH, (), berlin(6, 1, 12, 30),
            60, berlin(6, 1, 14),
            7 * 60, berlin(6, 2, 12),  # Mon 13-17, Tue 9-12
            id="filed-during-lunch",
        ),
        pytest.param(
            # Fri 15:00 EST = 20:00 UTC; Mon 9:00 EDT = 13:00 UTC (clocks went forward Sunday).
            "America/New_York", None, (), utc(3, 6, 20),
            240, utc(3, 9, 15),  # Fri 15-17 EST, Mon 9-11 EDT
            16 * 60, utc(3, 10, 19),  # Fri 2 h, Mon 8 h, Tue 9-15 EDT
            id="new-york-spring-forward",
        ),
        pytest.param(
            # Fri 15:00 EDT = 19:00 UTC; Mon 9:00 EST = 14:00 UTC (clocks went back Sunday).
            "America/New_York", None, (), utc(10, 30, 19),
            240, utc(11, 2, 16),  # Fri 15-17 EDT, Mon 9-11 EST
            16 * 60, utc(11, 3, 20),  # Fri 2 h, Mon 8 h, Tue 9-15 EST
            id="new-york-fall-back",
        ),
        pytest.param(
            # Fri 15:00 CET = 14:00 UTC; Mon 9:00 CEST = 07:00 UTC.
            "Europe/Berlin", None, (), utc(3, 27, 14),
            240, utc(3, 30, 9),
            8 * 60, utc(3, 30, 13),  # Fri 2 h, Mon 9-15 CEST
            id="berlin-spring-forward",
        ),
        pytest.param(
            # Sunday 29 March 00:00-06:00 local holds only 5 hours: 02:00-03:00 is skipped.
            # 00:00 CET = Sat 23:00 UTC; 06:00 CEST = 04:00 UTC.
            "Europe/Berlin", SUNDAY_NIGHT, (), utc(3, 28, 22),
            5 * 60, utc(3, 29, 4),
            6 * 60, utc(4, 4, 23),  # 5 h, then Sun 5 April 00:00-01:00 CEST
            id="berlin-night-shift-spring-forward",
        ),
        pytest.param(
            # Sunday 25 October 00:00-06:00 local holds 7 hours: 02:00-03:00 happens twice.
            # 00:00 CEST = Sat 22:00 UTC; 06:00 CET = 05:00 UTC.
            "Europe/Berlin", SUNDAY_NIGHT, (), utc(10, 24, 21),
            7 * 60, utc(10, 25, 5),
            8 * 60, utc(11, 1, 0),  # 7 h, then Sun 1 November 00:00-01:00 CET
            id="berlin-night-shift-fall-back",
        ),
        pytest.param(
            None, None, (), utc(6, 6, 10),
            60, utc(6, 6, 11),
            8 * 60, utc(6, 6, 18),
            id="no-calendar-counts-round-the-clock",
        ),
    ],
)  # fmt: skip
def test_filing_starts_clocks_due_in_business_time(
    it, it_type, requester, make_calendar, make_policy,
    zone, hours, holidays, filed, fr_minutes, fr_due, res_minutes, res_due,
):  # fmt: skip
    if zone is not None:
        make_calendar("Hours", zone, hours=hours, holidays=holidays, department=it)
    policy = make_policy(it, first_response_minutes=fr_minutes, resolution_minutes=res_minutes)

    ticket = file_ticket(it_type, requester, filed)

    first, resolution = clock_of(ticket, Kind.FIRST_RESPONSE), clock_of(ticket, Kind.RESOLUTION)
    assert (first.due_at, resolution.due_at) == (fr_due, res_due)
    for sla_clock, minutes in ((first, fr_minutes), (resolution, res_minutes)):
        assert sla_clock.state == State.RUNNING
        assert sla_clock.policy == policy
        assert sla_clock.department == it
        assert sla_clock.target_seconds == minutes * 60
        assert sla_clock.consumed_seconds == 0
        assert sla_clock.started_at == sla_clock.running_since == filed
        assert segments(sla_clock) == [(RUNNING, "", filed, None, None)]
    assert reloaded(ticket).sla_due_at == fr_due


# --- Warnings, and what the ticket carries --------------------------------------------


@pytest.mark.parametrize(
    ("percents", "fr_next_check", "fr_at_risk", "res_next_check", "res_at_risk"),
    [
        # 1 h and 8 h from Monday 09:00.
        ("50, 75", berlin(6, 1, 9, 30), berlin(6, 1, 9, 45), berlin(6, 1, 13), berlin(6, 1, 15)),
        # One threshold: the first warning is also the last (at risk from then on).
        ("80",
         berlin(6, 1, 9, 48), berlin(6, 1, 9, 48), berlin(6, 1, 15, 24), berlin(6, 1, 15, 24)),
        # No warnings: the next check is the breach, and at risk means due.
        ("", berlin(6, 1, 10), berlin(6, 1, 10), berlin(6, 1, 17), berlin(6, 1, 17)),
    ],
)  # fmt: skip
def test_next_check_is_the_first_warning_and_the_ticket_carries_the_earliest_clock(
    it, it_type, requester, it_agent, office, make_policy,
    percents, fr_next_check, fr_at_risk, res_next_check, res_at_risk,
):  # fmt: skip
    make_policy(it, warning_percents=percents)
    ticket = file_ticket(it_type, requester, berlin(6, 1, 9))

    first, resolution = clock_of(ticket, Kind.FIRST_RESPONSE), clock_of(ticket, Kind.RESOLUTION)
    assert (first.next_check_at, first.at_risk_at, first.due_at) == (
        fr_next_check,
        fr_at_risk,
        berlin(6, 1, 10),
    )
    assert (resolution.next_check_at, resolution.at_risk_at, resolution.due_at) == (
        res_next_check,
        res_at_risk,
        berlin(6, 1, 17),
    )
    ticket = reloaded(ticket)
    assert (ticket.sla_due_at, ticket.sla_at_risk_at) == (berlin(6, 1, 10), fr_at_risk)

    reply(ticket, it_agent, berlin(6, 1, 9, 20))

    # Met clocks leave the sweep and the queue: only resolution is left running.
    assert clock_of(ticket, Kind.FIRST_RESPONSE).next_check_at is None
    ticket = reloaded(ticket)
    assert (ticket.sla_due_at, ticket.sla_at_risk_at) == (berlin(6, 1, 17), res_at_risk)


def test_a_filed_ticket_is_written_once_with_its_deadline(
    it, it_type, requester, office, make_policy
):
    """The deadline columns go in with the ticket's INSERT: an UPDATE of the row just
    inserted would write a second version of it, with an entry in each of its indexes."""
    make_policy(it)
    with CaptureQueriesContext(connection) as queries:
        ticket = file_ticket(it_type, requester, berlin(6, 1, 9))
    table = Ticket._meta.db_table
    writes = [prepared_sql(q["sql"]) for q in queries if table in prepared_sql(q["sql"])]
    assert not [sql for sql in writes if f'UPDATE "{table}"' in sql or f"UPDATE {table}" in sql]
    first = clock_of(ticket, Kind.FIRST_RESPONSE)
    assert (ticket.sla_due_at, ticket.sla_at_risk_at) == (first.due_at, first.at_risk_at)
    assert (reloaded(ticket).sla_due_at, reloaded(ticket).sla_at_risk_at) == (
        first.due_at,
        first.at_risk_at,
    )


# --- First response -------------------------------------------------------------------


def test_first_response_is_met_by_the_first_public_agent_reply_only(
    it, it_type, requester, it_agent, office, make_policy
):
    make_policy(it, next_response_minutes=30)
    ticket = file_ticket(it_type, requester, berlin(6, 1, 9))

    reply(ticket, it_agent, berlin(6, 1, 9, 10), internal=True)
    reply(ticket, requester, berlin(6, 1, 9, 20))
    first = clock_of(ticket, Kind.FIRST_RESPONSE)
    assert (first.state, first.due_at) == (State.RUNNING, berlin(6, 1, 10))

    reply(ticket, it_agent, berlin(6, 1, 9, 40))

    first.refresh_from_db()
    assert first.state == State.MET
    assert first.met_at == berlin(6, 1, 9, 40)
    assert first.consumed_seconds == 40 * 60
    assert first.breached_at is None
    assert first.next_check_at is None
    assert segments(first) == [(RUNNING, "", berlin(6, 1, 9), berlin(6, 1, 9, 40), 40 * 60)]
    # The requester's message came before any response: no next-response clock for it.
    assert set(SlaClock.objects.filter(ticket=ticket).values_list("kind", flat=True)) == {
        Kind.FIRST_RESPONSE,
        Kind.RESOLUTION,
    }
    assert reloaded(ticket).sla_due_at == berlin(6, 1, 17)


@pytest.mark.parametrize(
    ("replied", "used"),
    [
        (berlin(6, 1, 11, 30), int(2.5 * H)),
        (berlin(6, 2, 9, 30), int(8.5 * H)),  # Mon 9-17 and Tue 9-9:30: the night is free
    ],
)
def test_first_response_met_late_records_the_breach_at_the_old_due_time(
    it_policy, it_type, requester, it_agent, replied, used
):
    ticket = file_ticket(it_type, requester, berlin(6, 1, 9))

    reply(ticket, it_agent, replied)

    first = clock_of(ticket, Kind.FIRST_RESPONSE)
    assert (first.state, first.met_at) == (State.MET, replied)
    assert first.breached_at == berlin(6, 1, 10)
    assert first.consumed_seconds == used


def test_met_late_after_waiting_past_due_still_breached_at_the_old_due_time(
    it_policy, it_type, requester, it_agent
):
    """The target ran out at 10:00; the agent asked for details at 11:00 without a public
    reply, the requester answered the next morning, and the agent replied after that."""
    ticket = file_ticket(it_type, requester, berlin(6, 1, 9))
    move(ticket, it_agent, Status.WAITING, berlin(6, 1, 11))

    first = clock_of(ticket, Kind.FIRST_RESPONSE)
    assert (first.state, first.consumed_seconds) == (State.PAUSED, 2 * H)
    assert first.breached_at == berlin(6, 1, 10)

    reply(ticket, requester, berlin(6, 2, 9))
    reply(ticket, it_agent, berlin(6, 2, 9, 30))

    first.refresh_from_db()
    assert (first.state, first.met_at) == (State.MET, berlin(6, 2, 9, 30))
    assert first.consumed_seconds == int(2.5 * H)
    assert first.breached_at == berlin(6, 1, 10)


# --- Resolution -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("resolved", "used", "breached"),
    [
        (berlin(6, 1, 15), 6 * H, None),
        (berlin(6, 2, 11), 10 * H, berlin(6, 1, 17)),  # Mon 8 h, Tue 2 h: late
    ],
)
def test_resolution_is_met_on_resolve(
    it_policy, it_type, requester, it_agent, resolved, used, breached
):
    ticket = file_ticket(it_type, requester, berlin(6, 1, 9))
    reply(ticket, it_agent, berlin(6, 1, 9, 30))

    move(ticket, it_agent, Status.RESOLVED, resolved)

    resolution = clock_of(ticket, Kind.RESOLUTION)
    assert (resolution.state, resolution.met_at) == (State.MET, resolved)
    assert resolution.consumed_seconds == used
    assert resolution.breached_at == breached
    assert resolution.next_check_at is None
    ticket = reloaded(ticket)
    assert (ticket.sla_due_at, ticket.sla_at_risk_at) == (None, None)


def test_a_reply_that_resolves_meets_first_response_and_resolution(
    it_policy, it_type, requester, it_agent
):
    ticket = file_ticket(it_type, requester, berlin(6, 1, 9))

    reply(ticket, it_agent, berlin(6, 1, 9, 45), then_status=Status.RESOLVED)

    for kind in (Kind.FIRST_RESPONSE, Kind.RESOLUTION):
        sla_clock = clock_of(ticket, kind)
        assert (sla_clock.state, sla_clock.met_at) == (State.MET, berlin(6, 1, 9, 45))
        assert sla_clock.consumed_seconds == 45 * 60


# --- Waiting on the requester ---------------------------------------------------------


@pytest.mark.parametrize("resumed_by", ["requester reply", "agent"])
def test_waiting_on_requester_pauses_and_adds_the_paused_business_time_back(
    it, it_type, requester, it_agent, office, make_policy, resumed_by
):
    make_policy(it, first_response_minutes=4 * 60, resolution_minutes=8 * 60)
    ticket = file_ticket(it_type, requester, berlin(4, 30, 10))  # a Thursday
    resolution = clock_of(ticket, Kind.RESOLUTION)
    old_due = resolution.due_at
    assert old_due == berlin(5, 4, 10)  # Thu 10-17 (7 h), Fri 1 May off, Mon 9-10

    # The agent answers with a question at 13:00 (3 h used) ...
    reply(ticket, it_agent, berlin(4, 30, 13), then_status=Status.WAITING)

    resolution.refresh_from_db()
    assert resolution.state == State.PAUSED
    assert resolution.consumed_seconds == 3 * H
    assert (resolution.due_at, resolution.at_risk_at, resolution.next_check_at) == (None,) * 3
    assert clock_of(ticket, Kind.FIRST_RESPONSE).state == State.MET
    assert reloaded(ticket).sla_due_at is None  # nothing is running

    # ... and the wait spans the night, a holiday, a weekend and two working hours.
    if resumed_by == "agent":
        move(ticket, it_agent, Status.OPEN, berlin(5, 4, 11))
    else:
        reply(ticket, requester, berlin(5, 4, 11))

    resolution.refresh_from_db()
    assert resolution.state == State.RUNNING
    assert resolution.consumed_seconds == 3 * H
    assert resolution.running_since == berlin(5, 4, 11)
    assert resolution.due_at == berlin(5, 4, 16)  # 5 h left from Mon 11:00
    assert resolution.next_check_at == berlin(5, 4, 12)  # 50 % = 4 h: 1 h left
    assert resolution.at_risk_at == berlin(5, 4, 14)  # 75 % = 6 h: 3 h left
    # The due time moved by exactly the business time spent waiting: Thu 13-17, Mon 9-11.
    calendar = sla_services.calendar_for(it)
    paused = business_seconds_between(berlin(4, 30, 13), berlin(5, 4, 11), calendar)
    assert paused == 6 * H
    assert business_seconds_between(old_due, resolution.due_at, calendar) == paused
    assert [row[:4] for row in segments(resolution)] == [
        (RUNNING, "", berlin(4, 30, 10), berlin(4, 30, 13)),
        (PAUSED, "Waiting on requester", berlin(4, 30, 13), berlin(5, 4, 11)),
        (RUNNING, "", berlin(5, 4, 11), None),
    ]
    assert resolution.segments.first().business_seconds == 3 * H
    ticket = reloaded(ticket)
    assert (ticket.sla_due_at, ticket.sla_at_risk_at) == (berlin(5, 4, 16), berlin(5, 4, 14))

    move(ticket, it_agent, Status.RESOLVED, berlin(5, 4, 15))

    resolution.refresh_from_db()
    assert (resolution.state, resolution.consumed_seconds) == (State.MET, 7 * H)
    assert resolution.breached_at is None


# --- Reopening ------------------------------------------------------------------------


@pytest.mark.parametrize("reopened_by", ["reply", "transition"])
def test_reopen_restarts_resolution_with_the_time_already_used(
    it_policy, it_type, requester, it_agent, reopened_by
):
    ticket = file_ticket(it_type, requester, berlin(6, 1, 9))
    reply(ticket, it_agent, berlin(6, 1, 9, 30))
    move(ticket, it_agent, Status.RESOLVED, berlin(6, 1, 12))  # 3 h used
    met = clock_of(ticket, Kind.RESOLUTION)

    # Reopened the next morning: Mon 12-17, while it was resolved, does not count.
    if reopened_by == "reply":
        reply(ticket, requester, berlin(6, 2, 10))
    else:
        move(ticket, requester, Status.OPEN, berlin(6, 2, 10))

    resolution = clock_of(ticket, Kind.RESOLUTION)
    assert resolution.pk == met.pk
    assert SlaClock.objects.filter(ticket=ticket, kind=Kind.RESOLUTION).count() == 1
    assert (resolution.state, resolution.met_at) == (State.RUNNING, None)
    assert resolution.consumed_seconds == 3 * H
    assert resolution.running_since == berlin(6, 2, 10)
    assert resolution.due_at == berlin(6, 2, 15)  # 5 h left
    assert resolution.next_check_at == berlin(6, 2, 11)  # 50 % = 4 h: 1 h left
    assert segments(resolution) == [
        (RUNNING, "", berlin(6, 1, 9), berlin(6, 1, 12), 3 * H),
        (RUNNING, "Reopened", berlin(6, 2, 10), None, None),
    ]
    assert clock_of(ticket, Kind.FIRST_RESPONSE).state == State.MET  # not restarted
    assert reloaded(ticket).sla_due_at == berlin(6, 2, 15)

    move(ticket, it_agent, Status.RESOLVED, berlin(6, 2, 11))

    resolution.refresh_from_db()
    assert (resolution.state, resolution.met_at) == (State.MET, berlin(6, 2, 11))
    assert resolution.consumed_seconds == 4 * H
    assert resolution.breached_at is None


# --- Transfer -------------------------------------------------------------------------


@pytest.fixture
def new_york_hr(hr, make_calendar, make_policy):
    make_calendar("New York office", "America/New_York", department=hr)
    return make_policy(hr, first_response_minutes=2 * 60, resolution_minutes=16 * 60)


def transfer(ticket, actor, request_type, now):
    services.ticket_transfer(
        ticket=ticket, actor=actor, request_type=request_type, reason="Payroll.", now=now
    )


def test_transfer_keeps_the_old_departments_record_and_starts_the_new_ones_clocks(
    it, hr, it_policy, new_york_hr, it_type, hr_type, requester, it_agent, hr_agent
):
    ticket = file_ticket(it_type, requester, berlin(6, 1, 9))  # 07:00 UTC
    reply(ticket, it_agent, berlin(6, 1, 9, 30))

    transfer(ticket, it_agent, hr_type, berlin(6, 1, 11))  # 09:00 UTC, 05:00 in New York

    it_first = clock_of(ticket, Kind.FIRST_RESPONSE, it)
    it_resolution = clock_of(ticket, Kind.RESOLUTION, it)
    assert (it_first.state, it_first.consumed_seconds) == (State.MET, 30 * 60)
    assert it_resolution.state == State.STOPPED
    assert it_resolution.stopped_at == berlin(6, 1, 11)
    assert it_resolution.stop_reason == "Transferred to Human Resources"
    assert it_resolution.consumed_seconds == 2 * H  # IT is measured on its own 2 hours
    assert it_resolution.breached_at is None
    assert it_resolution.next_check_at is None
    assert [s.department_id for s in it_resolution.segments.all()] == [it.pk]

    hr_first = clock_of(ticket, Kind.FIRST_RESPONSE, hr)
    hr_resolution = clock_of(ticket, Kind.RESOLUTION, hr)
    for sla_clock in (hr_first, hr_resolution):
        assert sla_clock.state == State.RUNNING
        assert sla_clock.policy == new_york_hr
        assert sla_clock.started_at == berlin(6, 1, 11)
        assert sla_clock.consumed_seconds == 0
        assert [(s.state, s.department_id) for s in sla_clock.segments.all()] == [(RUNNING, hr.pk)]
    # New York opens at 09:00 EDT = 13:00 UTC.
    assert hr_first.due_at == utc(6, 1, 15)  # 2 h
    assert hr_resolution.due_at == utc(6, 2, 21)  # Mon 8 h, Tue 9-17 EDT
    assert SlaClock.objects.filter(ticket=ticket).count() == 4
    ticket = reloaded(ticket)
    assert (ticket.sla_due_at, ticket.sla_at_risk_at) == (utc(6, 1, 15), utc(6, 1, 14, 30))

    reply(ticket, hr_agent, utc(6, 1, 14))  # 10:00 EDT

    hr_first.refresh_from_db()
    assert (hr_first.state, hr_first.consumed_seconds) == (State.MET, H)


def test_transfer_while_waiting_starts_the_new_clocks_paused(
    hr, it_policy, new_york_hr, it_type, hr_type, requester, it_agent
):
    ticket = file_ticket(it_type, requester, berlin(6, 1, 9))
    reply(ticket, it_agent, berlin(6, 1, 9, 30), then_status=Status.WAITING)

    transfer(ticket, it_agent, hr_type, berlin(6, 1, 10))

    hr_first = clock_of(ticket, Kind.FIRST_RESPONSE, hr)
    assert (hr_first.state, hr_first.due_at) == (State.PAUSED, None)
    assert reloaded(ticket).sla_due_at is None

    reply(ticket, requester, utc(6, 1, 9))  # 05:00 in New York: HR's day has not begun

    hr_first.refresh_from_db()
    assert hr_first.state == State.RUNNING
    assert hr_first.due_at == utc(6, 1, 15)  # 09:00-11:00 EDT
    assert reloaded(ticket).sla_due_at == utc(6, 1, 15)


def test_new_request_type_in_the_same_department_retargets_keeping_the_time_used(
    it, it_policy, it_type, requester, it_agent, make_policy
):
    access = RequestTypeFactory(department=it, name="Access")
    access_policy = make_policy(
        it, request_type=access, first_response_minutes=30, resolution_minutes=4 * 60
    )
    ticket = file_ticket(it_type, requester, berlin(6, 1, 9))
    reply(ticket, it_agent, berlin(6, 1, 9, 30))
    resolution = clock_of(ticket, Kind.RESOLUTION)

    transfer(ticket, it_agent, access, berlin(6, 1, 10))

    # Still IT's ticket: first response was given and is not asked again; the resolution
    # clock runs on with its hour used, now against the Access target.
    assert SlaClock.objects.filter(ticket=ticket).count() == 2
    assert clock_of(ticket, Kind.FIRST_RESPONSE).state == State.MET
    retargeted = clock_of(ticket, Kind.RESOLUTION)
    assert retargeted.pk == resolution.pk
    assert (retargeted.state, retargeted.policy) == (State.RUNNING, access_policy)
    assert retargeted.target_seconds == 4 * H
    assert retargeted.due_at == berlin(6, 1, 13)
    assert reloaded(ticket).sla_due_at == berlin(6, 1, 13)


def test_new_request_type_without_sla_in_the_same_department_stops_the_clocks(
    it, it_policy, it_type, requester, it_agent
):
    feedback = RequestTypeFactory(department=it, name="Feedback", sla_exempt=True)
    ticket = file_ticket(it_type, requester, berlin(6, 1, 9))

    transfer(ticket, it_agent, feedback, berlin(6, 1, 10))

    assert SlaClock.objects.filter(ticket=ticket).count() == 2
    for kind in (Kind.FIRST_RESPONSE, Kind.RESOLUTION):
        sla_clock = clock_of(ticket, kind)
        assert sla_clock.state == State.STOPPED
        assert sla_clock.stop_reason == "No SLA applies any more"
        assert sla_clock.consumed_seconds == H
    assert reloaded(ticket).sla_due_at is None


# --- Priority -------------------------------------------------------------------------


@pytest.fixture
def by_priority(it, office, make_policy):
    """Normal: 4 h / 16 h. High: 2 h / 8 h. Nothing for Low and Urgent."""
    return {
        Priority.NORMAL: make_policy(
            it, name="Normal", priority=Priority.NORMAL,
            first_response_minutes=4 * 60, resolution_minutes=16 * 60,
        ),
        Priority.HIGH: make_policy(
            it, name="High", priority=Priority.HIGH,
            first_response_minutes=2 * 60, resolution_minutes=8 * 60,
        ),
    }  # fmt: skip


def set_priority(ticket, actor, priority, now):
    services.ticket_set_priority(ticket=ticket, actor=actor, priority=priority, now=now)


def test_priority_change_retargets_running_clocks_keeping_the_time_used(
    by_priority, it_type, requester, it_agent
):
    ticket = file_ticket(it_type, requester, berlin(6, 1, 9))
    first = clock_of(ticket, Kind.FIRST_RESPONSE)
    assert first.due_at == berlin(6, 1, 13)
    assert clock_of(ticket, Kind.RESOLUTION).due_at == berlin(6, 2, 17)

    set_priority(ticket, it_agent, Priority.HIGH, berlin(6, 1, 9, 30))

    first.refresh_from_db()
    assert first.policy == by_priority[Priority.HIGH]
    assert first.target_seconds == 2 * H
    assert first.started_at == first.running_since == berlin(6, 1, 9)  # the half hour counts
    assert (first.next_check_at, first.at_risk_at, first.due_at) == (
        berlin(6, 1, 10),
        berlin(6, 1, 10, 30),
        berlin(6, 1, 11),
    )
    assert clock_of(ticket, Kind.RESOLUTION).due_at == berlin(6, 1, 17)
    assert SlaClock.objects.filter(ticket=ticket).count() == 2
    assert reloaded(ticket).sla_due_at == berlin(6, 1, 11)


def test_priority_raised_past_the_new_target_is_due_in_the_past(
    by_priority, it_type, requester, it_agent
):
    ticket = file_ticket(it_type, requester, berlin(6, 1, 9))

    set_priority(ticket, it_agent, Priority.HIGH, berlin(6, 1, 11, 30))
    reply(ticket, it_agent, berlin(6, 1, 11, 45))

    first = clock_of(ticket, Kind.FIRST_RESPONSE)
    assert first.due_at == berlin(6, 1, 11)  # 2 h after filing, though only now known
    assert first.breached_at == berlin(6, 1, 11)


def test_priority_change_while_paused_applies_on_resume(by_priority, it_type, requester, it_agent):
    ticket = file_ticket(it_type, requester, berlin(6, 1, 9))
    move(ticket, it_agent, Status.WAITING, berlin(6, 1, 10))  # 1 h used

    set_priority(ticket, it_agent, Priority.HIGH, berlin(6, 1, 11))

    first = clock_of(ticket, Kind.FIRST_RESPONSE)
    assert (first.state, first.target_seconds, first.due_at) == (State.PAUSED, 2 * H, None)

    reply(ticket, requester, berlin(6, 1, 12))

    first.refresh_from_db()
    assert first.due_at == berlin(6, 1, 13)  # 1 h left
    assert clock_of(ticket, Kind.RESOLUTION).due_at == berlin(6, 2, 11)  # 7 h: Mon 5, Tue 2


def test_priority_change_to_one_without_a_policy_stops_the_clocks(
    by_priority, it_type, requester, it_agent
):
    ticket = file_ticket(it_type, requester, berlin(6, 1, 9))

    set_priority(ticket, it_agent, Priority.LOW, berlin(6, 1, 9, 30))

    for kind in (Kind.FIRST_RESPONSE, Kind.RESOLUTION):
        sla_clock = clock_of(ticket, kind)
        assert sla_clock.state == State.STOPPED
        assert sla_clock.stop_reason == "No SLA applies any more"
        assert sla_clock.stopped_at == berlin(6, 1, 9, 30)
        assert sla_clock.consumed_seconds == 30 * 60
        assert sla_clock.next_check_at is None
    ticket = reloaded(ticket)
    assert (ticket.sla_due_at, ticket.sla_at_risk_at) == (None, None)


# --- Next response --------------------------------------------------------------------


def test_next_response_runs_from_each_requester_reply_to_the_next_agent_reply(
    it, office, make_policy, it_type, requester, it_agent
):
    make_policy(it, next_response_minutes=30)
    ticket = file_ticket(it_type, requester, berlin(6, 1, 9))
    reply(ticket, it_agent, berlin(6, 1, 9, 10))
    assert not SlaClock.objects.filter(ticket=ticket, kind=Kind.NEXT_RESPONSE).exists()

    reply(ticket, requester, berlin(6, 1, 10))
    reply(ticket, requester, berlin(6, 1, 10, 5))  # a second message: the same clock runs on

    first_round = clock_of(ticket, Kind.NEXT_RESPONSE)
    assert SlaClock.objects.filter(ticket=ticket, kind=Kind.NEXT_RESPONSE).count() == 1
    assert (first_round.state, first_round.started_at) == (State.RUNNING, berlin(6, 1, 10))
    assert first_round.due_at == berlin(6, 1, 10, 30)
    assert reloaded(ticket).sla_due_at == berlin(6, 1, 10, 30)  # earlier than resolution

    reply(ticket, it_agent, berlin(6, 1, 10, 15), internal=True)  # a note is no answer
    assert clock_of(ticket, Kind.NEXT_RESPONSE).state == State.RUNNING
    reply(ticket, it_agent, berlin(6, 1, 10, 20))

    first_round.refresh_from_db()
    assert (first_round.state, first_round.consumed_seconds) == (State.MET, 20 * 60)
    assert reloaded(ticket).sla_due_at == berlin(6, 1, 17)

    reply(ticket, requester, berlin(6, 1, 16, 50))

    second_round = clock_of(ticket, Kind.NEXT_RESPONSE)
    assert second_round.pk != first_round.pk
    assert second_round.due_at == berlin(6, 2, 9, 20)  # 10 min tonight, 20 tomorrow
    reply(ticket, it_agent, berlin(6, 2, 9, 5))
    second_round.refresh_from_db()
    assert (second_round.state, second_round.consumed_seconds) == (State.MET, 15 * 60)


# --- The end of a ticket --------------------------------------------------------------


def test_cancelling_stops_the_clocks(it_policy, it_type, requester):
    ticket = file_ticket(it_type, requester, berlin(6, 1, 9))

    move(ticket, requester, Status.CANCELLED, berlin(6, 1, 9, 30))

    for kind in (Kind.FIRST_RESPONSE, Kind.RESOLUTION):
        sla_clock = clock_of(ticket, kind)
        assert (sla_clock.state, sla_clock.stop_reason) == (State.STOPPED, "Cancelled")
        assert sla_clock.stopped_at == berlin(6, 1, 9, 30)
        assert sla_clock.consumed_seconds == 30 * 60
        assert sla_clock.next_check_at is None
    assert reloaded(ticket).sla_due_at is None


def test_closing_leaves_nothing_running_and_keeps_the_met_record(
    it_policy, it_type, requester, it_agent
):
    ticket = file_ticket(it_type, requester, berlin(6, 1, 9))
    reply(ticket, it_agent, berlin(6, 1, 9, 30), then_status=Status.RESOLVED)

    move(ticket, it_agent, Status.CLOSED, berlin(6, 8, 9))

    clocks = SlaClock.objects.filter(ticket=ticket)
    assert not clocks.filter(state__in=SlaClock.ACTIVE_STATES).exists()
    assert not clocks.filter(schedule__next_check_at__isnull=False).exists()
    assert set(clocks.values_list("state", "met_at")) == {(State.MET, berlin(6, 1, 9, 30))}
    assert reloaded(ticket).sla_due_at is None


@pytest.mark.parametrize("exempt", [True, False])
def test_request_types_without_sla_get_no_clocks(
    it, office, make_policy, requester, hr, make_calendar, exempt
):
    password = RequestTypeFactory(department=it, name="Password reset", sla_exempt=exempt)
    if exempt:
        make_policy(it)
        make_policy(it, request_type=password)
    else:
        make_policy(hr)  # only another department has a policy

    ticket = file_ticket(password, requester, berlin(6, 1, 9))

    assert not SlaClock.objects.filter(ticket=ticket).exists()
    ticket = reloaded(ticket)
    assert (ticket.sla_due_at, ticket.sla_at_risk_at) == (None, None)


# --- Recomputing after a calendar or policy change ------------------------------------


def test_recompute_after_a_holiday_is_added_moves_running_deadlines_in_batches(
    it, office, make_policy, it_type, requester, it_agent
):
    make_policy(it, resolution_minutes=24 * 60)  # three working days
    tickets = []
    for hour in (9, 10, 11, 12):
        ticket = file_ticket(it_type, requester, berlin(6, 1, hour))
        reply(ticket, it_agent, berlin(6, 1, hour, 10))
        tickets.append(ticket)
    # The fifth waited on its requester from Tuesday 12:00 to Wednesday 09:00.
    waited = file_ticket(it_type, requester, berlin(6, 1, 9))
    reply(waited, it_agent, berlin(6, 1, 9, 10))
    move(waited, it_agent, Status.WAITING, berlin(6, 2, 12))  # Mon 8 h + Tue 3 h used
    reply(waited, requester, berlin(6, 3, 9))
    tickets.append(waited)
    before = [reloaded(t).sla_due_at for t in tickets]
    assert before == [
        berlin(6, 3, 17),  # Mon 8 h, Tue 8 h, Wed 8 h
        berlin(6, 4, 10),  # Mon 7 h, Tue, Wed, Thu 1 h
        berlin(6, 4, 11),
        berlin(6, 4, 12),
        berlin(6, 4, 14),  # 13 h left from Wed 09:00: Wed 8 h, Thu 5 h
    ]

    # The office was closed on Tuesday (a storm); an admin enters it afterwards.
    Holiday.objects.create(calendar=office, date=date(2026, 6, 2), name="Storm")
    office.save()  # admin saves the calendar with its holidays: its cached value expires
    assert [reloaded(t).sla_due_at for t in tickets] == before  # stored until recomputed

    with CaptureQueriesContext(connection) as queries:
        recomputed = sla_services.sla_recompute(now=berlin(6, 3, 10), batch_size=2)

    assert recomputed == 5  # the five resolution clocks; first responses were met
    batches = [
        q["sql"] for q in queries if 'FROM "slas_slaclock"' in q["sql"] and "LIMIT 2" in q["sql"]
    ]
    assert len(batches) == 4  # 2 + 2 + 1, and an empty one that ends the loop
    assert [reloaded(t).sla_due_at for t in tickets] == [
        berlin(6, 4, 17),  # every deadline moves one working day
        berlin(6, 5, 10),
        berlin(6, 5, 11),
        berlin(6, 5, 12),
        berlin(6, 4, 17),  # only Monday's 8 h count now: 16 h left from Wed 09:00
    ]
    resolution = clock_of(waited, Kind.RESOLUTION)
    assert resolution.consumed_seconds == 8 * H
    assert resolution.segments.first().business_seconds == 8 * H
    first = clock_of(waited, Kind.FIRST_RESPONSE)
    assert (first.state, first.consumed_seconds) == (State.MET, 10 * 60)  # left alone


def test_recompute_applies_a_changed_policy_target(it_policy, it_type, requester):
    ticket = file_ticket(it_type, requester, berlin(6, 1, 9))
    it_policy.resolution_minutes = 4 * 60
    it_policy.warning_percents = "25"
    it_policy.save()

    sla_services.sla_recompute(now=berlin(6, 1, 10))

    resolution = clock_of(ticket, Kind.RESOLUTION)
    assert (resolution.target_seconds, resolution.warning_percents) == (4 * H, [25])
    assert (resolution.next_check_at, resolution.due_at) == (berlin(6, 1, 10), berlin(6, 1, 13))
    assert reloaded(ticket).sla_due_at == berlin(6, 1, 10)  # first response, 1 h


def test_warnings_passed_before_a_pause_are_not_checked_again_after_it(
    it_policy, it_type, requester, it_agent
):
    ticket = file_ticket(it_type, requester, berlin(6, 1, 9))
    reply(ticket, it_agent, berlin(6, 1, 9, 10))
    # 4.5 h of the 8 h used: the 50 % warning (4 h) has passed when the agent asks.
    reply(ticket, it_agent, berlin(6, 1, 13, 30), then_status=Status.WAITING)
    reply(ticket, requester, berlin(6, 1, 14))

    resolution = clock_of(ticket, Kind.RESOLUTION)
    assert resolution.state == State.RUNNING
    # Next is the 75 % warning (6 h: 1.5 h from 14:00), not the 50 % one again at 14:00.
    assert resolution.next_check_at == berlin(6, 1, 15, 30)
    assert resolution.at_risk_at == berlin(6, 1, 15, 30)
    assert resolution.due_at == berlin(6, 2, 9, 30)  # 3.5 h left: Mon 14-17, Tue 9:00-9:30


def test_priority_raised_onto_a_policy_starts_clocks_from_the_change(
    by_priority, it_type, requester, it_agent
):
    ticket = services.ticket_create(
        created_by=requester,
        request_type=it_type,
        title="Printer",
        description="Jammed.",
        priority=Priority.LOW,
        now=berlin(6, 1, 9),
    )
    assert not SlaClock.objects.filter(ticket=ticket).exists()  # no policy for Low

    set_priority(ticket, it_agent, Priority.HIGH, berlin(6, 1, 10))

    first = clock_of(ticket, Kind.FIRST_RESPONSE)
    resolution = clock_of(ticket, Kind.RESOLUTION)
    assert (first.started_at, first.due_at) == (berlin(6, 1, 10), berlin(6, 1, 12))
    assert resolution.due_at == berlin(6, 2, 10)  # 8 h: Mon 10-17, Tue 9-10
    assert reloaded(ticket).sla_due_at == berlin(6, 1, 12)


def test_recompute_chooses_a_newly_added_more_specific_policy(
    it, it_policy, it_type, requester, make_policy
):
    ticket = file_ticket(it_type, requester, berlin(6, 1, 9))
    make_policy(it, name="Hardware", request_type=it_type, resolution_minutes=2 * 60)

    sla_services.sla_recompute(now=berlin(6, 1, 9, 30))

    resolution = clock_of(ticket, Kind.RESOLUTION)
    assert resolution.policy.name == "Hardware"
    assert (resolution.target_seconds, resolution.due_at) == (2 * H, berlin(6, 1, 11))

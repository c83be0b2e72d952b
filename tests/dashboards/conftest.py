"""The dashboards' fixtures: the SLA ones (calendars, policies, a fresh calendar cache)
and the small fixed histories of tests/dashboards/history.py."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
import time_machine

from dashboards.selectors import lead_dashboard
from slas.models import SlaClock
from surveys import services as survey_services
from surveys.models import FollowUp, SurveyInvitation, SurveySettings, SurveyTemplate
from tests.dashboards.history import (
    ANSWERS,
    ANSWERS_READ_AT,
    FIRST_DAY,
    LAST_DAY,
    NOW,
    SINCE,
    Desk,
    Status,
    at,
)
from tests.factories import RequestTypeFactory, TicketFactory, UserFactory, agent_of
from tests.slas.conftest import _fresh_calendar_cache, make_calendar, make_policy
from tickets import services
from tickets.models import Priority, Ticket
from tickets.selectors import department_time_zone, local_days

__all__ = ["_fresh_calendar_cache", "make_calendar", "make_policy"]


@pytest.fixture
def berlin_it(it, make_calendar, make_policy):
    make_calendar("Berlin office", "Europe/Berlin", department=it)
    make_policy(it, first_response_minutes=60, resolution_minutes=8 * 60)
    return it


@pytest.fixture
def desk(berlin_it):
    return Desk(RequestTypeFactory(department=berlin_it, name="Laptop"), agent_of(berlin_it))


@pytest.fixture
def history(desk, requester, hr):
    """Business seconds in the comments: first response / resolution."""
    hr_person = UserFactory(username="hilda", home_department=hr)
    nobody = UserFactory(username="nomad", home_department=None)
    t = {}
    # Week of 2 March.
    t["A"] = desk.work(requester, at(2, 9), at(2, 9, 30), at(2, 13))  # 30 min / 4 h
    t["B"] = desk.work(requester, at(2, 16, 30), at(3, 9, 15), at(3, 10, 30))  # 45 min / 2 h
    t["C"] = desk.work(requester, at(3, 10), at(3, 12), at(3, 14))  # 2 h, breached / 4 h
    t["D"] = desk.work(hr_person, at(4, 9), at(4, 9, 10), at(5, 12))  # 10 min / 11 h breached
    t["E"] = desk.work(requester, at(4, 11), at(4, 11, 20), at(4, 12))  # 20 min / 1 h ...
    desk.move(t["E"], Status.OPEN, at(5, 9), actor=requester)  # ... reopened ...
    t["E"] = desk.move(t["E"], Status.RESOLVED, at(5, 10))  # ... 1 h more: 2 h
    # Filed on Friday before the period, answered and resolved at 00:30 on the first day
    # (still Sunday in UTC): 30 min / 30 min, inside the period.
    t["M"] = desk.work(requester, at(27, 16, 30, month=2), at(2, 0, 30), at(2, 0, 30))
    # Filed at 00:30 on the first day (Sunday 23:30 UTC): in the period; left open.
    t["H1"] = desk.file(nobody, at(2, 0, 30))
    # Week of 9 March.
    t["F"] = desk.work(requester, at(9, 10), at(9, 10, 5), at(10, 9, 30))  # 5 min / 7.5 h
    t["G"] = desk.file(hr_person, at(10, 9))  # never answered
    t["I"] = desk.file(requester, at(14, 10))  # a Saturday; open
    # Outside the period: long ago, and on the day we look.
    t["J"] = desk.file(requester, at(6, 10, month=2))
    t["K"] = desk.file(requester, at(16, 11, 10))  # at risk at 11:55, due 12:10
    t["L"] = desk.file(requester, at(16, 11, 50))  # at risk at 12:35
    return t


@pytest.fixture
def board_of(berlin_it, history):
    """The dashboard of the period, read when called (after any changes to the data)."""

    def read():
        tz = department_time_zone(berlin_it)
        since, until = local_days(first_day=FIRST_DAY, last_day=LAST_DAY, tz=tz)
        return lead_dashboard(department=berlin_it, since=since, until=until, tz=tz, now=NOW)

    return read


@pytest.fixture
def board(board_of):
    return board_of()


@pytest.fixture
def it_surveys(it):
    template = SurveyTemplate.objects.create(name="IT survey", department=it, ask_nps=True)
    return SurveySettings.objects.create(
        department=it, template=template, per_person_cap_days=0, delay_minutes=60
    )


@pytest.fixture
def answered(it_surveys, it_type, requester, it_agent, it_lead):
    """The table above; the survey is answered an hour after the resolution."""
    tickets = []
    for resolved_at, score, nps, comment in ANSWERS:
        with time_machine.travel(resolved_at - timedelta(hours=1), tick=False):
            ticket = TicketFactory(request_type=it_type, created_by=requester)
        with time_machine.travel(resolved_at, tick=False):
            ticket = services.ticket_transition(
                ticket=ticket, actor=it_agent, to_status=Ticket.Status.RESOLVED, now=resolved_at
            )
        tickets.append(ticket)
        if score is None:
            continue
        invitation = SurveyInvitation.objects.get(ticket=ticket)
        answered_at = resolved_at + timedelta(hours=1)
        with time_machine.travel(answered_at, tick=False):
            survey_services.survey_respond(
                invitation=invitation, score=score, nps=nps, comment=comment, now=answered_at
            )
    closed = FollowUp.objects.get(response__score=1)
    survey_services.follow_up_close(
        follow_up=closed, actor=it_lead, notes="Called.", now=ANSWERS_READ_AT
    )
    return tickets


@pytest.fixture
def spread(berlin_it, desk, history):
    """The history spread over two request types, two agents and four priorities. Set
    directly, on the tickets and on their finished clocks (the clocks as if the tickets
    had had these values when they finished: the breakdowns count a created ticket as it
    is now, a finished clock as it was then; their business times stay as they were
    worked): Monitor D G M, Laptop the rest; Pia A B C D, Quinn E F M, nobody else;
    Urgent C D, High A, Low I, Normal the rest."""
    monitor = RequestTypeFactory(department=berlin_it, name="Monitor")
    pia = agent_of(berlin_it, username="pia", first_name="Pia", last_name="Ross")
    quinn = agent_of(berlin_it, username="quinn", first_name="", last_name="")  # username
    pks = {name: ticket.pk for name, ticket in history.items()}

    def update(names: str, **values) -> None:
        tickets = [pks[name] for name in names.split()]
        Ticket.objects.filter(pk__in=tickets).update(**values)
        SlaClock.objects.filter(
            ticket__in=tickets, state__in=(SlaClock.State.MET, SlaClock.State.STOPPED)
        ).update(**{f"finished_{field}": value for field, value in values.items()})

    update("D G M", request_type=monitor)
    update(" ".join(pks), assignee=None, priority=Priority.NORMAL)
    update("A B C D", assignee=pia)
    update("E F M", assignee=quinn)
    update("C D", priority=Priority.URGENT)
    update("A", priority=Priority.HIGH)
    update("I", priority=Priority.LOW)
    return {"monitor": monitor, "laptop": desk.request_type, "pia": pia, "quinn": quinn}


@pytest.fixture
def clocks(it, hr):
    """800 finished clocks of IT: met (some late), stopped after a breach, and a few
    outside the period or of another department; business times from 0 s to 40 days,
    many repeated, over two requesting departments (and none) and two assignees (and
    none)."""
    Kind, State = SlaClock.Kind, SlaClock.State
    rng = random.Random(6)
    ticket = TicketFactory(request_type=RequestTypeFactory(department=it))
    groups = {
        "requesting": [it.pk, hr.pk, None],
        "assignee": [agent_of(it).pk, agent_of(it).pk, None],
    }
    rows = []
    for i in range(800):
        finished = SINCE + timedelta(minutes=rng.randrange(-3 * 24 * 60, 33 * 24 * 60))
        seconds = rng.choice([0, 1, 59, 3600, 3600, rng.randrange(1, 40 * 86400)])
        stopped = i % 7 == 0
        breached = finished - timedelta(seconds=1) if stopped or i % 5 == 0 else None
        rows.append(
            SlaClock(
                ticket=ticket, department=hr if i % 50 == 0 else it,
                kind=Kind.RESOLUTION if i % 3 else Kind.FIRST_RESPONSE,
                state=State.STOPPED if stopped else State.MET, target_seconds=3600,
                started_at=SINCE - timedelta(days=5), consumed_seconds=seconds,
                met_at=None if stopped else finished, stopped_at=finished if stopped else None,
                breached_at=breached,
                finished_requesting_department_id=rng.choice(groups["requesting"]),
                finished_assignee_id=rng.choice(groups["assignee"]),
                finished_priority=rng.choice([1, 2, 3, 4, None]),
            )
        )  # fmt: skip
    SlaClock.objects.bulk_create(rows)
    return rows

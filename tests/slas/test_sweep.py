"""The sweep records each warning, breach and “no update” once, when it is due, and
hands the matching rules to the outbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from outbox.models import Message
from slas.models import EscalationAction, EscalationRule, SlaClock, SlaEvent
from slas.sweep import sla_sweep
from tickets import services
from tickets.models import Ticket

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday; the department works round the clock
MIN = timedelta(minutes=1)
Kind = SlaEvent.Kind


def file_ticket(request_type, requester, now=T0) -> Ticket:
    return services.ticket_create(
        created_by=requester,
        request_type=request_type,
        title="The printer is on fire",
        description="Smoke everywhere.",
        now=now,
    )


def events(ticket) -> list[tuple[str, str, int, datetime]]:
    return [
        (e.clock.kind if e.clock else "", e.kind, e.threshold, e.instant)
        for e in SlaEvent.objects.filter(ticket=ticket).select_related("clock")
    ]


@pytest.fixture
def policy(it, make_policy):
    # First response 60 min, resolution 8 h, warnings at 50 % and 75 %.
    return make_policy(it, warning_percents="50, 75")


def test_nothing_is_recorded_before_the_first_threshold(policy, it_type, requester):
    ticket = file_ticket(it_type, requester)
    result = sla_sweep(now=T0 + 29 * MIN)
    assert result.recorded == 0
    assert events(ticket) == []


def test_warnings_and_breach_are_recorded_once_at_their_instants(policy, it_type, requester):
    ticket = file_ticket(it_type, requester)
    sla_sweep(now=T0 + 30 * MIN)
    assert events(ticket) == [("first_response", Kind.WARNING, 50, T0 + 30 * MIN)]
    sla_sweep(now=T0 + 30 * MIN)  # the same instant again: nothing new
    sla_sweep(now=T0 + 61 * MIN)
    assert events(ticket) == [
        ("first_response", Kind.WARNING, 50, T0 + 30 * MIN),
        ("first_response", Kind.WARNING, 75, T0 + 45 * MIN),
        ("first_response", Kind.BREACH, 100, T0 + 60 * MIN),
    ]
    clock = SlaClock.objects.get(ticket=ticket, kind="first_response")
    # The breach is marked on the schedule row; the clock row is not written by the sweep
    # (it gets `breached_at` from the services when its run ends).
    assert (clock.schedule.breached, clock.breached_at) == (True, None)
    assert clock.warned_percent == 75
    assert clock.next_check_at is None
    resolution = SlaClock.objects.get(ticket=ticket, kind="resolution")
    assert resolution.next_check_at == T0 + 4 * 60 * MIN  # 50 % of 8 h


def _queries_for_sweep(now) -> int:
    with CaptureQueriesContext(connection) as queries:
        result = sla_sweep(now=now)
    assert result.recorded > 0
    return len(queries)


def test_a_batch_costs_the_same_queries_whatever_is_due(it, policy, it_type, requester):
    rule = EscalationRule.objects.create(
        department=it, name="Tell", trigger=EscalationRule.Trigger.WARNING
    )
    EscalationAction.objects.create(
        rule=rule, kind=EscalationAction.Kind.NOTIFY, target=EscalationAction.Target.LEADS
    )
    # Each sweep records first-response warnings (50 %, 75 %) and breaches: one ticket's,
    # then forty's (a breach also writes the clock row: a statement of its own).
    file_ticket(it_type, requester)
    one = _queries_for_sweep(T0 + 61 * MIN)
    for _ in range(40):
        file_ticket(it_type, requester, now=T0 + 61 * MIN)
    many = _queries_for_sweep(T0 + 122 * MIN)
    assert one == many
    assert SlaEvent.objects.filter(kind=SlaEvent.Kind.BREACH).count() == 1 + 40
    # Each warning with its rule in exactly one escalation message (chunks of events).
    escalated = [
        event_id
        for payload in Message.objects.filter(topic=Message.Topic.ESCALATION).values_list(
            "payload", flat=True
        )
        for event_id in payload["event_ids"]
    ]
    assert sorted(escalated) == sorted(
        SlaEvent.objects.filter(kind=SlaEvent.Kind.WARNING).values_list("pk", flat=True)
    )
    assert len(escalated) == 2 * (1 + 40)


def test_a_full_batch_asks_for_help_once(policy, it_type, requester):
    for _ in range(5):
        file_ticket(it_type, requester)
    calls = []
    result = sla_sweep(now=T0 + 30 * MIN, batch_size=2, on_backlog=lambda: calls.append(1))
    assert (result.claimed, result.recorded, calls) == (5, 5, [1])

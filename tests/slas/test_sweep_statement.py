"""The sweep's one PostgreSQL statement (slas/sweep_statement.py) matches escalation rules
in SQL; the clock services and the “no update” timers match them in Python
(slas/rulebook.py). Both must fire the same rules, in the same order, for every shape of
rule: by trigger, target, threshold, narrowing, level, and active or not.

PostgreSQL only: elsewhere the sweep matches in Python too (its stepwise path), and this
test would compare the rule book with itself.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, transaction

from slas.models import EscalationRule, SlaEvent
from slas.rulebook import RuleBook
from slas.sweep import sla_sweep
from slas.sweep_statement import sweep_in_one_statement
from tests.factories import RequestTypeFactory, UserFactory
from tickets import services
from tickets.models import Priority, Ticket

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="the one-statement sweep is PostgreSQL's: run with DATABASE_URL=postgres://...",
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
# Odd microseconds: the statement turns the stored instants back into timestamps, and an
# event's instant is part of its UNIQUE key, so it must be exact.
T0_ODD = T0 + timedelta(microseconds=123_457)
MIN = timedelta(minutes=1)
Trigger = EscalationRule.Trigger


def test_sql_fires_the_rules_the_rule_book_fires(it, hr, make_policy, it_type, requester):
    make_policy(it, warning_percents="50, 75")  # first response 1 h, resolution 8 h
    other_type = RequestTypeFactory(department=it, name="Software")
    hr_person = UserFactory(username="harry", home_department=hr)

    def rule(trigger: str, level: int = 1, **fields) -> EscalationRule:
        return EscalationRule.objects.create(
            department=it, name=f"{trigger} {level}", trigger=trigger, level=level, **fields
        )

    rule(Trigger.WARNING, level=2)
    rule(Trigger.WARNING, warning_percent=75)
    rule(Trigger.WARNING, clock_kind="resolution")
    rule(Trigger.BREACH, level=3)
    rule(Trigger.BREACH, level=1, clock_kind="first_response")
    rule(Trigger.BREACH, priorities=[Priority.HIGH, Priority.URGENT])
    rule(Trigger.WARNING, warning_percent=50).request_types.set([other_type])
    rule(Trigger.BREACH, level=2).requesting_departments.set([hr])
    both = rule(Trigger.BREACH, priorities=[Priority.LOW])
    both.request_types.set([it_type])
    both.requesting_departments.set([requester.home_department])
    rule(Trigger.BREACH, is_active=False)
    rule(Trigger.NO_UPDATE, idle_hours=1)
    EscalationRule.objects.create(department=hr, name="HR's", trigger=Trigger.BREACH)

    for request_type in (it_type, other_type):
        for person in (requester, hr_person):
            for priority in (Priority.LOW, Priority.NORMAL, Priority.HIGH):
                services.ticket_create(
                    created_by=person, request_type=request_type, title="Printer",
                    description="Jammed.", priority=priority, now=T0_ODD,
                )  # fmt: skip
    sla_sweep(now=T0 + 5 * 60 * MIN)
    # First-response warnings and breach, and the resolution's 50 % warning (and a “no
    # update” each, matched in Python).
    assert SlaEvent.objects.filter(clock__isnull=False).count() == 12 * 4

    book = RuleBook.load()
    fired = set()
    for event in SlaEvent.objects.filter(clock__isnull=False).select_related("clock", "ticket"):
        ticket: Ticket = event.ticket
        expected = book.match(
            department_id=event.department_id,
            trigger=event.kind,
            clock_kind=event.clock.kind,
            threshold=event.threshold,
            request_type_id=ticket.request_type_id,
            priority=ticket.priority,
            requesting_department_id=ticket.requesting_department_id,
        )
        assert event.rule_ids == expected, (event.kind, event.threshold, ticket.priority)
        assert (event.handled_at is None) == bool(expected)
        assert event.instant.microsecond == 123_457
        fired.update(expected)
    # Every active warning and breach rule of the department fired for some event.
    assert fired == set(
        EscalationRule.objects.filter(
            department=it, is_active=True, trigger__in=[Trigger.WARNING, Trigger.BREACH]
        ).values_list("pk", flat=True)
    )


def test_a_claim_starts_where_it_is_told_and_the_next_sweep_finds_the_rest(
    it, make_policy, it_type, requester
):
    # No calendar: the department works round the clock. First response 60 min:
    # warnings at 30 and 45 min, breach at 60, from each filing.
    make_policy(it, warning_percents="50, 75")
    tickets = [
        services.ticket_create(
            created_by=requester,
            request_type=it_type,
            title="Printer",
            description="Jammed.",
            now=T0 + minutes * MIN,
        )
        for minutes in (0, 10, 20)
    ]
    now = T0 + 55 * MIN

    def warnings(ticket: Ticket) -> list[int]:
        return sorted(
            SlaEvent.objects.filter(ticket=ticket, clock__isnull=False).values_list(
                "threshold", flat=True
            )
        )

    # Told to start at 40 min, the claim leaves the first ticket's clock (due since 30 min).
    with transaction.atomic():
        swept = sweep_in_one_statement(now=now, limit=100, start=T0 + 40 * MIN)
    assert swept.claimed == 2
    assert swept.last_due == T0 + 50 * MIN
    assert [warnings(t) for t in tickets] == [[], [50, 75], [50]]
    # A sweep finds the earliest due clock itself, and records nothing twice.
    assert sla_sweep(now=now).recorded == 2
    assert [warnings(t) for t in tickets] == [[50, 75], [50, 75], [50]]

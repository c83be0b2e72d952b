"""Each clock's schedule row (SlaSchedule): what the sweep reads and moves instead of the
clock, with the clock's checks ahead computed by the services. Every service that writes
a clock keeps its schedule row in step, and the migrations filled it from the clocks
already there."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from slas.checks import Check, due_checks, encode_checks
from slas.models import SlaClock, SlaSchedule
from slas.services import sla_recompute
from slas.sweep import sla_sweep
from tickets import services
from tickets.models import Priority, Ticket

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday; the department works round the clock
MIN = timedelta(minutes=1)
Status = Ticket.Status


@pytest.fixture
def policy(it, make_policy):
    # First response 60 min, resolution 8 h, warnings at 50 % and 75 %.
    return make_policy(it, warning_percents="50, 75")


def file_ticket(request_type, requester, now=T0) -> Ticket:
    return services.ticket_create(
        created_by=requester,
        request_type=request_type,
        title="The printer is on fire",
        description="Smoke everywhere.",
        now=now,
    )


def checks_ahead(schedule: SlaSchedule) -> list[Check]:
    """The stored checks the sweep has still to record."""
    return due_checks(
        schedule.checks,
        warned_percent=schedule.warned_percent,
        breached=schedule.breached,
        now=T0 + timedelta(days=365),
    )[0]


def assert_schedules_copy_their_clocks(ticket: Ticket) -> None:
    clocks = list(SlaClock.objects.filter(ticket=ticket).select_related("schedule"))
    assert clocks
    for sla_clock in clocks:
        schedule = sla_clock.schedule
        for name in SlaSchedule.COPIED:
            assert getattr(schedule, name) == getattr(sla_clock, name), name
        # The sweep marks a breach on the schedule only; the clock gets it when its run ends.
        if sla_clock.breached_at is not None or sla_clock.state != SlaClock.State.RUNNING:
            assert schedule.breached == (sla_clock.breached_at is not None)


def test_filing_writes_each_clock_with_its_schedule(policy, it_type, requester):
    ticket = file_ticket(it_type, requester)

    assert_schedules_copy_their_clocks(ticket)
    first = SlaClock.objects.get(ticket=ticket, kind="first_response")
    assert first.schedule.next_check_at == T0 + 30 * MIN  # 50 % of 60 min
    assert first.schedule.warned_percent == 0
    assert first.schedule.checks == encode_checks(
        [
            Check("warning", 50, T0 + 30 * MIN),
            Check("warning", 75, T0 + 45 * MIN),
            Check("breach", 100, T0 + 60 * MIN),
        ]
    )


def test_pause_resume_priority_and_breach_keep_the_schedule_in_step(
    policy, it_type, requester, it_agent
):
    ticket = file_ticket(it_type, requester)
    sla_sweep(now=T0 + 50 * MIN)  # the 50 % and 75 % warnings of first response
    first = SlaClock.objects.get(ticket=ticket, kind="first_response")
    assert (first.warned_percent, first.next_check_at) == (75, T0 + 60 * MIN)

    services.ticket_transition(
        ticket=ticket, actor=it_agent, to_status=Status.WAITING, now=T0 + 55 * MIN
    )
    assert_schedules_copy_their_clocks(ticket)
    assert not SlaSchedule.objects.filter(
        clock__ticket=ticket, next_check_at__isnull=False
    ).exists()

    services.ticket_transition(
        ticket=ticket, actor=it_agent, to_status=Status.OPEN, now=T0 + 90 * MIN
    )
    services.ticket_set_priority(
        ticket=Ticket.objects.get(pk=ticket.pk),
        actor=it_agent,
        priority=Priority.HIGH,
        now=T0 + 91 * MIN,
    )
    assert_schedules_copy_their_clocks(ticket)
    first = SlaClock.objects.get(ticket=ticket, kind="first_response")
    # Resumed at 90 min with 55 min used, the new target of 60 min: only the breach left.
    assert first.schedule.checks == encode_checks([Check("breach", 100, T0 + 95 * MIN)])
    sla_sweep(now=T0 + 200 * MIN)  # first response breached 5 minutes after resuming
    assert_schedules_copy_their_clocks(ticket)
    first = SlaClock.objects.get(ticket=ticket, kind="first_response")
    assert (first.schedule.breached, first.breached_at) == (True, None)  # still running
    assert first.next_check_at is None
    assert first.warned_percent == 75  # not repeated after the pause

    services.ticket_transition(
        ticket=Ticket.objects.get(pk=ticket.pk),
        actor=it_agent,
        to_status=Status.RESOLVED,
        now=T0 + 210 * MIN,
    )
    first.refresh_from_db()
    assert first.breached_at == T0 + 95 * MIN  # the run's due time, copied as it ends
    assert_schedules_copy_their_clocks(ticket)


def test_recompute_rewrites_the_schedules(policy, it_type, requester):
    ticket = file_ticket(it_type, requester)
    policy.first_response_minutes = 120
    policy.save()

    sla_recompute(now=T0 + MIN)

    assert_schedules_copy_their_clocks(ticket)
    first = SlaClock.objects.get(ticket=ticket, kind="first_response")
    assert (first.target_seconds, first.next_check_at) == (7200, T0 + 60 * MIN)


@pytest.mark.django_db(transaction=True)
def test_the_migration_fills_the_schedules_from_the_clocks_and_back(policy, it_type, requester):
    ticket = file_ticket(it_type, requester)
    sla_sweep(now=T0 + 31 * MIN)  # first response warned at 50 %
    before = {
        s.clock_id: (s.next_check_at, s.warned_percent, s.ticket_id, s.kind, checks_ahead(s))
        for s in SlaSchedule.objects.filter(clock__ticket=ticket)
    }
    assert len(before) == 2

    executor = MigrationExecutor(connection)
    executor.migrate([("slas", "0005_event_ticket_unconstrained")])
    with connection.cursor() as cursor:  # the columns are back on the clocks
        cursor.execute(
            "SELECT id, next_check_at, warned_percent FROM slas_slaclock WHERE ticket_id = %s",
            [ticket.pk],
        )
        back = {pk: (n, w) for pk, n, w in cursor.fetchall()}
    assert {pk: (n, w) for pk, (n, w, *_) in before.items()} == {
        pk: (n if n is None or n.tzinfo else n.replace(tzinfo=UTC), w)
        for pk, (n, w) in back.items()
    }
    call_command("migrate", "slas", verbosity=0)

    after = {
        s.clock_id: (s.next_check_at, s.warned_percent, s.ticket_id, s.kind, checks_ahead(s))
        for s in SlaSchedule.objects.filter(clock__ticket=ticket)
    }
    assert after == before  # the checks ahead computed again from the clocks: the same


def test_a_breach_the_sweep_recorded_reaches_the_clock_with_its_instant_when_the_run_ends(
    policy, it_type, requester, it_agent
):
    ticket = file_ticket(it_type, requester)
    sla_sweep(now=T0 + 61 * MIN)  # first response breached at 60 min
    policy.first_response_minutes = 120  # a longer target after the breach
    policy.save()
    sla_recompute(now=T0 + 62 * MIN)
    first = SlaClock.objects.get(ticket=ticket, kind="first_response")
    assert first.breached_at is None and first.schedule.breached
    assert first.due_at == T0 + 120 * MIN
    assert first.next_check_at is None  # the breach is not due a second time

    services.ticket_transition(
        ticket=Ticket.objects.get(pk=ticket.pk),
        actor=it_agent,
        to_status=Status.RESOLVED,
        now=T0 + 100 * MIN,
    )

    first.refresh_from_db()
    assert first.state == SlaClock.State.MET
    assert first.breached_at == T0 + 60 * MIN  # the recorded breach, not the new due time

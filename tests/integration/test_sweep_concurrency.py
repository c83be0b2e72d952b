"""Exactly once under concurrency, on PostgreSQL with real commits: two sweeps over the
same due clocks at the same time, the same escalation delivered twice at once (two
workers, or a worker and the relay), and real worker processes handed the same sweep
message several times.

Threads here each have their own database connection, so the two sides really run in
two PostgreSQL sessions: row locks, SKIP LOCKED and the UNIQUE constraints decide, as
between two worker processes. scripts/reliability_sweep.py does the same at scale with
killed workers and a stopped Redis (CI runs it after the test suite).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.db import connection, connections, transaction
from django.utils import timezone

from outbox import services as outbox_services
from outbox.models import Message
from outbox.services import outbox_deliver, outbox_relay
from slas.escalations import sla_event_handle
from slas.models import EscalationAction, EscalationRule, SlaClock, SlaEvent, SlaSchedule
from slas.services import ROUND_THE_CLOCK, sla_clock_schedule, sla_clocks_create
from slas.sweep import sla_sweep
from tests.factories import RequestTypeFactory, UserFactory, lead_of
from tests.integration import test_worker
from tickets.models import Comment, Department, Ticket, TicketEvent
from tickets.services import ticket_transition

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="concurrent sessions, row locks and SKIP LOCKED are PostgreSQL's (SQLite "
        "serialises writers): run with DATABASE_URL=postgres://... (CI's services phase does)",
    ),
    pytest.mark.django_db(transaction=True),
]

TARGET = 600  # seconds: warning at 300 s (50 %), breach at 600 s
NOTE = "Breached: look at it now."
Kind = EscalationAction.Kind
Target = EscalationAction.Target


def run_together(*calls: Callable[[], Any], timeout: float = 120) -> list[Any]:
    """Run each call in its own thread (its own database session), all released at once;
    returns their results in order, or raises the first error."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)
    errors: list[BaseException] = []

    def run(index: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = call()
        except BaseException as error:  # reported by the test thread below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not any(thread.is_alive() for thread in threads), "a thread did not finish"
    if errors:
        raise errors[0]
    return results


@pytest.fixture
def no_delivery_tasks(monkeypatch):
    """The broker 'loses' every delivery task: outbox rows wait to be delivered by hand (or
    by the relay), so the test decides who delivers what, and when."""
    monkeypatch.setattr(outbox_services, "_schedule_delivery_unsafe", lambda *ids, **options: None)


@pytest.fixture
def desk(db):
    """A department working round the clock, with a lead, two rules (warning at 50 %:
    email the lead; breach: an internal note), and a requester."""
    department = Department.objects.create(name="IT", code="IT")
    lead = lead_of(department, username="lena")
    warning = EscalationRule.objects.create(
        department=department, name="Warn", trigger="warning", warning_percent=50
    )
    EscalationAction.objects.create(
        rule=warning, kind=Kind.NOTIFY, target=Target.PERSON, person=lead
    )
    breach = EscalationRule.objects.create(
        department=department, name="Note", trigger="breach", level=2
    )
    EscalationAction.objects.create(rule=breach, kind=Kind.INTERNAL_NOTE, text=NOTE)
    return {
        "department": department,
        "request_type": RequestTypeFactory(department=department, name="Hardware"),
        "requester": UserFactory(username="rita"),
        "lead": lead,
    }


def due_clocks(desk, count: int, *, overdue: timedelta = timedelta(hours=1)) -> list[SlaClock]:
    """`count` open tickets whose first-response clock passed its 50 % warning and its
    breach `overdue` ago or earlier: two events each are due now."""
    now = timezone.now()
    tickets = Ticket.objects.bulk_create(
        Ticket(
            reference=f"IT-{n}",
            department=desk["department"],
            request_type=desk["request_type"],
            requester=desk["requester"],
            created_by=desk["requester"],
            title=f"Ticket {n}",
            description="Broken.",
            description_html="<p>Broken.</p>",
            status=Ticket.Status.OPEN,
        )
        for n in range(1, count + 1)
    )
    clocks = []
    for n, ticket in enumerate(tickets):
        started = now - overdue - timedelta(seconds=TARGET + n)
        sla_clock = SlaClock(
            ticket=ticket,
            department=desk["department"],
            kind=SlaClock.Kind.FIRST_RESPONSE,
            target_seconds=TARGET,
            warning_percents=[50],
            started_at=started,
            running_since=started,
            due_at=started + timedelta(seconds=TARGET),
        )
        sla_clock_schedule(sla_clock=sla_clock, calendar=ROUND_THE_CLOCK)
        clocks.append(sla_clock)
    return sla_clocks_create(clocks)


def expected_events(clocks: list[SlaClock]) -> Counter:
    expected: Counter = Counter()
    for clock in clocks:
        assert clock.running_since is not None
        expected[(clock.pk, "warning", clock.running_since + timedelta(seconds=TARGET // 2))] += 1
        expected[(clock.pk, "breach", clock.running_since + timedelta(seconds=TARGET))] += 1
    return expected


def recorded_events() -> Counter:
    return Counter(SlaEvent.objects.values_list("clock_id", "kind", "instant"))


def escalated_event_ids() -> list[int]:
    """The events named by the escalation messages, one entry per mention (a message
    carries a chunk of events)."""
    return [
        event_id
        for payload in Message.objects.filter(topic=Message.Topic.ESCALATION).values_list(
            "payload", flat=True
        )
        for event_id in payload["event_ids"]
    ]


def assert_actions_ran_once(desk, clocks: list[SlaClock]) -> None:
    """Per ticket: one audit record per rule, one internal note, one email to the lead."""
    tickets = {clock.ticket_id for clock in clocks}
    audit = Counter(
        TicketEvent.objects.filter(action=TicketEvent.Action.ESCALATED).values_list(
            "ticket_id", "new_value"
        )
    )
    assert audit == Counter(
        {(t, "Level 1: Warn"): 1 for t in tickets} | {(t, "Level 2: Note"): 1 for t in tickets}
    )
    notes = Counter(
        Comment.objects.filter(author=None, is_internal=True).values_list("ticket_id", "body")
    )
    assert notes == Counter({(t, NOTE): 1 for t in tickets})
    emails = Counter(
        (payload["to"], payload["headers"]["X-Servicedesk-Ticket"])
        for payload in Message.objects.filter(topic=Message.Topic.TICKET_EMAIL).values_list(
            "payload", flat=True
        )
    )
    references = Ticket.objects.filter(pk__in=tickets).values_list("reference", flat=True)
    assert emails == Counter({(desk["lead"].email, ref): 1 for ref in references})
    assert not SlaEvent.objects.filter(handled_at=None).exists()


def test_two_sweeps_at_once_record_each_event_once(desk, no_delivery_tasks):
    clocks = due_clocks(desk, 1_500)
    now = timezone.now()

    # Small batches, so the two sweeps interleave for many rounds.
    first, second = run_together(
        lambda: sla_sweep(now=now, batch_size=40), lambda: sla_sweep(now=now, batch_size=40)
    )

    assert first.claimed > 0 and second.claimed > 0, "both sweeps must have done part of it"
    assert first.claimed + second.claimed == len(clocks)  # SKIP LOCKED: nobody claimed twice
    assert first.recorded + second.recorded == 2 * len(clocks)
    recorded = recorded_events()
    assert recorded == expected_events(clocks)  # none missed, none extra
    assert max(recorded.values()) == 1  # no duplicates
    # Every event in exactly one escalation message.
    assert sorted(escalated_event_ids()) == sorted(SlaEvent.objects.values_list("pk", flat=True))
    assert not SlaClock.objects.filter(schedule__next_check_at__isnull=False).exists()
    # A third sweep (a duplicated message arriving late) finds nothing to do.
    assert sla_sweep(now=timezone.now()).recorded == 0
    assert SlaEvent.objects.count() == 2 * len(clocks)


def test_a_sweep_of_rows_another_sweep_already_advanced_records_nothing(desk, no_delivery_tasks):
    """A sweep that read the clocks before another sweep committed (a stale `now`, the
    same message twice) cannot record an event twice: the rows it claims are re-checked
    under the lock, and the UNIQUE constraint ignores what was recorded."""
    clocks = due_clocks(desk, 300)
    now = timezone.now()
    results = run_together(*(lambda: sla_sweep(now=now, batch_size=25) for _ in range(4)))
    assert sum(r.recorded for r in results) == 2 * len(clocks)
    assert recorded_events() == expected_events(clocks)
    assert sorted(escalated_event_ids()) == sorted(SlaEvent.objects.values_list("pk", flat=True))
    assert len(escalated_event_ids()) == 2 * len(clocks)


def test_a_clock_a_service_holds_is_left_for_the_next_sweep(desk, no_delivery_tasks):
    """A service changing a clock locks the clock and its schedule row; the sweep locks
    only schedule rows, skips the ones held, and never writes a clock row (a breach is
    marked on the schedule row). The held clock is left as it was, events and all, for
    the next sweep; the other one is swept at once."""
    held, free = due_clocks(desk, 2)
    held_check = held.next_check_at
    locked, release = threading.Event(), threading.Event()

    def hold() -> None:
        try:
            with transaction.atomic():
                list(
                    SlaClock.objects.select_for_update(of=("self", "schedule"))
                    .filter(pk=held.pk, schedule__isnull=False)
                    .select_related("schedule")
                )
                locked.set()
                release.wait(60)
        finally:
            connections.close_all()

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        assert locked.wait(30)
        first = sla_sweep(now=timezone.now())
    finally:
        release.set()
        thread.join(60)

    assert (first.claimed, first.recorded) == (1, 2)
    assert set(SlaEvent.objects.values_list("clock_id", flat=True)) == {free.pk}
    assert SlaSchedule.objects.get(pk=held.pk).next_check_at == held_check
    second = sla_sweep(now=timezone.now())
    assert (second.claimed, second.recorded) == (1, 2)
    assert recorded_events() == expected_events([held, free])
    assert set(SlaSchedule.objects.values_list("breached", flat=True)) == {True}
    assert set(SlaClock.objects.values_list("breached_at", flat=True)) == {None}  # running


def test_a_sweep_and_a_service_pausing_the_same_clocks_record_each_event_once(
    desk, no_delivery_tasks
):
    """The service locks clock and schedule rows, records what came due and pauses; the
    sweep skips what the service holds and the service waits for what the sweep holds:
    no deadlock, and each event once, whoever recorded it."""
    clocks = due_clocks(desk, 120)
    tickets = list(Ticket.objects.filter(sla_clocks__in=clocks).order_by("pk"))
    now = timezone.now()

    def pause_all() -> None:
        for ticket in tickets:
            ticket_transition(
                ticket=ticket, actor=desk["lead"], to_status=Ticket.Status.WAITING, now=now
            )

    run_together(lambda: sla_sweep(now=now, batch_size=20), pause_all)
    sla_sweep(now=now)

    recorded = recorded_events()
    assert recorded == expected_events(clocks)
    assert max(recorded.values()) == 1
    assert not SlaSchedule.objects.filter(next_check_at__isnull=False).exists()
    assert set(SlaClock.objects.values_list("state", flat=True)) == {SlaClock.State.PAUSED}


def test_the_same_escalation_delivered_twice_at_once_runs_its_actions_once(desk, no_delivery_tasks):
    clocks = due_clocks(desk, 30)
    sla_sweep(now=timezone.now())
    message_ids = list(
        Message.objects.filter(topic=Message.Topic.ESCALATION)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    # Each event in exactly one message (chunks of events), every event in one.
    assert sorted(escalated_event_ids()) == sorted(SlaEvent.objects.values_list("pk", flat=True))
    assert len(escalated_event_ids()) == 2 * len(clocks)
    assert 1 < len(message_ids) < 2 * len(clocks)

    def deliver_all() -> int:
        return sum(outbox_deliver(message_id=pk, now=timezone.now()) for pk in message_ids)

    # Two workers given the same messages, in the same order, at the same moment.
    sent = run_together(deliver_all, deliver_all)
    assert sum(sent) == len(message_ids)  # each message claimed by one of them
    assert not Message.objects.filter(topic=Message.Topic.ESCALATION, delivered_at=None).exists()
    assert_actions_ran_once(desk, clocks)

    # A worker killed after the actions committed, before it recorded the delivery: the
    # claim runs out, the relay delivers the messages again. Nothing runs a second time.
    Message.objects.filter(pk__in=message_ids).update(delivered_at=None, claimed_until=None)
    redelivered = outbox_relay(now=timezone.now())
    assert redelivered == len(message_ids) + len(clocks)  # and the emails, sent for once
    assert_actions_ran_once(desk, clocks)
    assert len(mail.outbox) == len(clocks)


def test_the_same_event_handled_twice_at_once_runs_its_actions_once(desk, no_delivery_tasks):
    clocks = due_clocks(desk, 30)
    sla_sweep(now=timezone.now())
    event_ids = list(SlaEvent.objects.order_by("pk").values_list("pk", flat=True))

    def handle_all() -> list[bool]:
        return [sla_event_handle(event_id=pk, now=timezone.now()) for pk in event_ids]

    first, second = run_together(handle_all, handle_all)
    # Exactly one of the two ran each event; the other found it handled.
    assert [a + b for a, b in zip(first, second, strict=True)] == [1] * len(event_ids)
    assert_actions_ran_once(desk, clocks)


def test_two_relays_and_a_delivery_task_at_once_send_each_message_once(desk, no_delivery_tasks):
    clocks = due_clocks(desk, 30)
    sla_sweep(now=timezone.now())
    ids = list(Message.objects.order_by("pk").values_list("pk", flat=True))

    def one_task() -> int:
        return sum(outbox_deliver(message_id=pk, now=timezone.now()) for pk in reversed(ids))

    def relay_until_empty() -> int:
        # The relay delivers the escalations, then the emails the escalations wrote.
        sent = 0
        for _ in range(10):
            sent += outbox_relay(now=timezone.now())
        return sent

    run_together(relay_until_empty, relay_until_empty, one_task)
    outbox_relay(now=timezone.now())  # emails written after the relays' last round
    assert not Message.objects.filter(delivered_at=None).exists()
    assert len(mail.outbox) == len(clocks)
    assert set(Message.objects.values_list("attempts", flat=True)) == {1}
    assert_actions_ran_once(desk, clocks)


# --- Real worker processes ------------------------------------------------------------


@pytest.mark.worker
def test_real_workers_given_the_same_sweep_three_times_act_once(desk, start_worker, mail_dir):
    """Two worker processes, three copies of the sweep message at once (a duplicated
    message, a late one, beat restarted): every event recorded once, every action once,
    every email written once."""
    from slas.tasks import sla_sweep_task

    clocks = due_clocks(desk, 100)
    start_worker()
    start_worker()
    for _ in range(3):
        sla_sweep_task.delay()

    def done() -> bool:
        return (
            SlaEvent.objects.count() >= 2 * len(clocks)
            and not SlaEvent.objects.filter(handled_at=None).exists()
            and not Message.objects.filter(delivered_at=None).exists()
        )

    test_worker.wait_for(
        done, timeout=120, what="the workers to sweep and escalate", log=start_worker.log_path
    )
    assert recorded_events() == expected_events(clocks)
    assert_actions_ran_once(desk, clocks)
    sent = test_worker.sent_messages(mail_dir)
    assert len(sent) == len(clocks), f"{len(sent)} emails written for {len(clocks)} warnings"


# The worker fixtures of test_worker.py: a real `celery worker` on this test's database.
child_env = test_worker.child_env
mail_dir = test_worker.mail_dir
start_worker = test_worker.start_worker

"""Escalation rules: each trigger and action, narrowing, levels, and exactly-once runs.

The department works round the clock (no calendar), so business time is wall time and
every instant below is plain arithmetic from T0. Rules run the way production runs them:
the sweep records the event and writes an outbox row; the outbox delivers it to the
escalation handler, which calls the ticket services.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.core import mail

from outbox.models import Message
from outbox.services import outbox_deliver, outbox_relay
from slas.escalations import escalation_deliver, sla_event_handle
from slas.models import EscalationAction, EscalationRule, SlaEvent, SlaSchedule
from slas.sweep import sla_sweep
from tests.factories import RequestTypeFactory, UserFactory, agent_of
from tickets import services
from tickets.models import Comment, Department, Priority, Ticket, TicketEvent

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)
Trigger = EscalationRule.Trigger
Do = EscalationAction.Kind
To = EscalationAction.Target


def file_ticket(request_type, requester, *, priority=None, now=T0) -> Ticket:
    with time_machine.travel(now, tick=False):
        return services.ticket_create(
            created_by=requester,
            request_type=request_type,
            title="The printer is on fire",
            description="Smoke everywhere.",
            priority=priority,
            now=now,
        )


def rule(department: Department, trigger: str, *actions: dict[str, Any], **fields: Any):
    made = EscalationRule.objects.create(
        department=department, name=fields.pop("name", f"{trigger} rule"), trigger=trigger, **fields
    )
    for position, action in enumerate(actions):
        EscalationAction.objects.create(rule=made, position=position, **action)
    return made


def sweep_at(now: datetime) -> None:
    """What beat and the workers do at `now`: sweep, then deliver the outbox (escalation
    actions first; the emails and chat posts they write go out on the next round)."""
    with time_machine.travel(now, tick=False):
        sla_sweep(now=now)
        for _ in range(3):
            outbox_relay(now=now)


def escalations(ticket: Ticket) -> list[str]:
    return list(
        TicketEvent.objects.filter(ticket=ticket, action=TicketEvent.Action.ESCALATED)
        .order_by("id")
        .values_list("new_value", flat=True)
    )


def mailed_to(ticket: Ticket) -> list[str]:
    return sorted(
        address
        for message in mail.outbox
        if "Escalation" in message.body and ticket.reference in message.subject
        for address in message.to
    )


@pytest.fixture
def policy(it, make_policy):
    return make_policy(it, warning_percents="50, 75")  # first response 1 h, resolution 8 h


@pytest.fixture
def assigned(policy, it_type, requester, it_agent):
    ticket = file_ticket(it_type, requester)
    with time_machine.travel(T0, tick=False):
        services.ticket_assign(ticket=ticket, actor=it_agent, assignee=it_agent, now=T0)
    mail.outbox.clear()
    return Ticket.objects.get(pk=ticket.pk)


# --- Triggers -------------------------------------------------------------------------


def test_warning_rule_fires_at_its_threshold_only(it, assigned, it_agent):
    rule(it, Trigger.WARNING, {"kind": Do.NOTIFY, "target": To.ASSIGNEE}, warning_percent=75)
    sweep_at(T0 + 30 * MIN)  # 50 % of the first response: recorded, but no rule for it
    assert escalations(assigned) == []
    assert SlaEvent.objects.get(ticket=assigned, threshold=50).outcome == (
        "No escalation rule applies."
    )
    sweep_at(T0 + 45 * MIN)
    assert escalations(assigned) == ["Level 1: warning rule"]
    assert mailed_to(assigned) == [it_agent.email]


def test_warning_rule_without_threshold_fires_at_each(it, assigned, it_agent):
    rule(it, Trigger.WARNING, {"kind": Do.NOTIFY, "target": To.ASSIGNEE})
    sweep_at(T0 + 50 * MIN)
    assert escalations(assigned) == ["Level 1: warning rule", "Level 1: warning rule"]
    assert mailed_to(assigned) == [it_agent.email, it_agent.email]


def test_breach_rule_fires_once_when_the_target_runs_out(it, assigned, it_lead):
    rule(it, Trigger.BREACH, {"kind": Do.NOTIFY, "target": To.LEADS}, clock_kind="first_response")
    sweep_at(T0 + 59 * MIN)
    assert escalations(assigned) == []
    sweep_at(T0 + 60 * MIN)
    sweep_at(T0 + 61 * MIN)
    assert escalations(assigned) == ["Level 1: breach rule"]
    assert mailed_to(assigned) == [it_lead.email]
    event = SlaEvent.objects.get(ticket=assigned, kind=SlaEvent.Kind.BREACH)
    assert event.instant == T0 + 60 * MIN
    assert "notified the department's lead(s) (1): 1 email" in event.outcome


def test_rule_for_another_target_does_not_fire(it, assigned):
    rule(it, Trigger.BREACH, {"kind": Do.RAISE_PRIORITY}, clock_kind="resolution")
    sweep_at(T0 + 2 * 60 * MIN)  # first response breached; resolution (8 h) not yet
    assert escalations(assigned) == []
    assert Ticket.objects.get(pk=assigned.pk).priority == Priority.NORMAL


def test_met_target_is_never_escalated(it, assigned, it_agent):
    rule(it, Trigger.BREACH, {"kind": Do.RAISE_PRIORITY}, clock_kind="first_response")
    with time_machine.travel(T0 + 10 * MIN, tick=False):
        services.comment_add(ticket=assigned, author=it_agent, body="On it.", now=T0 + 10 * MIN)
    sweep_at(T0 + 3 * 60 * MIN)
    assert escalations(assigned) == []


def test_paused_clock_is_not_escalated_and_resumes_where_it_stopped(
    it, assigned, it_agent, requester
):
    rule(it, Trigger.BREACH, {"kind": Do.RAISE_PRIORITY}, clock_kind="first_response")
    sweep_at(T0 + 30 * MIN)  # the 50 % warning of the first response
    with time_machine.travel(T0 + 40 * MIN, tick=False):
        services.ticket_transition(
            ticket=assigned, actor=it_agent, to_status=Ticket.Status.WAITING, now=T0 + 40 * MIN
        )
    sweep_at(T0 + 5 * 60 * MIN)
    assert escalations(assigned) == []
    with time_machine.travel(T0 + 6 * 60 * MIN, tick=False):
        services.comment_add(
            ticket=assigned, author=requester, body="Here it is.", now=T0 + 6 * 60 * MIN
        )
    sweep_at(T0 + 6 * 60 * MIN + 19 * MIN)  # 40 + 19 = 59 minutes used
    assert escalations(assigned) == []
    sweep_at(T0 + 6 * 60 * MIN + 20 * MIN)
    assert escalations(assigned) == ["Level 1: breach rule"]
    # The 50 % warning (passed before the pause) was recorded once, never again; the 75 %
    # one fell due while paused (at 45 minutes used) and was recorded after the resume.
    first_response = SlaEvent.objects.filter(ticket=assigned, clock__kind="first_response")
    assert [(e.threshold, e.instant) for e in first_response] == [
        (50, T0 + 30 * MIN),
        (75, T0 + 6 * 60 * MIN + 5 * MIN),
        (100, T0 + 6 * 60 * MIN + 20 * MIN),
    ]


def test_event_for_a_ticket_resolved_before_the_rule_ran_does_nothing(it, assigned, it_agent):
    rule(it, Trigger.BREACH, {"kind": Do.RAISE_PRIORITY}, clock_kind="first_response")
    with time_machine.travel(T0 + 61 * MIN, tick=False):
        sla_sweep(now=T0 + 61 * MIN)  # recorded; the worker has not run it yet
        services.ticket_transition(
            ticket=assigned, actor=it_agent, to_status=Ticket.Status.RESOLVED, now=T0 + 61 * MIN
        )
        outbox_relay(now=T0 + 61 * MIN)
    event = SlaEvent.objects.get(ticket=assigned, kind=SlaEvent.Kind.BREACH)
    assert event.handled_at is not None
    assert event.outcome == "Not escalated: the ticket was resolved by then."
    assert Ticket.objects.get(pk=assigned.pk).priority == Priority.NORMAL


# --- Narrowing ------------------------------------------------------------------------


def test_rules_narrowed_to_request_type_priority_and_requesting_department(
    it, hr, policy, it_type, requester
):
    other_type = RequestTypeFactory(department=it, name="Software")
    narrowed = rule(
        it, Trigger.BREACH, {"kind": Do.RAISE_PRIORITY}, clock_kind="first_response",
        priorities=[Priority.HIGH],
    )  # fmt: skip
    narrowed.request_types.set([it_type])
    narrowed.requesting_departments.set([requester.home_department])
    hr_person = UserFactory(username="harry", home_department=hr)
    matching = file_ticket(it_type, requester, priority=Priority.HIGH)
    wrong_priority = file_ticket(it_type, requester, priority=Priority.LOW)
    wrong_type = file_ticket(other_type, requester, priority=Priority.HIGH)
    wrong_department = file_ticket(it_type, hr_person, priority=Priority.HIGH)
    sweep_at(T0 + 61 * MIN)
    assert escalations(matching) == ["Level 1: breach rule"]
    assert Ticket.objects.get(pk=matching.pk).priority == Priority.URGENT
    for ticket in (wrong_priority, wrong_type, wrong_department):
        assert escalations(ticket) == [], ticket.title


def test_inactive_rules_do_not_fire(it, assigned):
    rule(it, Trigger.BREACH, {"kind": Do.RAISE_PRIORITY}, is_active=False)
    sweep_at(T0 + 61 * MIN)
    assert escalations(assigned) == []


# --- Levels ---------------------------------------------------------------------------


def test_rules_fired_by_one_event_run_in_level_order(it, assigned, it_lead):
    rule(
        it, Trigger.BREACH, {"kind": Do.REASSIGN, "target": To.LEADS},
        name="Give it to the lead", level=2, clock_kind="first_response",
    )  # fmt: skip
    rule(
        it, Trigger.BREACH, {"kind": Do.INTERNAL_NOTE, "text": "Breached: look now."},
        name="Note", level=1, clock_kind="first_response",
    )  # fmt: skip
    sweep_at(T0 + 61 * MIN)
    assert escalations(assigned) == ["Level 1: Note", "Level 2: Give it to the lead"]
    event = SlaEvent.objects.get(ticket=assigned, kind=SlaEvent.Kind.BREACH)
    assert event.outcome.splitlines() == [
        "Level 1 “Note”:",
        "  Post an internal note: posted",
        "Level 2 “Give it to the lead”:",
        f"  Reassign the department's lead(s): assigned to {it_lead}",
    ]
    assert Ticket.objects.get(pk=assigned.pk).assignee == it_lead


# --- Actions --------------------------------------------------------------------------


def test_notify_sends_one_email_per_person_across_targets(it, assigned, it_agent, it_lead):
    watcher = UserFactory(username="wanda")
    rule(
        it, Trigger.BREACH,
        {"kind": Do.NOTIFY, "target": To.ASSIGNEE},
        {"kind": Do.NOTIFY, "target": To.LEADS, "text": "Please look at this today."},
        {"kind": Do.NOTIFY, "target": To.PERSON, "person": it_lead},
        {"kind": Do.NOTIFY, "target": To.REQUESTER},
        {"kind": Do.ADD_WATCHER, "person": watcher},
        clock_kind="first_response",
    )  # fmt: skip
    sweep_at(T0 + 61 * MIN)
    assert mailed_to(assigned) == sorted([it_agent.email, it_lead.email, "rita@example.com"])
    lead_mail = next(m for m in mail.outbox if it_lead.email in m.to and "Escalation" in m.body)
    assert "Please look at this today." in lead_mail.body
    assert "First response target breached" in lead_mail.body
    assert Ticket.objects.get(pk=assigned.pk).watchers.filter(pk=watcher.pk).exists()


def test_notify_requesters_manager_makes_them_a_watcher(it, assigned, requester):
    manager = UserFactory(username="max")
    requester.manager = manager
    requester.save()
    rule(
        it, Trigger.BREACH, {"kind": Do.NOTIFY, "target": To.REQUESTER_MANAGER},
        clock_kind="first_response",
    )  # fmt: skip
    sweep_at(T0 + 61 * MIN)
    assert mailed_to(assigned) == [manager.email]
    assert Ticket.objects.get(pk=assigned.pk).watchers.filter(pk=manager.pk).exists()


def test_notify_requesters_manager_never_opens_a_confidential_request(
    it, policy, it_confidential_type, requester
):
    manager = UserFactory(username="max")
    requester.manager = manager
    requester.save()
    ticket = file_ticket(it_confidential_type, requester)
    rule(
        it, Trigger.BREACH, {"kind": Do.NOTIFY, "target": To.REQUESTER_MANAGER},
        clock_kind="first_response",
    )  # fmt: skip
    sweep_at(T0 + 61 * MIN)
    assert mailed_to(ticket) == []
    assert not ticket.watchers.exists()


def test_reassign_to_a_named_agent_and_back_to_automatic_assignment(it, assigned, it_agent):
    other = agent_of(it, username="oscar")
    rule(
        it, Trigger.WARNING, {"kind": Do.REASSIGN, "target": To.PERSON, "person": other},
        warning_percent=50, clock_kind="first_response",
    )  # fmt: skip
    rule(
        it, Trigger.BREACH, {"kind": Do.REASSIGN, "target": To.AUTOMATIC},
        clock_kind="first_response",
    )  # fmt: skip
    sweep_at(T0 + 30 * MIN)
    assert Ticket.objects.get(pk=assigned.pk).assignee == other
    sweep_at(T0 + 61 * MIN)  # the department assigns by hand: back to the queue
    assert Ticket.objects.get(pk=assigned.pk).assignee is None
    events = TicketEvent.objects.filter(ticket=assigned, action=TicketEvent.Action.ASSIGNED)
    assert [(e.actor, e.new_value) for e in events.order_by("id")][-2:] == [
        (None, str(other)),
        (None, ""),
    ]


def test_reassign_to_someone_who_left_the_department_is_reported_not_done(it, assigned):
    outsider = UserFactory(username="olga")
    rule(
        it, Trigger.BREACH,
        {"kind": Do.REASSIGN, "target": To.PERSON, "person": outsider},
        {"kind": Do.RAISE_PRIORITY},
        clock_kind="first_response",
    )  # fmt: skip
    sweep_at(T0 + 61 * MIN)
    event = SlaEvent.objects.get(ticket=assigned, kind=SlaEvent.Kind.BREACH)
    assert "not done: Olga is not an agent of" in event.outcome
    assert Ticket.objects.get(pk=assigned.pk).priority == Priority.HIGH  # the rest still ran


def test_raise_priority_stops_at_urgent(it, policy, it_type, requester):
    ticket = file_ticket(it_type, requester, priority=Priority.URGENT)
    rule(it, Trigger.WARNING, {"kind": Do.RAISE_PRIORITY}, clock_kind="first_response")
    sweep_at(T0 + 61 * MIN)
    assert Ticket.objects.get(pk=ticket.pk).priority == Priority.URGENT
    assert "already urgent" in SlaEvent.objects.filter(ticket=ticket).first().outcome


def test_raising_the_priority_retargets_and_a_passed_instant_fires_late(
    it, make_policy, it_type, requester
):
    make_policy(it, warning_percents="")  # normal: first response 1 h
    make_policy(
        it, name="High", priority=Priority.HIGH, first_response_minutes=20, warning_percents=""
    )
    ticket = file_ticket(it_type, requester)
    rule(it, Trigger.WARNING, {"kind": Do.RAISE_PRIORITY}, clock_kind="first_response")
    rule(it, Trigger.BREACH, {"kind": Do.INTERNAL_NOTE, "text": "Late!"}, clock_kind="")
    sweep_at(T0 + 30 * MIN)  # no warning thresholds: nothing yet
    assert escalations(ticket) == []
    with time_machine.travel(T0 + 30 * MIN, tick=False):
        services.ticket_set_priority(
            ticket=ticket, actor=agent_of(it), priority=Priority.HIGH, now=T0 + 30 * MIN
        )
    sweep_at(T0 + 31 * MIN)  # 20 minutes were up at T0 + 20: recorded at the next sweep
    event = SlaEvent.objects.get(ticket=ticket, kind=SlaEvent.Kind.BREACH)
    assert event.instant == T0 + 20 * MIN
    assert escalations(ticket) == ["Level 1: breach rule"]


def test_internal_note_is_posted_by_the_service_desk_and_hidden_from_the_requester(
    it, assigned, requester, client
):
    rule(
        it, Trigger.BREACH, {"kind": Do.INTERNAL_NOTE, "text": "SLA breached: **call them**."},
        clock_kind="first_response",
    )  # fmt: skip
    sweep_at(T0 + 61 * MIN)
    note = Comment.objects.get(ticket=assigned)
    assert (note.author, note.is_internal) == (None, True)
    assert "<strong>call them</strong>" in note.body_html
    client.force_login(requester)
    page = client.get(f"/tickets/{assigned.reference}/")
    assert page.status_code == 200
    assert "call them" not in page.content.decode()


# --- Exactly once ---------------------------------------------------------------------


def test_an_event_delivered_twice_runs_its_actions_once(it, assigned):
    rule(
        it, Trigger.BREACH,
        {"kind": Do.RAISE_PRIORITY},
        {"kind": Do.INTERNAL_NOTE, "text": "Once."},
        clock_kind="first_response",
    )  # fmt: skip
    with time_machine.travel(T0 + 61 * MIN, tick=False):
        sla_sweep(now=T0 + 61 * MIN)
        event = SlaEvent.objects.get(ticket=assigned, kind=SlaEvent.Kind.BREACH)
        assert sla_event_handle(event_id=event.pk, now=T0 + 61 * MIN) is True
        # The outbox message is still pending (the worker died before marking it): it
        # is delivered again, and the handler finds the event handled.
        message = Message.objects.get(topic=Message.Topic.ESCALATION)
        assert outbox_deliver(message_id=message.pk, now=T0 + 61 * MIN) is True
        assert sla_event_handle(event_id=event.pk, now=T0 + 62 * MIN) is False
    assert Ticket.objects.get(pk=assigned.pk).priority == Priority.HIGH
    assert Comment.objects.filter(ticket=assigned).count() == 1
    assert escalations(assigned) == ["Level 1: breach rule"]


def test_a_message_of_several_events_runs_each_event_once(it, assigned, it_type, requester):
    """The sweep writes {"event_ids": [...]}, several events a message; an event handled
    already (a worker died before the message was marked delivered) is skipped."""
    rule(it, Trigger.BREACH, {"kind": Do.RAISE_PRIORITY}, clock_kind="first_response")
    other = file_ticket(it_type, requester)
    with time_machine.travel(T0 + 61 * MIN, tick=False):
        sla_sweep(now=T0 + 61 * MIN)
        message = Message.objects.get(topic=Message.Topic.ESCALATION)
        events = list(
            SlaEvent.objects.filter(kind=SlaEvent.Kind.BREACH, clock__kind="first_response")
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        assert message.payload == {"event_ids": events} and len(events) == 2
        assert sla_event_handle(event_id=events[0], now=T0 + 61 * MIN) is True
        escalation_deliver(message.payload)  # the first is skipped: handled
        escalation_deliver(message.payload)
    for ticket in (assigned, other):
        assert Ticket.objects.get(pk=ticket.pk).priority == Priority.HIGH
        assert escalations(ticket) == ["Level 1: breach rule"]


def test_a_sweep_repeated_from_a_stale_schedule_records_nothing_twice(it, assigned):
    rule(it, Trigger.BREACH, {"kind": Do.RAISE_PRIORITY}, clock_kind="first_response")
    sweep_at(T0 + 61 * MIN)
    # A service that read the clock before the sweep wrote it back: the breach is due again.
    stale = assigned.sla_clocks.filter(kind="first_response")
    stale.update(breached_at=None)
    SlaSchedule.objects.filter(clock__in=stale).update(
        next_check_at=T0 + 60 * MIN, warned_percent=0, breached=False
    )
    sweep_at(T0 + 62 * MIN)
    assert SlaEvent.objects.filter(ticket=assigned, clock__kind="first_response").count() == 3
    assert escalations(assigned) == ["Level 1: breach rule"]
    assert Ticket.objects.get(pk=assigned.pk).priority == Priority.HIGH
    assert Message.objects.filter(topic=Message.Topic.ESCALATION).count() == 1


def test_a_breach_the_sweep_had_not_seen_is_recorded_by_the_late_reply(
    it, assigned, it_agent, it_lead
):
    rule(it, Trigger.BREACH, {"kind": Do.NOTIFY, "target": To.LEADS}, clock_kind="first_response")
    late = T0 + 60 * MIN + 5 * MIN  # the workers were down since before the breach
    with time_machine.travel(late, tick=False):
        services.comment_add(ticket=assigned, author=it_agent, body="Sorry, here.", now=late)
    first_response = SlaEvent.objects.filter(ticket=assigned, clock__kind="first_response")
    assert [(e.kind, e.threshold, e.instant, e.recorded_at) for e in first_response] == [
        (SlaEvent.Kind.WARNING, 50, T0 + 30 * MIN, late),
        (SlaEvent.Kind.WARNING, 75, T0 + 45 * MIN, late),
        (SlaEvent.Kind.BREACH, 100, T0 + 60 * MIN, late),
    ]
    sweep_at(late + MIN)  # the workers are back: the rule runs once, nothing is repeated
    assert escalations(assigned) == ["Level 1: breach rule"]
    assert mailed_to(assigned) == [it_lead.email]
    assert first_response.count() == 3


def test_a_warning_just_before_a_pause_is_recorded_not_acted_on(it, assigned, it_agent):
    rule(it, Trigger.WARNING, {"kind": Do.INTERNAL_NOTE, "text": "Half way."}, warning_percent=50)
    with time_machine.travel(T0 + 31 * MIN, tick=False):
        services.ticket_transition(
            ticket=assigned, actor=it_agent, to_status=Ticket.Status.WAITING, now=T0 + 31 * MIN
        )
    sweep_at(T0 + 32 * MIN)
    event = SlaEvent.objects.get(ticket=assigned, kind=SlaEvent.Kind.WARNING)
    assert (event.threshold, event.instant) == (50, T0 + 30 * MIN)
    # Recorded, and its rule ran; nobody is hurried along while the requester has the ball.
    assert event.outcome == "Not escalated: the target was paused by then."
    assert escalations(assigned) == []


def test_a_warning_already_recorded_is_not_repeated_after_the_target_changes(
    it, make_policy, it_type, requester, it_agent
):
    make_policy(it, warning_percents="50, 75")  # normal: first response 1 h
    make_policy(it, name="High", priority=Priority.HIGH, first_response_minutes=120)
    ticket = file_ticket(it_type, requester)
    sweep_at(T0 + 30 * MIN)  # 50 % of 1 h
    with time_machine.travel(T0 + 40 * MIN, tick=False):
        services.ticket_set_priority(
            ticket=ticket, actor=it_agent, priority=Priority.HIGH, now=T0 + 40 * MIN
        )
    # 50 % of the new 2 h target falls at T0 + 60: already warned at 50 %, not again.
    sweep_at(T0 + 70 * MIN)
    sweep_at(T0 + 91 * MIN)
    first_response = SlaEvent.objects.filter(ticket=ticket, clock__kind="first_response")
    assert [(e.threshold, e.instant) for e in first_response] == [
        (50, T0 + 30 * MIN),
        (75, T0 + 90 * MIN),
    ]

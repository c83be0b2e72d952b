"""Running escalation rules: a worker takes an SLA event from the outbox and carries out
each matching rule's actions through the ticket services, exactly once.

Exactly once: the event row is locked and marked handled in the same transaction as the
actions, so a redelivered outbox message (a worker killed after the actions committed,
before the message was marked delivered) finds it handled and does nothing. Each action
runs in a savepoint: one that cannot be done (the named person left the department) is
recorded and the others still run.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from slas.models import EscalationAction, EscalationRule, SlaClock, SlaEvent
from tickets.models import Priority, Ticket, TicketEvent
from tickets.notifications import notify, notify_chat
from tickets.selectors import can_view, department_leads
from tickets.services import (
    TransitionRefused,
    comment_add,
    ticket_add_watcher,
    ticket_assign,
    ticket_assign_automatically,
    ticket_escalation_record,
    ticket_set_priority,
)

Action = EscalationAction.Kind
Target = EscalationAction.Target
ACTION_ERRORS = (ValidationError, PermissionDenied, TransitionRefused)


def escalation_deliver(payload: dict[str, Any]) -> None:
    """Outbox handler for the escalation topic: `{"event_ids": [...]}` (the sweep writes
    one message per chunk of events). Each event is handled in its own transaction, once
    (`sla_event_handle`); if one fails, the message is retried and the events already
    handled are skipped."""
    for event_id in payload["event_ids"]:
        sla_event_handle(event_id=event_id, now=timezone.now())


def describe(event: SlaEvent) -> str:
    """“First response: 75 % of the target used”, “Resolution target breached”, ..."""
    if event.kind == SlaEvent.Kind.NO_UPDATE:
        hours = event.threshold / 3600
        return f"No update for {hours:g} business hour{'s' if hours != 1 else ''}"
    target = SlaClock.Kind(event.clock.kind).label if event.clock else "SLA"
    if event.kind == SlaEvent.Kind.BREACH:
        return f"{target} target breached"
    return f"{target}: {event.threshold} % of the target used"


def sla_event_handle(*, event_id: int, now: datetime) -> bool:
    """Run the rules recorded with the event, once. Returns False if it was handled."""
    with transaction.atomic():
        event = (
            SlaEvent.objects.select_for_update(of=("self",))
            .select_related("clock", "ticket")
            .get(pk=event_id)
        )
        if event.handled_at is not None:
            return False
        outcome = _run_rules(event, now)
        event.handled_at = now
        event.outcome = "\n".join(outcome)
        event.save(update_fields=["handled_at", "outcome"])
    return True


def _run_rules(event: SlaEvent, now: datetime) -> list[str]:
    ticket = event.ticket
    if ticket.is_finished or ticket.status == Ticket.Status.RESOLVED:
        return [f"Not escalated: the ticket was {ticket.get_status_display().lower()} by then."]
    if ticket.department_id != event.department_id:
        return ["Not escalated: the ticket had moved to another department."]
    clock = event.clock
    if event.kind == SlaEvent.Kind.WARNING and clock and clock.state != SlaClock.State.RUNNING:
        return [f"Not escalated: the target was {clock.get_state_display().lower()} by then."]
    rules = EscalationRule.objects.filter(pk__in=event.rule_ids).prefetch_related("actions__person")
    outcome = []
    for rule in sorted(rules, key=lambda r: (r.level, r.pk)):
        outcome.append(f"Level {rule.level} “{rule.name}”:")
        outcome += [f"  {line}" for line in _run_rule(rule, event, now)]
    return outcome or ["No escalation rule applies any more."]


def _run_rule(rule: EscalationRule, event: SlaEvent, now: datetime) -> list[str]:
    ticket = _fresh(event.ticket_id)
    actions = list(rule.actions.all())
    record = ticket_escalation_record(
        ticket=ticket,
        summary=f"Level {rule.level}: {rule.name}",
        details=f"{describe(event)}. " + (", ".join(map(str, actions)) or "No actions."),
        now=now,
    )
    done = [
        f"{action}: {_run_action(action, ticket_id=ticket.pk, now=now)}"
        for action in actions
        if action.kind != Action.NOTIFY
    ]
    notify_actions = [a for a in actions if a.kind == Action.NOTIFY]
    if notify_actions:
        ticket = _fresh(event.ticket_id)
        done.append(_notify(notify_actions, rule=rule, event=event, ticket=ticket, record=record))
    return done or ["(no actions)"]


def _fresh(ticket_id: int) -> Ticket:
    return Ticket.objects.select_related("department", "request_type", "requester", "assignee").get(
        pk=ticket_id
    )


def _run_action(action: EscalationAction, *, ticket_id: int, now: datetime) -> str:
    try:
        with transaction.atomic():
            return _do(action, ticket=_fresh(ticket_id), now=now)
    except ACTION_ERRORS as error:
        messages = error.messages if isinstance(error, ValidationError) else [str(error)]
        return "not done: " + " ".join(messages)


def _do(action: EscalationAction, *, ticket: Ticket, now: datetime) -> str:
    if action.kind == Action.RAISE_PRIORITY:
        if ticket.priority >= Priority.URGENT:
            return "already urgent"
        raised = ticket.priority + 1
        ticket_set_priority(ticket=ticket, actor=None, priority=raised, now=now)
        return f"now {Priority(raised).label}"
    if action.kind == Action.ADD_WATCHER:
        assert action.person is not None
        ticket_add_watcher(ticket=ticket, actor=None, watcher=action.person, now=now)
        return f"{action.person} watches"
    if action.kind == Action.INTERNAL_NOTE:
        comment_add(ticket=ticket, author=None, body=action.text, is_internal=True, now=now)
        return "posted"
    # Reassign
    if action.target == Target.AUTOMATIC:
        ticket = ticket_assign_automatically(ticket=ticket, actor=None, now=now)
        return f"assigned to {ticket.assignee}" if ticket.assignee else "back in the queue"
    assignee = action.person if action.target == Target.PERSON else _lead(ticket)
    if assignee is None:
        return f"not done: {ticket.department.name} has no lead"
    ticket_assign(ticket=ticket, actor=None, assignee=assignee, now=now)
    return f"assigned to {assignee}"


def _lead(ticket: Ticket) -> User | None:
    return department_leads(department_id=ticket.department_id).first()


def _notify(
    actions: list[EscalationAction],
    *,
    rule: EscalationRule,
    event: SlaEvent,
    ticket: Ticket,
    record: TicketEvent,
) -> str:
    """One email per person across the rule's notify actions, and the chat post."""
    people: list[User] = []
    lines = [a.text.strip() for a in actions if a.text.strip()]
    said = []
    for action in actions:
        if action.target == Target.CHAT:
            said.append(_post_to_chat(ticket=ticket, event=event, rule=rule, lines=lines))
            continue
        found = [person for person in _recipients(action, ticket) if person is not None]
        people += found
        said.append(f"{action.target_label} ({len(found) or 'nobody'})")
    headline = f"Escalation level {rule.level} ({rule.name}): {describe(event)}."
    if lines:
        headline += "\n\n" + "\n".join(lines)
    sent = notify(event=record, recipients=people, headline=headline)
    return f"notified {', '.join(said)}: {sent} email{'s' if sent != 1 else ''}"


def _recipients(action: EscalationAction, ticket: Ticket) -> list[User | None]:
    if action.target == Target.ASSIGNEE:
        return [ticket.assignee]
    if action.target == Target.REQUESTER:
        return [ticket.requester]
    if action.target == Target.PERSON:
        return [action.person]
    if action.target == Target.LEADS:
        return list(department_leads(department_id=ticket.department_id))
    # The requester's manager, or the lead(s) of their home department. They can only be
    # emailed about a ticket they can open: they are added as watchers, except on a
    # confidential request type, where they are not told.
    requester = ticket.requester
    managers = [requester.manager] if requester.manager_id else []
    if not managers and requester.home_department_id:
        managers = list(
            department_leads(department_id=requester.home_department_id).exclude(pk=requester.pk)
        )
    for manager in managers:
        if manager is not None and not can_view(user=manager, ticket=ticket):
            if ticket.request_type.is_confidential:
                continue
            ticket_add_watcher(ticket=ticket, actor=None, watcher=manager)
    return list(managers)


def _post_to_chat(
    *, ticket: Ticket, event: SlaEvent, rule: EscalationRule, lines: list[str]
) -> str:
    url = settings.SITE_URL + reverse("ticket_detail", args=[ticket.reference])
    title = (
        f"{ticket.reference} (confidential request)"
        if ticket.request_type.is_confidential
        else f"{ticket.reference} · {ticket.title}"
    )
    posted = notify_chat(
        department=ticket.department,
        text="\n".join(
            [f"Escalation level {rule.level} ({rule.name}): {describe(event)}", title, *lines, url]
        ),
        summary=f"{ticket.reference} escalated",
        dedupe_key=f"sla-event:{event.pk}:rule:{rule.pk}:chat",
    )
    return "chat channel" if posted else "chat channel (none set)"

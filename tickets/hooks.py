"""The one way other apps learn about ticket changes.

Ticket services call `ticket_changed` inside their transaction, after writing the
change. Apps that keep state derived from tickets (SLA clocks, surveys, webhooks)
register a listener in their AppConfig.ready(), so `tickets` never imports them. A
listener runs in the same transaction: if it raises, the whole change rolls back.

Filing also calls `ticket_filing` just before it inserts the new ticket, so an app that
keeps columns on the ticket itself (slas: its SLA deadlines) sets them on the instance
and the row is written once: an UPDATE of the row just inserted changes indexed columns,
so PostgreSQL writes a second version of it with an entry in each of its indexes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from accounts.models import User
    from tickets.models import Ticket


@dataclass(frozen=True)
class TicketChange:
    """What happened to a ticket. `kind` is one of the KIND_* names below."""

    kind: str
    ticket: Ticket
    now: datetime
    actor: User | None = None
    old_status: str = ""
    new_status: str = ""
    old_department_id: int | None = None
    # The audit event written for the change (created, assigned, status changed): a
    # stable identity for what other apps derive from it (a webhook delivery).
    event_id: int | None = None
    details: dict[str, object] = field(default_factory=dict)


CREATED = "created"
STATUS_CHANGED = "status_changed"
AGENT_REPLIED = "agent_replied"  # a public reply by a member; details: comment_id
REQUESTER_REPLIED = "requester_replied"  # the requester's side replied; details: comment_id
PRIORITY_CHANGED = "priority_changed"
TRANSFERRED = "transferred"  # details: old_request_type_id, old_assignee_id
ASSIGNED = "assigned"  # the assignee changed (to someone, or to nobody); details: old_assignee_id

Listener = Callable[[TicketChange], None]
_listeners: list[Listener] = []
FilingListener = Callable[["Ticket", datetime], None]
_filing_listeners: list[FilingListener] = []


def register(listener: Listener) -> None:
    if listener not in _listeners:
        _listeners.append(listener)


def ticket_changed(change: TicketChange) -> None:
    for listener in _listeners:
        listener(change)


def register_filing(listener: FilingListener) -> None:
    if listener not in _filing_listeners:
        _filing_listeners.append(listener)


def ticket_filing(*, ticket: Ticket, now: datetime) -> None:
    """A new ticket, complete but not yet inserted (no id): listeners set the ticket's
    own columns they derive (nothing else: they write their rows on CREATED)."""
    for listener in _filing_listeners:
        listener(ticket, now)

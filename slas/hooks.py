"""The one way other apps learn of newly recorded SLA events (webhooks), so `slas` never
imports them: the same pattern as tickets.hooks.

`record_events` calls `events_recorded` once per batch, inside its transaction, with the
events its INSERT really added (an event recorded twice is reported once). A listener
registered in its AppConfig.ready() must stay cheap when it has nothing to do: the sweep
calls it for every batch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple


class RecordedEvent(NamedTuple):
    id: int
    ticket_id: int
    clock_id: int | None
    department_id: int
    kind: str  # SlaEvent.Kind
    threshold: int
    instant: datetime


@dataclass(frozen=True)
class EventsRecorded:
    """One batch: the INSERT's returned rows (id, ticket_id, clock_id, kind, threshold)
    and the rows it was given. `events()` pairs them; a listener with nothing to do never
    pays for it."""

    inserted: Sequence[Sequence[Any]]
    rows: Sequence[Any]  # slas.events.EventRow
    now: datetime

    def events(self) -> list[RecordedEvent]:
        by_key = {(r.ticket_id, r.clock_id, str(r.kind), r.threshold): r for r in self.rows}
        events = []
        for event_id, ticket_id, clock_id, kind, threshold in self.inserted:
            row = by_key[(ticket_id, clock_id, kind, threshold)]
            events.append(
                RecordedEvent(
                    event_id, ticket_id, clock_id, row.department_id, kind, threshold, row.instant
                )
            )
        return events


Listener = Callable[[EventsRecorded], None]
_listeners: list[Listener] = []


def register(listener: Listener) -> None:
    if listener not in _listeners:
        _listeners.append(listener)


def events_recorded(recorded: EventsRecorded) -> None:
    if not recorded.inserted:
        return
    for listener in _listeners:
        listener(recorded)

"""The one way other apps learn of newly recorded SLA events (webhooks), so `slas` never
imports them: the same pattern as tickets.hooks.

`record_events` and the sweep call `events_recorded` once per batch, inside its
transaction, with the events its INSERT really added (an event recorded twice is reported
once). A listener registered in its AppConfig.ready() must stay cheap when it has
nothing to do: the sweep calls it for every batch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from slas.models import SlaEvent


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
    """One batch: the ids of the events its INSERT really added. `events()` reads them;
    a listener with nothing to do never pays for it (the sweep inserts its events in
    SQL and never holds them in Python)."""

    event_ids: Sequence[int]
    now: datetime

    def events(self) -> list[RecordedEvent]:
        rows = (
            SlaEvent.objects.filter(pk__in=self.event_ids)
            .order_by("pk")
            .values_list(*RecordedEvent._fields)
        )
        return [RecordedEvent(*row) for row in rows]


Listener = Callable[[EventsRecorded], None]
_listeners: list[Listener] = []


def register(listener: Listener) -> None:
    if listener not in _listeners:
        _listeners.append(listener)


def events_recorded(recorded: EventsRecorded) -> None:
    if not recorded.event_ids:
        return
    for listener in _listeners:
        listener(recorded)

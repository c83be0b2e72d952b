"""The small fixed histories the dashboard tests count by hand (fixtures in conftest.py).

IT's tickets (`history`): IT works Monday to Friday 09:00-17:00 in Berlin (UTC+1 until
29 March 2026), first response within 1 business hour, resolution within 8. Everything is
filed and worked through the ticket services at frozen instants. The period is 2-15
March 2026, local.

IT's surveys (`answered`): IT (round the clock, UTC) resolves six of Rita's requests in
2-15 March 2026 and she answers five surveys through the survey services (ANSWERS).
"""

from __future__ import annotations

import zoneinfo
from datetime import UTC, date, datetime

import time_machine

from tickets import services
from tickets.models import Ticket

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
Status = Ticket.Status
FIRST_DAY, LAST_DAY = date(2026, 3, 2), date(2026, 3, 15)
NOW = datetime(2026, 3, 16, 12, 0, tzinfo=BERLIN)  # Monday after the period
MIN, HOUR = 60, 3600
# The period of the spread clocks (the `clocks` fixture): March 2026 but its last day, UTC.
SINCE = datetime(2026, 3, 1, tzinfo=UTC)
UNTIL = datetime(2026, 3, 31, tzinfo=UTC)


def at(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=BERLIN)


class Desk:
    """Files and works IT tickets at given local instants."""

    def __init__(self, request_type, agent):
        self.request_type = request_type
        self.agent = agent

    def file(self, requester, when: datetime) -> Ticket:
        with time_machine.travel(when, tick=False):
            return services.ticket_create(
                created_by=requester,
                request_type=self.request_type,
                title="Laptop",
                description="Help.",
                now=when,
            )

    def reply(self, ticket: Ticket, when: datetime) -> Ticket:
        with time_machine.travel(when, tick=False):
            services.comment_add(ticket=ticket, author=self.agent, body="On it.", now=when)
        return Ticket.objects.get(pk=ticket.pk)

    def move(self, ticket: Ticket, status: str, when: datetime, actor=None) -> Ticket:
        with time_machine.travel(when, tick=False):
            return services.ticket_transition(
                ticket=ticket, actor=actor or self.agent, to_status=status, now=when
            )

    def work(self, requester, filed, replied=None, resolved=None) -> Ticket:
        ticket = self.file(requester, filed)
        if replied:
            ticket = self.reply(ticket, replied)
        if resolved:
            ticket = self.move(ticket, Status.RESOLVED, resolved)
        return ticket


# (resolved at, score, NPS, comment); None: never answered.
ANSWERS = [
    (datetime(2026, 3, 2, 10, tzinfo=UTC), 5, 10, "Quick and kind"),
    (datetime(2026, 3, 3, 10, tzinfo=UTC), 4, 9, ""),
    (datetime(2026, 3, 4, 10, tzinfo=UTC), 2, 3, "Took a week"),
    (datetime(2026, 3, 5, 10, tzinfo=UTC), None, None, ""),
    (datetime(2026, 3, 9, 10, tzinfo=UTC), 3, 7, "=SUM(A1)"),
    (datetime(2026, 3, 10, 10, tzinfo=UTC), 1, None, "Not solved"),
]
ANSWERS_READ_AT = datetime(2026, 3, 16, 11, 0, tzinfo=UTC)

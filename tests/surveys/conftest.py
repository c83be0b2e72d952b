"""Fixtures for survey tests: IT surveys its resolutions; time is frozen and moved by
hand, so delays, reminders and expiry are exact; emails are delivered the way the relay
delivers them when they are due."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from outbox.services import outbox_relay
from surveys import tokens
from surveys.models import SurveyInvitation, SurveyReason, SurveySettings, SurveyTemplate
from tests.factories import TicketFactory
from tickets import services
from tickets.models import Ticket

Status = Ticket.Status
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday
LINK = re.compile(r"http://desk\.test/survey/([A-Za-z0-9_-]{43})/(?:\?score=(\d))?")


class Clock:
    """Frozen time that tests move forward: `clock.now`, `clock.advance(minutes=5)`."""

    def __init__(self, traveller: time_machine.Coordinates) -> None:
        self._traveller = traveller

    @property
    def now(self) -> datetime:
        return timezone.now()

    def advance(self, **delta: float) -> datetime:
        self._traveller.move_to(self.now + timedelta(**delta))
        return self.now

    def move_to(self, moment: datetime) -> datetime:
        self._traveller.move_to(moment)
        return self.now


@pytest.fixture
def clock() -> Iterator[Clock]:
    with time_machine.travel(T0, tick=False) as traveller:
        yield Clock(traveller)


@pytest.fixture
def it_surveys(it) -> SurveySettings:
    """IT asks every requester, an hour after the resolution; no cap; a reminder after 3
    days; the link works 14 days."""
    return SurveySettings.objects.create(
        department=it,
        delay_minutes=60,
        sample_percent=100,
        per_person_cap_days=0,
        expiry_days=14,
        reminder_days=3,
    )


@pytest.fixture
def it_template(it, it_surveys) -> SurveyTemplate:
    template = SurveyTemplate.objects.create(name="IT survey", department=it, ask_nps=True)
    SurveyReason.objects.bulk_create(
        [
            SurveyReason(template=template, label="It took too long", min_score=1, max_score=2),
            SurveyReason(template=template, label="Not solved", min_score=1, max_score=3),
            SurveyReason(template=template, label="Quick", min_score=4, max_score=5),
            SurveyReason(template=template, label="Friendly", min_score=4, max_score=5),
        ]
    )
    return template


def resolve(ticket: Ticket, agent, **kwargs) -> Ticket:
    return services.ticket_transition(
        ticket=ticket, actor=agent, to_status=Status.RESOLVED, **kwargs
    )


def reopen(ticket: Ticket, actor) -> Ticket:
    return services.ticket_transition(ticket=ticket, actor=actor, to_status=Status.OPEN)


@pytest.fixture
def resolved(clock, it_surveys, it_type, requester, it_agent) -> Ticket:
    """Rita's IT ticket, resolved by Alice at T0 (filing's emails already delivered)."""
    ticket = TicketFactory(request_type=it_type, created_by=requester)
    ticket = resolve(ticket, it_agent)
    deliver_due()
    return ticket


def deliver_due() -> list:
    """What the relay sends now; returns the emails it sent (mail.outbox is cleared)."""
    mail.outbox.clear()
    outbox_relay(now=timezone.now())
    return list(mail.outbox)


def survey_emails(sent: list) -> list:
    return [message for message in sent if "How did" in message.subject]


def link_in(message) -> str:
    """The survey's token from the email's "open the survey" link."""
    tokens_found = {match.group(1) for match in LINK.finditer(message.body)}
    assert len(tokens_found) == 1, message.body
    return tokens_found.pop()


def token_of(invitation: SurveyInvitation) -> str:
    token = tokens.token_of(seed=invitation.token_seed, expected_hash=invitation.token_hash)
    assert token is not None
    return token


def survey_path(invitation_or_token: SurveyInvitation | str) -> str:
    token = (
        invitation_or_token
        if isinstance(invitation_or_token, str)
        else token_of(invitation_or_token)
    )
    return f"/survey/{token}/"

"""What a delivery says: the envelope and ticket summary of each event type, and what it
leaves out (a confidential request's title and requester for other departments, the
ticket of an anonymous survey answer)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from slas.sweep import sla_sweep
from surveys.models import SurveyInvitation, SurveySettings
from surveys.services import survey_respond
from tests.factories import TicketFactory, lead_of
from tests.webhooks.conftest import T0, deliveries
from tickets import services
from tickets.models import Priority, Ticket
from webhooks.models import Event

Status = Ticket.Status


def body_of(delivery) -> dict:
    return json.loads(delivery.message.payload["body"])


def test_a_status_change_has_the_envelope_ticket_summary_and_old_and_new_status(
    frozen, subscribe, ticket, it_agent, requester
):
    hook = subscribe(events=[Event.TICKET_STATUS_CHANGED])
    services.ticket_assign(ticket=ticket, actor=it_agent, assignee=it_agent)
    services.ticket_transition(ticket=ticket, actor=it_agent, to_status=Status.WAITING)
    (sent,) = deliveries(hook)
    event_id = ticket.events.get(action="status").pk
    assert body_of(sent) == {
        "id": f"ticket-event-{event_id}",
        "type": "ticket.status_changed",
        "occurred_at": "2026-03-02T09:00:00+00:00",
        "ticket": {
            "reference": ticket.reference,
            "title": ticket.title,
            "department": "IT",
            "requesting_department": "SAL",
            "request_type": "Hardware",
            "confidential": False,
            "status": "waiting",
            "priority": "normal",
            "assignee": {"username": "alice", "name": "Alice", "email": "alice@example.com"},
            "requester": {"username": "rita", "name": "Rita", "email": "rita@example.com"},
            "url": f"http://desk.test/tickets/{ticket.reference}/",
        },
        "data": {
            "actor": {"username": "alice", "name": "Alice", "email": "alice@example.com"},
            "old_status": "new",
            "new_status": "waiting",
        },
    }
    assert sent.event_id == f"ticket-event-{event_id}"


def test_an_assignment_names_the_previous_assignee(frozen, subscribe, ticket, it_agent, it_agent2):
    hook = subscribe(events=[Event.TICKET_ASSIGNED])
    services.ticket_assign(ticket=ticket, actor=it_agent, assignee=it_agent)
    services.ticket_assign(ticket=ticket, actor=it_agent, assignee=it_agent2)
    first, second = (body_of(d) for d in deliveries(hook))
    assert first["data"]["previous_assignee"] is None
    assert second["data"]["previous_assignee"]["username"] == "alice"
    assert second["ticket"]["assignee"]["username"] == "bob"


def test_an_sla_breach_says_which_clock_and_when(
    frozen, subscribe, it, make_policy, it_type, requester
):
    make_policy(it, warning_percents="75")
    hook = subscribe(events=[Event.SLA_BREACHED])
    ticket = TicketFactory(request_type=it_type, created_by=requester, priority=Priority.HIGH)
    frozen.move_to(T0 + timedelta(minutes=61))
    sla_sweep(now=T0 + timedelta(minutes=61))
    (sent,) = deliveries(hook)
    body = body_of(sent)
    assert body["type"] == "sla.breached"
    assert body["occurred_at"] == "2026-03-02T10:00:00+00:00"
    assert body["data"] == {
        "kind": "breach",
        "clock": "first_response",
        "threshold": 100,
        "instant": "2026-03-02T10:00:00+00:00",
    }
    assert body["ticket"]["reference"] == ticket.reference
    assert body["ticket"]["priority"] == "high"


def test_a_confidential_request_keeps_title_and_requester_from_other_subscriptions(
    frozen, subscribe, it, it_confidential_type, requester, it_lead
):
    own_department = subscribe(events=[Event.TICKET_CREATED], department=it)
    by_superuser = subscribe(events=[Event.TICKET_CREATED])
    by_a_lead = subscribe(events=[Event.TICKET_CREATED], created_by=it_lead)
    ticket = TicketFactory(request_type=it_confidential_type, created_by=requester)
    for shown in (own_department, by_superuser):
        summary = body_of(deliveries(shown)[0])["ticket"]
        assert (summary["title"], summary["requester"]["username"]) == (ticket.title, "rita")
        assert summary["confidential"] is True
    summary = body_of(deliveries(by_a_lead)[0])["ticket"]
    assert (summary["title"], summary["requester"]) == (None, None)
    assert summary["reference"] == ticket.reference and summary["confidential"] is True
    assert ticket.title not in deliveries(by_a_lead)[0].message.payload["body"]


def test_an_ordinary_request_is_sent_whole_to_every_subscription(
    frozen, subscribe, it_type, requester, hr
):
    hook = subscribe(events=[Event.TICKET_CREATED], created_by=lead_of(hr, username="hl"))
    ticket = TicketFactory(request_type=it_type, created_by=requester)
    assert body_of(deliveries(hook)[0])["ticket"]["title"] == ticket.title


@pytest.fixture
def answered(frozen, it, it_type, requester, it_agent):
    def answer(*, anonymous: bool, may_contact: bool = False) -> Ticket:
        SurveySettings.objects.update_or_create(
            department=it,
            defaults={
                "delay_minutes": 0,
                "sample_percent": 100,
                "per_person_cap_days": 0,
                "anonymous": anonymous,
            },
        )
        ticket = TicketFactory(request_type=it_type, created_by=requester)
        services.ticket_transition(ticket=ticket, actor=it_agent, to_status=Status.RESOLVED)
        invitation = SurveyInvitation.objects.get(ticket=ticket)
        survey_respond(
            invitation=invitation, score=2, comment="Slow.", may_contact=may_contact, now=T0
        )
        return ticket

    return answer


def test_a_survey_answer_has_its_score_and_ticket(frozen, subscribe, it, answered):
    hook = subscribe(events=[Event.SURVEY_ANSWERED], department=it)
    ticket = answered(anonymous=False)
    body = body_of(deliveries(hook)[0])
    assert body["type"] == "survey.answered"
    assert body["ticket"]["reference"] == ticket.reference
    assert body["data"] == {
        "department": "IT",
        "anonymous": False,
        "score": 2,
        "reasons": [],
        "comment": "Slow.",
        "nps": None,
    }


def test_an_anonymous_survey_answer_is_sent_without_its_ticket(frozen, subscribe, it, answered):
    hook = subscribe(events=[Event.SURVEY_ANSWERED], department=it)
    ticket = answered(anonymous=True)
    body = body_of(deliveries(hook)[0])
    assert body["ticket"] is None
    assert (body["data"]["anonymous"], body["data"]["score"]) == (True, 2)
    assert ticket.reference not in deliveries(hook)[0].message.payload["body"]
    agreed = answered(anonymous=True, may_contact=True)
    assert body_of(deliveries(hook)[1])["ticket"]["reference"] == agreed.reference

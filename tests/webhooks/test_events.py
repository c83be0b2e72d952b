"""Which events reach which subscriptions: exactly one delivery per (event, matching
subscription) — filtered by department and by event, none for an inactive subscription,
and nothing at all written when nobody subscribes."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from outbox.models import Message
from servicedesk.db import prepared_sql
from slas.sweep import sla_sweep
from surveys.models import SurveyInvitation, SurveySettings
from surveys.services import survey_respond
from tests.factories import TicketFactory
from tests.webhooks.conftest import T0, deliveries
from tickets import services
from tickets.models import Department, Ticket
from webhooks.models import Event, WebhookDelivery

Status = Ticket.Status


def test_filing_sends_ticket_created_once_to_each_matching_subscription(
    frozen, subscribe, it, hr, it_type, requester
):
    everything = subscribe()
    it_only = subscribe(department=it)
    hr_only = subscribe(department=hr)
    other_events = subscribe(events=[Event.SLA_BREACHED])
    switched_off = subscribe(is_active=False)
    TicketFactory(request_type=it_type, created_by=requester)
    assert [d.event for d in deliveries(everything)] == [Event.TICKET_CREATED]
    assert [d.event for d in deliveries(it_only)] == [Event.TICKET_CREATED]
    assert deliveries(hr_only) == deliveries(other_events) == deliveries(switched_off) == []
    assert Message.objects.filter(topic=Message.Topic.WEBHOOK).count() == 2


def test_assignment_sends_ticket_assigned_from_every_assign_path(
    frozen, subscribe, it, ticket, it_agent, it_agent2
):
    hook = subscribe(events=[Event.TICKET_ASSIGNED])
    services.ticket_assign(ticket=ticket, actor=it_agent, assignee=it_agent)
    services.ticket_assign(ticket=ticket, actor=it_agent, assignee=it_agent)  # no change
    Department.objects.filter(pk=it.pk).update(
        assignment=Department.Assignment.ROUND_ROBIN, last_assigned_to=it_agent
    )
    services.ticket_assign_automatically(ticket=ticket, actor=None)  # an escalation rule
    services.ticket_assign(ticket=ticket, actor=it_agent, assignee=None)
    sent = deliveries(hook)
    assert len(sent) == 3
    assert all(d.event == Event.TICKET_ASSIGNED for d in sent)
    bodies = [d.message.payload["body"] for d in sent]
    assert '"username":"alice"' in bodies[0]
    assert len({d.event_id for d in sent}) == 3


def test_automatic_assignment_at_filing_is_an_assignment_too(
    frozen, subscribe, it, it_type, requester, it_agent
):
    Department.objects.filter(pk=it.pk).update(assignment=Department.Assignment.ROUND_ROBIN)
    hook = subscribe(events=[Event.TICKET_CREATED, Event.TICKET_ASSIGNED])
    TicketFactory(request_type=it_type, created_by=requester)
    assert sorted(d.event for d in deliveries(hook)) == [
        Event.TICKET_ASSIGNED,
        Event.TICKET_CREATED,
    ]


def test_each_status_change_is_one_delivery(frozen, subscribe, it_agent, it_type, requester):
    hook = subscribe(events=[Event.TICKET_STATUS_CHANGED])
    ticket = TicketFactory(request_type=it_type, created_by=requester)
    services.ticket_transition(ticket=ticket, actor=it_agent, to_status=Status.RESOLVED)
    services.ticket_transition(ticket=ticket, actor=requester, to_status=Status.OPEN)
    # A reply that resolves: one change (open → resolved), one delivery.
    services.comment_add(ticket=ticket, author=it_agent, body="Fixed.", then_status=Status.RESOLVED)
    changes = [
        (body["data"]["old_status"], body["data"]["new_status"])
        for body in (json.loads(d.message.payload["body"]) for d in deliveries(hook))
    ]
    assert changes == [("new", "resolved"), ("resolved", "open"), ("open", "resolved")]


def test_a_refused_change_sends_nothing(frozen, subscribe, ticket, requester):
    hook = subscribe()
    before = len(deliveries(hook))
    with pytest.raises(services.TransitionRefused):
        services.ticket_transition(ticket=ticket, actor=requester, to_status=Status.CLOSED)
    assert len(deliveries(hook)) == before


@pytest.fixture
def sla_ticket(frozen, it, make_policy, it_type, requester) -> Ticket:
    make_policy(it, warning_percents="75")  # first response 1 h: a warning at 45 min
    return TicketFactory(request_type=it_type, created_by=requester)


def test_the_sweep_sends_sla_warning_and_breach(frozen, subscribe, it, hr, sla_ticket):
    both = subscribe(events=[Event.SLA_WARNING, Event.SLA_BREACHED], department=it)
    breaches = subscribe(events=[Event.SLA_BREACHED])
    hr_only = subscribe(department=hr)
    frozen.move_to(T0 + timedelta(minutes=46))
    sla_sweep(now=T0 + timedelta(minutes=46))
    assert [d.event for d in deliveries(both)] == [Event.SLA_WARNING]
    frozen.move_to(T0 + timedelta(minutes=61))
    sla_sweep(now=T0 + timedelta(minutes=61))
    sla_sweep(now=T0 + timedelta(minutes=62))  # nothing new: nothing more
    assert [d.event for d in deliveries(both)] == [Event.SLA_WARNING, Event.SLA_BREACHED]
    assert [d.event for d in deliveries(breaches)] == [Event.SLA_BREACHED]
    assert deliveries(hr_only) == []
    breach = sla_ticket.sla_events.get(kind="breach")
    assert deliveries(breaches)[0].event_id == f"sla-event-{breach.pk}"


def test_a_breach_recorded_when_the_clock_stops_is_sent_once(
    frozen, subscribe, sla_ticket, it_agent
):
    hook = subscribe(events=[Event.SLA_BREACHED])
    frozen.move_to(T0 + timedelta(minutes=70))
    # No sweep ran: the first reply records the breach that passed (slas/events.py)...
    services.comment_add(ticket=sla_ticket, author=it_agent, body="On it.")
    sla_sweep(now=T0 + timedelta(minutes=71))  # ...and the sweep finds nothing more to say
    assert len(deliveries(hook)) == 1


def test_recording_the_same_sla_event_twice_sends_one_delivery(frozen, subscribe, it, sla_ticket):
    from slas.events import EventRow, record_events

    hook = subscribe(events=[Event.SLA_BREACHED])
    clock = sla_ticket.sla_clocks.get(kind="first_response")
    row = EventRow(sla_ticket.pk, clock.pk, it.pk, "breach", 100, T0 + timedelta(hours=1), [])
    assert record_events([row], now=T0 + timedelta(hours=1)) == 1
    assert record_events([row], now=T0 + timedelta(hours=2)) == 0
    assert len(deliveries(hook)) == 1


def test_a_sweep_with_no_subscription_writes_nothing_and_asks_once(frozen, it, sla_ticket):
    frozen.move_to(T0 + timedelta(minutes=61))
    with CaptureQueriesContext(connection) as queries:
        sla_sweep(now=T0 + timedelta(minutes=61))
    subscription_queries = [q for q in queries if "webhooks_webhooksubscription" in q["sql"]]
    # One batch, at most one look at the (empty) table: none when the process's
    # configuration cache (servicedesk/config.py) already knows nobody subscribes.
    assert len(subscription_queries) <= 1
    assert not Message.objects.filter(topic=Message.Topic.WEBHOOK).exists()
    assert not WebhookDelivery.objects.exists()


def test_a_survey_answer_is_sent_to_the_department(
    frozen, subscribe, it, hr, it_type, requester, it_agent
):
    SurveySettings.objects.create(
        department=it, delay_minutes=0, sample_percent=100, per_person_cap_days=0
    )
    it_hook = subscribe(events=[Event.SURVEY_ANSWERED], department=it)
    hr_hook = subscribe(events=[Event.SURVEY_ANSWERED], department=hr)
    ticket = TicketFactory(request_type=it_type, created_by=requester)
    services.ticket_transition(ticket=ticket, actor=it_agent, to_status=Status.RESOLVED)
    survey_respond(invitation=SurveyInvitation.objects.get(), score=4, now=T0)
    (sent,) = deliveries(it_hook)
    assert sent.event == Event.SURVEY_ANSWERED
    assert sent.event_id == f"survey-response-{SurveyInvitation.objects.get().response.pk}"
    assert deliveries(hr_hook) == []


def test_a_sweep_batch_enqueues_its_deliveries_in_one_statement(
    frozen, subscribe, it, make_policy, it_type, requester
):
    make_policy(it, warning_percents="75")
    for _ in range(5):
        TicketFactory(request_type=it_type, created_by=requester)
    first = subscribe(events=[Event.SLA_BREACHED])
    second = subscribe(events=[Event.SLA_BREACHED], department=it)
    frozen.move_to(T0 + timedelta(minutes=61))
    with CaptureQueriesContext(connection) as queries:
        sla_sweep(now=T0 + timedelta(minutes=61))
    statements = [prepared_sql(q["sql"]) for q in queries]  # the SQL of EXECUTEs
    inserts = [sql for sql in statements if sql.lstrip().upper().startswith("INSERT")]
    assert len([sql for sql in inserts if "outbox_message" in sql]) == 1
    assert len([sql for sql in inserts if "webhooks_webhookdelivery" in sql]) == 1
    assert len(deliveries(first)) == len(deliveries(second)) == 5

"""Webhook admin: superusers manage every subscription; a lead with staff access only
those of the departments they lead (never an all-department one); the list shows each
subscription's last delivery; the delivery history, the test event and the secret
rotation."""

from __future__ import annotations

import pytest
from django.test import Client

from outbox.models import Message
from tests.factories import TicketFactory
from tests.webhooks.conftest import deliver, deliveries
from webhooks.models import Event, WebhookSubscription

SUBSCRIPTIONS = "/admin/webhooks/webhooksubscription/"
DELIVERIES = "/admin/webhooks/webhookdelivery/"


@pytest.fixture
def admin_client(client, superuser) -> Client:
    client.force_login(superuser)
    return client


@pytest.fixture
def lead_client(client, it_lead) -> Client:
    it_lead.is_staff = True
    it_lead.save(update_fields=["is_staff"])
    client.force_login(it_lead)
    return client


def form_data(**fields) -> dict:
    data = {
        "name": "Ops bridge",
        "url": "https://ops.example.com/hooks/desk",
        "events": [Event.TICKET_CREATED, Event.SLA_BREACHED],
        "department": "",
        "is_active": "on",
    }
    data.update(fields)
    return data


def test_a_superuser_subscribes_for_every_department(admin_client, superuser):
    response = admin_client.post(f"{SUBSCRIPTIONS}add/", form_data())
    assert response.status_code == 302, response.content.decode()[:2000]
    hook = WebhookSubscription.objects.get()
    assert hook.department is None and hook.created_by == superuser
    assert hook.events == [Event.TICKET_CREATED, Event.SLA_BREACHED]
    assert hook.secret.startswith("whsec_") and len(hook.secret) > 40
    page = admin_client.get(f"{SUBSCRIPTIONS}{hook.pk}/change/").content.decode()
    assert hook.secret in page  # shown to whoever manages it
    assert f"{DELIVERIES}?subscription={hook.pk}" in page


@pytest.mark.parametrize("url", ["ftp://ops.example.com/", "javascript:alert(1)", "not a url"])
def test_only_http_and_https_urls_are_accepted(admin_client, url):
    response = admin_client.post(f"{SUBSCRIPTIONS}add/", form_data(url=url))
    assert response.status_code == 200
    assert "Enter a valid URL." in response.content.decode()
    assert not WebhookSubscription.objects.exists()


def test_events_are_required(admin_client):
    response = admin_client.post(f"{SUBSCRIPTIONS}add/", form_data(events=[]))
    assert response.status_code == 200
    assert not WebhookSubscription.objects.exists()


def test_a_lead_subscribes_only_for_a_department_they_lead(lead_client, it, hr, it_lead):
    assert lead_client.post(f"{SUBSCRIPTIONS}add/", form_data()).status_code == 200  # none
    response = lead_client.post(f"{SUBSCRIPTIONS}add/", form_data(department=hr.pk))
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not WebhookSubscription.objects.exists()
    response = lead_client.post(f"{SUBSCRIPTIONS}add/", form_data(department=it.pk))
    assert response.status_code == 302
    assert WebhookSubscription.objects.get().created_by == it_lead


def test_a_lead_sees_and_changes_only_their_departments_subscriptions(
    lead_client, subscribe, it, hr
):
    mine = subscribe(department=it, name="IT hook")
    theirs = subscribe(department=hr, name="HR hook")
    everyone = subscribe(name="Company hook")
    page = lead_client.get(SUBSCRIPTIONS).content.decode()
    assert "IT hook" in page and "HR hook" not in page and "Company hook" not in page
    assert lead_client.get(f"{SUBSCRIPTIONS}{mine.pk}/change/").status_code == 200
    for other in (theirs, everyone):
        assert lead_client.get(f"{SUBSCRIPTIONS}{other.pk}/change/").status_code == 302
        assert lead_client.get(f"{SUBSCRIPTIONS}{other.pk}/delete/").status_code == 302
    assert lead_client.get(f"{DELIVERIES}?subscription={theirs.pk}").status_code == 200
    assert "HR hook" not in lead_client.get(DELIVERIES).content.decode()


def test_staff_who_lead_nothing_have_no_webhook_admin(client, it_agent, subscribe):
    it_agent.is_staff = True
    it_agent.save(update_fields=["is_staff"])
    client.force_login(it_agent)
    assert client.get(SUBSCRIPTIONS).status_code == 403
    assert client.get(DELIVERIES).status_code == 403


def test_the_list_shows_the_last_delivery_and_links_to_the_history(
    frozen, admin_client, receiver, subscribe, it_type, requester
):
    target, url = receiver
    target.statuses = [500]
    hook = subscribe(url, events=[Event.TICKET_CREATED], name="Ops bridge")
    quiet = subscribe(name="Quiet", events=[Event.SLA_BREACHED])
    TicketFactory(request_type=it_type, created_by=requester)
    deliver()
    page = admin_client.get(SUBSCRIPTIONS).content.decode()
    assert "retrying (HTTP 500)" in page
    assert f"{DELIVERIES}?subscription={hook.pk}" in page
    assert f"{DELIVERIES}?subscription={quiet.pk}" not in page  # nothing sent to it yet
    history = admin_client.get(f"{DELIVERIES}?subscription={hook.pk}").content.decode()
    assert "ticket.created" in history and "HTTP 500" in history and "retrying" in history
    outbox = admin_client.get("/admin/outbox/message/?topic=webhook").content.decode()
    assert f"webhook subscription {hook.pk}" in outbox


def test_history_retry_action_gives_a_failed_delivery_another_round(
    frozen, admin_client, subscribe, it_type, requester
):
    hook = subscribe(events=[Event.TICKET_CREATED])
    TicketFactory(request_type=it_type, created_by=requester)
    (sent,) = deliveries(hook)
    Message.objects.filter(pk=sent.message_id).update(failed_at=sent.created_at, attempts=8)
    response = admin_client.post(
        DELIVERIES, {"action": "retry", "_selected_action": [sent.pk]}, follow=True
    )
    assert "1 delivery(ies) will be retried." in response.content.decode()
    message = Message.objects.get(pk=sent.message_id)
    assert (message.failed_at, message.attempts) == (None, 0)


def test_send_a_test_event_and_rotate_the_secret(frozen, admin_client, receiver, subscribe):
    target, url = receiver
    hook = subscribe(url, events=[Event.SLA_BREACHED])
    old_secret = hook.secret
    response = admin_client.post(
        SUBSCRIPTIONS, {"action": "send_test_event", "_selected_action": [hook.pk]}, follow=True
    )
    assert "1 test event(s) queued" in response.content.decode()
    assert deliver() == 1
    assert target.bodies[0]["type"] == "webhook.test"
    admin_client.post(SUBSCRIPTIONS, {"action": "rotate_secret", "_selected_action": [hook.pk]})
    hook.refresh_from_db()
    assert hook.secret != old_secret

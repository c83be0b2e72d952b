"""Entry points: login required everywhere but healthz, home sends people to their list."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import TicketFactory

PROTECTED = [
    ("home", []),
    ("my_requests", []),
    ("request_departments", []),
    ("request_types", ["IT"]),
    ("ticket_detail", ["IT-1"]),
    ("queue", []),
    ("queue_department", ["IT"]),
    ("attachment", [1]),
]


@pytest.mark.parametrize(("name", "args"), PROTECTED)
def test_login_required(client, ticket, name, args):
    path = reverse(name, args=args)
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={path}"


@pytest.mark.parametrize("name", ["ticket_reply", "ticket_status", "ticket_assign"])
def test_login_required_for_posts(client, ticket, name):
    response = client.post(reverse(name, args=[ticket.reference]), {"body": "hi"})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert not ticket.comments.exists()


def test_healthz_needs_no_login(client, db):
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    assert response.content == b"ok"


def test_login_page_renders(client, db):
    assert client.get(reverse("login")).status_code == 200


def test_home_sends_agents_to_the_queue(client, it_agent):
    client.force_login(it_agent)
    assert client.get(reverse("home"))["Location"] == reverse("queue")
    assert client.get(reverse("queue"))["Location"] == reverse("queue_department", args=["IT"])


def test_home_sends_employees_to_their_requests(client, requester):
    client.force_login(requester)
    assert client.get(reverse("home"))["Location"] == reverse("my_requests")
    assert client.get(reverse("queue"))["Location"] == reverse("my_requests")


def test_unknown_reference_is_404(client, requester, ticket):
    client.force_login(requester)
    assert client.get(reverse("ticket_detail", args=["IT-2"])).status_code == 404
    assert client.post(reverse("ticket_reply", args=["IT-2"]), {"body": "x"}).status_code == 404


def test_ticket_page_shows_the_ticket(client, it_type, requester):
    ticket = TicketFactory(
        request_type=it_type, created_by=requester, title="Keyboard sticks",
        description="The **E** key.",
    )  # fmt: skip
    client.force_login(requester)
    html = client.get(reverse("ticket_detail", args=[ticket.reference])).content.decode()
    assert "Keyboard sticks" in html
    assert ticket.reference in html
    assert "<strong>E</strong>" in html

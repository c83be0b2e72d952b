"""Who may see and do what, through the views: 404 for tickets one may not see (their
existence is not revealed), 403 for actions on a ticket one may see but not do."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from tests.factories import TicketFactory, UserFactory, move_to
from tickets import services
from tickets.models import Attachment, Comment, Priority, Ticket, TicketEvent

Status = Ticket.Status
ROLES = ["requester", "watcher", "agent", "lead", "superuser", "other_agent", "stranger"]
NOTE = "NOTE-7f3a: the requester's manager asked us to stall this"


@pytest.fixture
def people(ticket, colleague, it_agent, it_lead, superuser, hr_agent):
    services.ticket_add_watcher(ticket=ticket, actor=ticket.requester, watcher=colleague)
    return {
        "requester": ticket.requester,
        "watcher": colleague,
        "agent": it_agent,
        "lead": it_lead,
        "superuser": superuser,
        "other_agent": hr_agent,
        "stranger": UserFactory(username="sam"),
    }


@pytest.fixture
def as_role(client, people):
    def login(role: str):
        client.force_login(people[role])
        return client

    return login


def url(name: str, ticket: Ticket, *args) -> str:
    return reverse(name, args=[ticket.reference, *args])


# --- Viewing --------------------------------------------------------------------------

VIEW = {
    "requester": 200, "watcher": 200, "agent": 200, "lead": 200, "superuser": 200,
    "other_agent": 404, "stranger": 404,
}  # fmt: skip


@pytest.mark.parametrize("role", ROLES)
def test_view_ticket_page(as_role, ticket, role):
    response = as_role(role).get(url("ticket_detail", ticket))
    assert response.status_code == VIEW[role]
    if VIEW[role] == 200:
        html = response.content.decode()
        assert ticket.reference in html
        assert ticket.title in html


CONFIDENTIAL_VIEW = {**VIEW, "watcher": 404}


@pytest.mark.parametrize("role", ROLES)
def test_view_confidential_ticket_page(client, people, confidential_ticket, role):
    services.ticket_add_watcher(
        ticket=confidential_ticket, actor=confidential_ticket.requester, watcher=people["watcher"]
    )
    client.force_login(people[role])
    response = client.get(url("ticket_detail", confidential_ticket))
    assert response.status_code == CONFIDENTIAL_VIEW[role]


def test_unknown_and_forbidden_tickets_look_the_same(as_role, ticket):
    client = as_role("stranger")
    forbidden = client.get(url("ticket_detail", ticket))
    missing = client.get(reverse("ticket_detail", args=["IT-999"]))
    assert forbidden.status_code == missing.status_code == 404
    # A NUL in the reference is no ticket either (PostgreSQL refuses the string: was 500).
    assert client.get("/tickets/IT%00-1/").status_code == 404
    assert ticket.title not in forbidden.content.decode()


# --- Replying -------------------------------------------------------------------------

REPLY = {
    "requester": 302, "watcher": 302, "agent": 302, "lead": 302, "superuser": 302,
    "other_agent": 404, "stranger": 404,
}  # fmt: skip


@pytest.mark.parametrize("role", ROLES)
def test_reply(as_role, ticket, role):
    response = as_role(role).post(url("ticket_reply", ticket), {"body": "Any update?"})
    assert response.status_code == REPLY[role]
    assert Comment.objects.filter(body="Any update?").exists() == (REPLY[role] == 302)
    if response.status_code == 302:
        assert response["Location"] == url("ticket_detail", ticket)


INTERNAL_NOTE = {
    "requester": 403, "watcher": 403, "agent": 302, "lead": 302, "superuser": 302,
    "other_agent": 404, "stranger": 404,
}  # fmt: skip


@pytest.mark.parametrize("role", ROLES)
def test_add_internal_note(as_role, ticket, role):
    response = as_role(role).post(url("ticket_reply", ticket), {"body": NOTE, "is_internal": "on"})
    assert response.status_code == INTERNAL_NOTE[role]
    assert Comment.objects.filter(is_internal=True).exists() == (INTERNAL_NOTE[role] == 302)
    assert not Comment.objects.filter(is_internal=False).exists()


SEES_NOTES = {"requester": False, "watcher": False, "agent": True, "lead": True, "superuser": True}


@pytest.mark.parametrize("role", list(SEES_NOTES))
def test_internal_notes_only_on_agents_pages(as_role, ticket, it_agent2, role):
    services.comment_add(ticket=ticket, author=it_agent2, body=NOTE, is_internal=True)
    services.comment_add(ticket=ticket, author=it_agent2, body="Public answer.")
    response = as_role(role).get(url("ticket_detail", ticket))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Public answer." in html
    assert (NOTE.split(":")[0] in html) == SEES_NOTES[role]


def test_requester_page_shows_no_trace_of_notes_in_history(as_role, ticket, it_agent2):
    services.comment_add(ticket=ticket, author=it_agent2, body=NOTE, is_internal=True)
    response = as_role("requester").get(url("ticket_detail", ticket))
    events = list(response.context["events"])
    assert TicketEvent.Action.NOTE not in [e.action for e in events]
    assert [c.body for c in response.context["comments"]] == []


def test_failed_reply_rerender_keeps_notes_hidden_from_requester(as_role, ticket, it_agent2):
    services.comment_add(ticket=ticket, author=it_agent2, body=NOTE, is_internal=True)
    response = as_role("requester").post(url("ticket_reply", ticket), {"body": ""})
    assert response.status_code == 400
    assert "NOTE-7f3a" not in response.content.decode()


def test_reply_on_closed_ticket_is_refused_with_a_message(as_role, ticket, it_agent):
    move_to(ticket, Status.CLOSED, agent=it_agent)
    response = as_role("requester").post(url("ticket_reply", ticket), {"body": "Hello?"})
    assert response.status_code == 400
    assert "closed" in response.content.decode()
    assert not Comment.objects.exists()


# --- Agents' actions ------------------------------------------------------------------

AGENT_ACTION = {
    "requester": 403, "watcher": 403, "agent": 302, "lead": 302, "superuser": 302,
    "other_agent": 404, "stranger": 404,
}  # fmt: skip


def current(ticket: Ticket) -> dict:
    return (
        Ticket.objects.filter(pk=ticket.pk)
        .values("status", "assignee", "priority", "department", "request_type")
        .get()
    )


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", ["assign", "take", "status", "priority", "transfer"])
def test_agent_actions(as_role, ticket, it_agent2, hr_type, role, action):
    name, data = {
        "assign": ("ticket_assign", {"assignee": it_agent2.pk}),
        "take": ("ticket_take", {}),
        "status": ("ticket_status", {"status": Status.WAITING}),
        "priority": ("ticket_priority", {"priority": Priority.URGENT}),
        "transfer": ("ticket_transfer", {"request_type": hr_type.pk, "reason": "Payroll"}),
    }[action]
    before = current(ticket)
    response = as_role(role).post(url(name, ticket), data)
    assert response.status_code == AGENT_ACTION[role]
    # A superuser may work any ticket but is only assignable where they are a member.
    refused_by_service = action == "take" and role == "superuser"
    assert (current(ticket) != before) == (AGENT_ACTION[role] == 302 and not refused_by_service)


def test_superuser_outside_the_department_cannot_take_a_ticket(as_role, ticket):
    response = as_role("superuser").post(url("ticket_take", ticket), follow=True)
    assert "is not an agent of IT" in response.content.decode()
    assert Ticket.objects.get(pk=ticket.pk).assignee is None


@pytest.mark.parametrize(
    ("role", "code"),
    [("requester", 302), ("it_agent", 302), ("colleague", 404), ("hr_agent", 404)],
)
def test_add_watcher(client, request, ticket, role, code):
    extra = UserFactory(username="walt")
    client.force_login(request.getfixturevalue(role))
    response = client.post(url("ticket_watcher_add", ticket), {"watcher": extra.pk})
    assert response.status_code == code
    assert ticket.watchers.filter(pk=extra.pk).exists() == (code == 302)


def test_watcher_added_by_a_watcher_is_forbidden(as_role, ticket):
    response = as_role("watcher").post(
        url("ticket_watcher_add", ticket), {"watcher": UserFactory().pk}
    )
    assert response.status_code == 403


def test_watcher_removes_themself_but_not_others(as_role, people, ticket):
    other = UserFactory(username="olive")
    services.ticket_add_watcher(ticket=ticket, actor=ticket.requester, watcher=other)
    client = as_role("watcher")
    forbidden = client.post(url("ticket_watcher_remove", ticket, other.pk))
    assert forbidden.status_code == 403
    done = client.post(url("ticket_watcher_remove", ticket, people["watcher"].pk))
    assert done.status_code == 302
    assert list(ticket.watchers.all()) == [other]


@pytest.mark.parametrize(
    ("role", "start", "endpoint", "code", "end"),
    [
        ("requester", Status.RESOLVED, "ticket_reopen", 302, Status.OPEN),
        ("requester", Status.NEW, "ticket_cancel", 302, Status.CANCELLED),
        ("requester", Status.OPEN, "ticket_cancel", 302, Status.OPEN),  # refused: message
        ("watcher", Status.RESOLVED, "ticket_reopen", 403, Status.RESOLVED),
        ("watcher", Status.NEW, "ticket_cancel", 403, Status.NEW),
        ("other_agent", Status.NEW, "ticket_cancel", 404, Status.NEW),
    ],
)
def test_reopen_and_cancel(as_role, ticket, it_agent, role, start, endpoint, code, end):
    move_to(ticket, start, agent=it_agent)
    response = as_role(role).post(url(endpoint, ticket))
    assert response.status_code == code
    assert Ticket.objects.get(pk=ticket.pk).status == end


def test_refused_transition_is_reported_not_applied(as_role, ticket):
    client = as_role("agent")
    response = client.post(url("ticket_status", ticket), {"status": Status.CLOSED}, follow=True)
    assert response.status_code == 200
    assert "cannot become closed" in response.content.decode()
    assert Ticket.objects.get(pk=ticket.pk).status == Status.NEW


def test_invalid_form_changes_nothing(as_role, ticket):
    client = as_role("agent")
    response = client.post(url("ticket_priority", ticket), {"priority": "99"}, follow=True)
    assert response.status_code == 200
    assert "nothing was changed" in response.content.decode()
    assert Ticket.objects.get(pk=ticket.pk).priority == Priority.NORMAL


@pytest.mark.parametrize("name", ["ticket_reply", "ticket_status", "ticket_assign"])
def test_actions_refuse_get(as_role, ticket, name):
    assert as_role("agent").get(url(name, ticket)).status_code == 405


# --- Attachments ----------------------------------------------------------------------


@pytest.fixture
def files(ticket, it_agent2):
    services.comment_add(
        ticket=ticket, author=it_agent2, body="", is_internal=True,
        attachments=[SimpleUploadedFile("internal.txt", b"agents only")],
    )  # fmt: skip
    services.comment_add(
        ticket=ticket, author=it_agent2, body="Here you go",
        attachments=[SimpleUploadedFile("public.txt", b"for everyone")],
    )  # fmt: skip
    return {a.filename: a for a in Attachment.objects.all()}


DOWNLOAD = {
    # role: (public attachment, internal-note attachment)
    "requester": (200, 404), "watcher": (200, 404), "agent": (200, 200), "lead": (200, 200),
    "superuser": (200, 200), "other_agent": (404, 404), "stranger": (404, 404),
}  # fmt: skip


@pytest.mark.parametrize("role", ROLES)
def test_attachment_download(as_role, people, files, role):
    client = as_role(role)
    for filename, expected in zip(("public.txt", "internal.txt"), DOWNLOAD[role], strict=True):
        response = client.get(reverse("attachment", args=[files[filename].pk]))
        assert response.status_code == expected, filename
        if expected == 200:
            assert b"".join(response.streaming_content) in (b"for everyone", b"agents only")
            assert filename in response["Content-Disposition"]


def test_attachment_of_confidential_ticket_hidden_from_watcher(
    client, confidential_ticket, colleague
):
    services.comment_add(
        ticket=confidential_ticket, author=confidential_ticket.requester, body="",
        attachments=[SimpleUploadedFile("scan.pdf", b"%PDF")],
    )  # fmt: skip
    services.ticket_add_watcher(
        ticket=confidential_ticket, actor=confidential_ticket.requester, watcher=colleague
    )
    client.force_login(colleague)
    assert client.get(reverse("attachment", args=[Attachment.objects.get().pk])).status_code == 404


def test_unknown_attachment_is_404(as_role, ticket):
    assert as_role("superuser").get(reverse("attachment", args=[424242])).status_code == 404


def test_internal_attachment_link_not_on_requester_page(as_role, ticket, files):
    html = as_role("requester").get(url("ticket_detail", ticket)).content.decode()
    assert reverse("attachment", args=[files["public.txt"].pk]) in html
    assert reverse("attachment", args=[files["internal.txt"].pk]) not in html


# --- Filing for a confidential type keeps others out ----------------------------------


def test_filing_on_behalf_into_confidential_type_lets_filer_see_it(
    client, it_confidential_type, requester, colleague
):
    ticket = TicketFactory(
        request_type=it_confidential_type, created_by=colleague, requester=requester
    )
    client.force_login(colleague)
    assert client.get(url("ticket_detail", ticket)).status_code == 200

"""The tickets API: each endpoint, the permission matrix (requester, agent, agent of
another department, superuser, nobody), and the error shapes."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from servicedesk.db import prepared_sql
from tests.factories import RequestFieldFactory, TicketFactory, UserFactory, agent_of
from tickets import services
from tickets.models import Comment, Priority, Ticket

Status = Ticket.Status
TICKETS = "/api/v1/tickets/"


def detail(ticket) -> str:
    return f"{TICKETS}{ticket.reference}/"


def error(response) -> dict:
    body = response.json()
    assert set(body) == {"error"}, body
    assert body["error"]["status"] == response.status_code
    return body["error"]


# --- Authentication ------------------------------------------------------------------------


def test_without_credentials_401_in_the_error_shape(client, ticket):
    response = client.get(TICKETS)
    assert response.status_code == 401
    assert error(response)["code"] == "not_authenticated"
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


@pytest.mark.parametrize("header", ["Bearer nope", "Bearer sd_abc_def", "Bearer sd__x"])
def test_a_bad_token_is_refused(client, header, ticket):
    response = client.get(TICKETS, HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert error(response)["code"] == "authentication_failed"


def test_the_browser_session_works_too(client, requester, ticket):
    client.force_login(requester)
    assert client.get(TICKETS).json()["results"][0]["reference"] == ticket.reference


# --- List ------------------------------------------------------------------------------------


def test_each_caller_lists_what_the_screens_show(api_as, it_type, hr_type, requester, it_agent,
                                                  hr_agent, superuser):  # fmt: skip
    mine = TicketFactory(request_type=it_type, created_by=requester)
    other = TicketFactory(request_type=hr_type, created_by=UserFactory())

    def refs(user):
        return [row["reference"] for row in api_as(user).get(TICKETS).json()["results"]]

    assert refs(requester) == [mine.reference]
    assert refs(it_agent) == [mine.reference]
    assert refs(hr_agent) == [other.reference]
    assert refs(superuser) == [other.reference, mine.reference]


def test_list_filters(api_as, it_type, requester, it_agent, hr):
    first = TicketFactory(request_type=it_type, created_by=requester, title="Printer on fire")
    second = TicketFactory(
        request_type=it_type, created_by=UserFactory(home_department=hr), title="VPN drops"
    )
    services.ticket_assign(ticket=second, actor=it_agent, assignee=it_agent)
    services.ticket_set_priority(ticket=second, actor=it_agent, priority=Priority.URGENT)
    api = api_as(it_agent)

    def refs(**params):
        response = api.get(TICKETS, params)
        assert response.status_code == 200, response.json()
        return [row["reference"] for row in response.json()["results"]]

    assert refs(assignee="me") == [second.reference]
    assert refs(assignee="none") == [first.reference]
    assert refs(priority=4) == [second.reference]
    assert refs(requesting_department="hr") == [second.reference]
    assert refs(department="IT", q="printer") == [first.reference]
    assert refs(status="resolved") == []
    assert refs(created_after=second.created_at.isoformat()) == [second.reference]


def test_bad_filters_say_which(api_as, it_agent):
    response = api_as(it_agent).get(TICKETS, {"department": "NOPE", "priority": 9})
    assert response.status_code == 400
    fields = error(response)["fields"]
    assert set(fields) == {"priority"}  # the shape is checked first, then the codes
    response = api_as(it_agent).get(TICKETS, {"department": "NOPE"})
    assert error(response)["fields"] == {"department": ["No department has the code “NOPE”."]}


def test_cursor_pages_cover_everything_once_with_a_fixed_number_of_queries(
    api_as, it_type, it_agent
):
    for _ in range(7):
        TicketFactory(request_type=it_type, created_by=UserFactory())
    api = api_as(it_agent)
    api.get(TICKETS)  # the token's first use is noted once: not part of a page's cost
    seen, url, queries = [], f"{TICKETS}?page_size=3", []
    while url:
        with CaptureQueriesContext(connection) as captured:
            body = api.get(url).json()
        queries.append(len(captured))
        seen += [row["reference"] for row in body["results"]]
        url = body["next"]
    assert len(seen) == 7 == len(set(seen))
    assert len(set(queries)) == 1  # the last page costs what the first does


# --- Create -----------------------------------------------------------------------------------


def test_file_a_request_with_its_extra_fields(api_as, it_type, requester):
    RequestFieldFactory(request_type=it_type, key="asset", required=True)
    response = api_as(requester).post(
        TICKETS,
        {"request_type": it_type.pk, "title": "Laptop", "description": "Broken.",
         "extra": {"asset": "LT-42"}},
        format="json",
    )  # fmt: skip
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["title"] == "Laptop" and body["extra"] == {"asset": "LT-42"}
    assert body["requester"]["username"] == requester.username
    assert Ticket.objects.get(reference=body["reference"]).requester == requester


@pytest.mark.parametrize("filer", ["requester", "it_agent"])
def test_the_created_answer_is_the_ticket_as_read_back(
    api_as, it, it_type, requester, it_agent, it_agent2, make_policy, filer, request
):
    """The 201 body is built from the objects the filing wrote, not read back: it must
    say what a GET says (number, assignee by round robin, requesting department, SLA)."""
    it.assignment = "round_robin"
    it.save()
    make_policy(it)
    caller = request.getfixturevalue(filer)
    api = api_as(caller)
    body = {"request_type": it_type.pk, "title": "Laptop", "description": "Broken.",
            "priority": Priority.HIGH}  # fmt: skip
    if filer == "it_agent":
        body["requester"] = requester.username
    created = api.post(TICKETS, body, format="json")
    assert created.status_code == 201, created.json()
    read = api.get(f"{TICKETS}{created.json()['reference']}/")
    assert read.status_code == 200
    assert created.json() == read.json()
    assert created.json()["assignee"]["username"] in {"alice", "bob"}
    assert created.json()["requesting_department"]["code"] == requester.home_department.code
    assert created.json()["sla"]["due_at"] is not None
    assert [c["kind"] for c in created.json()["clocks"]]


def test_create_errors_name_each_field_as_the_form_does(api_as, it_type, requester):
    RequestFieldFactory(request_type=it_type, key="asset", required=True)
    before = Ticket.objects.count()
    response = api_as(requester).post(
        TICKETS, {"request_type": it_type.pk, "title": " ", "description": ""}, format="json"
    )
    assert response.status_code == 400
    body = error(response)
    assert body["code"] == "invalid"
    assert set(body["fields"]) == {"title", "description", "extra.asset"}
    assert body["fields"]["title"] == ["Give your request a short title."]
    assert Ticket.objects.count() == before  # nothing half-written


def test_create_with_an_unknown_request_type_or_person(api_as, it_type, requester):
    api = api_as(requester)
    response = api.post(TICKETS, {"request_type": 999999, "title": "x", "description": "y"},
                        format="json")  # fmt: skip
    assert error(response)["fields"] == {"request_type": ["No such request type."]}
    response = api.post(
        TICKETS,
        {"request_type": it_type.pk, "title": "x", "description": "y", "requester": "ghost"},
        format="json",
    )
    assert error(response)["fields"] == {"requester": ["No one has the username “ghost”."]}
    response = api.post(TICKETS, "not json", content_type="application/json")
    assert response.status_code == 400 and error(response)["code"] == "parse_error"


# --- Read -------------------------------------------------------------------------------------


def test_a_ticket_one_may_not_see_is_not_found_not_forbidden(api_as, ticket, hr_agent):
    response = api_as(hr_agent).get(detail(ticket))
    assert response.status_code == 404
    assert error(response)["code"] == "not_found"
    missing = api_as(hr_agent).get(f"{TICKETS}IT-999999/")
    assert missing.status_code == 404 and missing.json() == response.json()


def test_detail_has_the_sla_clocks(api_as, it, it_type, requester, make_calendar, make_policy):
    make_calendar("Round the clock", "UTC", department=it)
    make_policy(it, first_response_minutes=60, resolution_minutes=480)
    ticket = TicketFactory(request_type=it_type, created_by=requester)
    body = api_as(requester).get(detail(ticket)).json()
    assert body["reference"] == ticket.reference
    assert body["description"] == ticket.description
    clocks = {c["kind"]: c for c in body["clocks"]}
    assert set(clocks) == {"first_response", "resolution"}
    assert clocks["first_response"]["target_seconds"] == 3600
    assert clocks["resolution"]["state"] == "on_track"
    assert body["sla"]["state"] == "on_track"
    assert body["sla"]["due_at"] == clocks["first_response"]["due_at"]


# --- Lifecycle and permissions -----------------------------------------------------------------


def test_agents_assign_and_change_priority_requesters_may_not(api_as, ticket, it_agent, requester):
    assert api_as(requester).post(detail(ticket) + "assign/", {"assignee": it_agent.username},
                                  format="json").status_code == 403  # fmt: skip
    response = api_as(it_agent).post(
        detail(ticket) + "assign/", {"assignee": it_agent.username}, format="json"
    )
    assert response.status_code == 200 and response.json()["assignee"]["id"] == it_agent.pk
    assert (
        api_as(requester).patch(detail(ticket), {"priority": 4}, format="json").status_code == 403
    )
    response = api_as(it_agent).patch(detail(ticket), {"priority": 4}, format="json")
    assert response.json()["priority"] == 4


def test_assigning_someone_outside_the_department_is_bad_input(api_as, ticket, it_agent, hr_agent):
    response = api_as(it_agent).post(
        detail(ticket) + "assign/", {"assignee": hr_agent.username}, format="json"
    )
    assert response.status_code == 400
    assert list(error(response)["fields"]) == ["assignee"]


def test_refused_transitions_are_409(api_as, ticket, it_agent, requester):
    agent = api_as(it_agent)
    response = agent.post(detail(ticket) + "transition/", {"status": "closed"}, format="json")
    assert response.status_code == 409
    assert error(response)["message"] == "A ticket that is new cannot become closed."
    assert agent.post(detail(ticket) + "transition/", {"status": "resolved"},
                      format="json").status_code == 200  # fmt: skip
    # The requester reopens a resolved ticket; cancelling it now is refused.
    assert api_as(requester).post(detail(ticket) + "reopen/", format="json").status_code == 200
    response = api_as(requester).post(detail(ticket) + "cancel/", format="json")
    assert response.status_code == 409


def test_requester_may_cancel_a_new_request_and_not_resolve_it(api_as, ticket, requester):
    api = api_as(requester)
    response = api.post(detail(ticket) + "transition/", {"status": "resolved"}, format="json")
    assert response.status_code == 403
    assert (
        api.post(detail(ticket) + "cancel/", {"note": "Sorted."}, format="json").json()["status"]
        == Status.CANCELLED
    )


def test_transfer(api_as, ticket, it_agent, hr_type):
    response = api_as(it_agent).post(
        detail(ticket) + "transfer/", {"request_type": hr_type.pk, "reason": "Payroll."},
        format="json",
    )  # fmt: skip
    assert response.status_code == 200, response.json()
    assert response.json()["department"]["code"] == "HR"
    # The answer shows the result; from now on IT's agent can no longer see the ticket.
    assert api_as(it_agent).get(detail(ticket)).status_code == 404


# --- Comments -----------------------------------------------------------------------------------


def test_internal_notes_are_for_agents_only(api_as, ticket, it_agent, requester):
    agent, asker = api_as(it_agent), api_as(requester)
    note = agent.post(detail(ticket) + "comments/", {"body": "Check stock.", "is_internal": True},
                      format="json")  # fmt: skip
    assert note.status_code == 201 and note.json()["is_internal"] is True
    reply = agent.post(detail(ticket) + "comments/", {"body": "On it."}, format="json")
    assert reply.status_code == 201
    assert [c["body"] for c in asker.get(detail(ticket) + "comments/").json()] == ["On it."]
    assert [c["body"] for c in agent.get(detail(ticket) + "comments/").json()] == [
        "Check stock.",
        "On it.",
    ]
    response = asker.post(detail(ticket) + "comments/", {"body": "x", "is_internal": True},
                          format="json")  # fmt: skip
    assert response.status_code == 403
    assert Comment.objects.filter(ticket=ticket, body="x").count() == 0


def test_an_empty_comment_is_bad_input(api_as, ticket, requester):
    response = api_as(requester).post(detail(ticket) + "comments/", {"body": " "}, format="json")
    assert response.status_code == 400
    assert "body" in error(response)["fields"]


def test_another_agent_of_the_department_sees_everything(api_as, ticket, it):
    colleague = agent_of(it)
    assert api_as(colleague).get(detail(ticket)).status_code == 200


# --- Attachments ------------------------------------------------------------------------------


def test_upload_with_a_comment_and_download(api_as, ticket, requester, hr_agent, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    api = api_as(requester)
    upload = SimpleUploadedFile("screen.png", b"\x89PNG fake", content_type="image/png")
    response = api.post(
        detail(ticket) + "comments/", {"body": "Here.", "attachments": [upload]}, format="multipart"
    )
    assert response.status_code == 201, response.json()
    (attachment,) = response.json()["attachments"]
    assert attachment["filename"] == "screen.png" and attachment["size"] == 9
    download = api.get(attachment["url"])
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == b"\x89PNG fake"
    assert api_as(hr_agent).get(attachment["url"]).status_code == 404


def test_upload_limits_are_the_forms(api_as, ticket, requester, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.ATTACHMENT_MAX_BYTES = 4
    upload = SimpleUploadedFile("big.png", b"12345", content_type="image/png")
    response = api_as(requester).post(
        detail(ticket) + "comments/", {"body": "Here.", "attachments": [upload]}, format="multipart"
    )
    assert response.status_code == 400
    assert list(error(response)["fields"]) == ["attachments"]
    assert not Comment.objects.filter(ticket=ticket, body="Here.").exists()


def test_an_internal_notes_file_is_for_agents(api_as, ticket, it_agent, requester):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("notes.pdf", b"%PDF", content_type="application/pdf")
    response = api_as(it_agent).post(
        detail(ticket) + "comments/",
        {"body": "Internal.", "is_internal": True, "attachments": [upload]},
        format="multipart",
    )
    url = response.json()["attachments"][0]["url"]
    assert api_as(it_agent).get(url).status_code == 200
    assert api_as(requester).get(url).status_code == 404


@pytest.mark.parametrize(
    ("assignment", "postgresql", "sqlite"), [("round_robin", 5, 12), ("fewest_open", 6, 13)]
)
def test_filing_costs_a_fixed_number_of_queries(
    api_as, it, it_type, requester, it_agent, it_agent2, make_calendar, make_policy,
    assignment, postgresql, sqlite,
):  # fmt: skip
    """API filing into a department with automatic assignment, a business calendar and an
    SLA: the statements it costs (bench apifiling), pinned. PostgreSQL, round robin: the
    token with the configuration generation and the caller's memberships; the number,
    the agent and the agent's memberships; the ticket (with its SLA deadline) with its
    audit events; their emails; the clocks with their schedules and segments and the
    idle timer (5; 12 when the calendar's last change was read, the ticket, its events
    and each of the SLA rows were statements of their own and the clocks were read back
    for the answer; about 20 before). Fewest open picks the agent, with their
    memberships, in a statement of its own after the number's lock (6; 8 before). SQLite
    reads the agent and memberships apart, and writes the ticket (with its deadline), its
    events, clocks, schedules, segments and timer apart (12; 13 with fewest open; one more
    each when the deadline was an UPDATE of the ticket after its clocks)."""
    it.assignment = assignment
    it.save()
    make_calendar("Berlin", "Europe/Berlin", department=it)
    make_policy(it)
    api = api_as(requester)
    body = {"request_type": it_type.pk, "title": "Laptop", "description": "Broken."}
    assert api.post(TICKETS, body, format="json").status_code == 201  # caches warm
    with CaptureQueriesContext(connection) as captured:
        assert api.post(TICKETS, body, format="json").status_code == 201
    statements = [  # the SQL of a prepared statement's EXECUTE
        prepared_sql(q["sql"])
        for q in captured
        if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))
    ]
    assert len(statements) == (postgresql if connection.vendor == "postgresql" else sqlite), [
        s[:70] for s in statements
    ]
    assert not [s for s in statements if "tickets_configgeneration" in s][1:]

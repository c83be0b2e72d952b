"""Departments, request types, calendars, SLA policies (any signed-in caller), and the
departments' figures (their leads only)."""

from __future__ import annotations

from tests.factories import RequestFieldFactory, TicketFactory, lead_of


def test_departments_and_request_types_with_their_questions(api_as, requester, it_type):
    RequestFieldFactory(request_type=it_type, key="asset", label="Asset tag", required=True)
    api = api_as(requester)
    departments = api.get("/api/v1/departments/").json()
    assert {d["code"] for d in departments} >= {"IT"}
    assert api.get("/api/v1/departments/it/").json()["code"] == "IT"
    types = api.get("/api/v1/request-types/", {"department": "IT"}).json()
    assert [t["name"] for t in types] == [it_type.name]
    assert types[0]["fields"][0] == {
        "key": "asset", "label": "Asset tag", "kind": "text", "required": True, "choices": [],
        "help_text": "",
    }  # fmt: skip
    response = api.get("/api/v1/request-types/", {"department": "NOPE"})
    assert response.status_code == 400
    # Found by the schema fuzz run on PostgreSQL, which refuses NUL in a string: was 500.
    response = api.get("/api/v1/request-types/", {"department": "I\x00T"})
    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert fields == {"department": ["No department has the code “I\x00T”."]}
    assert api.get("/api/v1/departments/NOPE/").status_code == 404
    assert api.get("/api/v1/departments/I%00T/").status_code == 404
    assert api.get("/api/v1/tickets/I%00T-1/").status_code == 404


def test_calendars_and_policies_are_readable(api_as, requester):
    api = api_as(requester)
    assert api.get("/api/v1/calendars/").status_code == 200
    assert api.get("/api/v1/sla-policies/").status_code == 200
    assert api.post("/api/v1/sla-policies/", {}, format="json").status_code == 405


def test_figures_are_for_the_departments_leads(api_as, it, it_type, requester, it_agent, superuser):
    TicketFactory(request_type=it_type, created_by=requester)
    lead = lead_of(it)
    for path in ("/api/v1/departments/IT/dashboard/", "/api/v1/departments/IT/survey-results/"):
        assert api_as(it_agent).get(path).status_code == 403
        assert api_as(requester).get(path).status_code == 403
        assert api_as(lead).get(path).status_code == 200
        assert api_as(superuser).get(path).status_code == 200
    board = api_as(lead).get("/api/v1/departments/IT/dashboard/").json()
    assert board["created"] == 1
    assert board["by_requesting_department"][0]["name"] == "Sales"


def test_a_bad_period_is_bad_input(api_as, it):
    lead = lead_of(it)
    response = api_as(lead).get(
        "/api/v1/departments/IT/dashboard/", {"first_day": "2026-03-10", "last_day": "2026-03-01"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "The period ends before it starts."
    response = api_as(lead).get("/api/v1/departments/IT/dashboard/", {"first_day": "soon"})
    assert list(response.json()["error"]["fields"]) == ["first_day"]

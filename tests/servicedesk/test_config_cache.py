"""The per-process configuration cache (servicedesk/config.py): kept while nothing
changes, rebuilt after a save in this process and after a change elsewhere (another
process's save moves the generation row)."""

from __future__ import annotations

from datetime import UTC, datetime

from django.db import connection
from django.test.utils import CaptureQueriesContext

from servicedesk.config import config_cached
from slas.models import SlaPolicy
from slas.services import policy_for
from tests.factories import TicketFactory
from tickets.models import ConfigGeneration, Department
from tickets.selectors import request_type_by_id

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def another_process_changed_the_configuration() -> None:
    """What config_changed() in another process leaves behind: a new generation value
    (and this process's memory untouched)."""
    ConfigGeneration.objects.filter(pk=1).update(value=123456789)


def test_an_entry_is_loaded_once_while_nothing_changes(db):
    loads = []
    for _ in range(3):
        config_cached("key", lambda: loads.append(1) or "value")
    assert loads == [1]


def test_a_policy_saved_in_this_process_applies_to_the_next_filing(db, it_type, requester):
    ticket = TicketFactory(request_type=it_type, created_by=requester)
    assert policy_for(ticket=ticket, now=NOW) is None
    policy = SlaPolicy.objects.create(
        department=it_type.department, name="IT", first_response_minutes=60, resolution_minutes=480
    )
    assert policy_for(ticket=ticket, now=NOW) == policy
    policy.is_active = False
    policy.save()
    assert policy_for(ticket=ticket, now=NOW) is None


def test_a_change_made_by_another_process_is_seen_at_the_next_check(db, it_type, requester):
    ticket = TicketFactory(request_type=it_type, created_by=requester)
    policy = SlaPolicy.objects.create(
        department=it_type.department, name="IT", first_response_minutes=60, resolution_minutes=480
    )
    assert policy_for(ticket=ticket, now=NOW) == policy
    # Written without signals, as another process's write looks from here.
    SlaPolicy.objects.filter(pk=policy.pk).update(is_active=False)
    assert policy_for(ticket=ticket, now=NOW) == policy  # cached: the generation is unchanged
    another_process_changed_the_configuration()
    assert policy_for(ticket=ticket, now=NOW) is None


def test_a_cached_read_costs_one_small_query(db, it_type):
    request_type_by_id(it_type.pk)
    with CaptureQueriesContext(connection) as queries:
        cached = request_type_by_id(it_type.pk)
        assert [f.key for f in cached.fields.all()] == []
        assert cached.department.code == it_type.department.code
    assert [q["sql"] for q in queries] == [
        "SELECT value FROM tickets_configgeneration WHERE id = 1"
    ]


def test_filing_does_not_count_as_a_configuration_change(db, it_type, requester):
    before = ConfigGeneration.objects.get(pk=1).value
    TicketFactory(request_type=it_type, created_by=requester)  # moves the department's counter
    Department.objects.get(pk=it_type.department_id).save(update_fields=["last_assigned_to"])
    assert ConfigGeneration.objects.get(pk=1).value == before
    it_type.department.name = "Information Technology"
    it_type.department.save()
    assert ConfigGeneration.objects.get(pk=1).value != before


def test_an_api_request_reads_the_generation_with_its_token(db, it_type, requester):
    from rest_framework.test import APIClient

    from api.services import api_token_create
    from servicedesk.db import prepared_sql

    _, raw = api_token_create(user=requester, name="tests", created_by=requester)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")

    def file() -> int:
        body = {"request_type": it_type.pk, "title": "Laptop", "description": "Broken."}
        return client.post("/api/v1/tickets/", body, format="json").status_code

    assert file() == 201
    with CaptureQueriesContext(connection) as queries:
        assert file() == 201
    statements = [prepared_sql(q["sql"]) for q in queries]  # the SQL of EXECUTEs
    assert not [sql for sql in statements if "tickets_configgeneration" in sql][1:]
    assert "tickets_configgeneration" in statements[0]  # in the token's query
    # Another process closes the request type: seen once the generation moves.
    type(it_type).objects.filter(pk=it_type.pk).update(is_active=False)
    assert file() == 201  # the same generation: the cached type
    another_process_changed_the_configuration()
    assert file() == 400

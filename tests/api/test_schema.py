"""The OpenAPI contract: served, valid, every error documented; and a schema-driven fuzz
run (schemathesis) over every operation, in process through the WSGI app: no server
error, no response that contradicts the schema."""

from __future__ import annotations

import os
import re

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings

from api.services import api_token_create
from servicedesk.wsgi import application
from tests.factories import RequestFieldFactory, TicketFactory, lead_of

SCHEMA = "/api/schema/"
FUZZ_EXAMPLES = int(os.environ.get("API_FUZZ_EXAMPLES", "25"))


def test_the_schema_documents_every_error(client):
    response = client.get(SCHEMA, {"format": "json"})
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    operations = [
        (path, method, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
    ]
    assert len(operations) >= 20
    for path, method, operation in operations:
        codes = set(operation["responses"])
        assert {"400", "401", "403", "429"} <= codes, (method, path, codes)
        if "{" in path:
            assert "404" in codes, (method, path)
        error = operation["responses"]["400"]["content"]["application/json"]["schema"]
        assert error == {"$ref": "#/components/schemas/Error"}, (method, path)
    transition = schema["paths"]["/api/v1/tickets/{reference}/transition/"]["post"]
    assert "409" in transition["responses"]


def test_the_interactive_docs_are_served_from_our_own_files(client, requester):
    client.force_login(requester)
    html = client.get("/api/docs/").content.decode()
    assert "swagger-ui" in html and "/static/drf_spectacular_sidecar/" in html
    loaded = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", html)
    assert loaded, html
    assert all(url.startswith("/") for url in loaded), loaded
    assert not re.search(r"https?://", html), "the docs page names an outside address"


@pytest.fixture
def _keep_the_test_connection(db):
    """As Django's test client does: the end of a request must not close the test's
    database connection (it holds the test's transaction)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def fuzz_token(_keep_the_test_connection, it, it_type, requester):
    """A lead of IT with tickets, a request type with a question, and a token."""
    lead = lead_of(it, username="fuzzy")
    RequestFieldFactory(request_type=it_type, key="asset", required=False)
    for _ in range(3):
        TicketFactory(request_type=it_type, created_by=requester)
    _, raw = api_token_create(user=lead, name="fuzz", created_by=lead)
    return raw


# Loaded once, at collection, through the WSGI app (the schema view reads no database).
fuzz = schemathesis.openapi.from_wsgi(SCHEMA, application)


@fuzz.parametrize()
@settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_fuzz_no_server_errors_and_no_schema_violations(case, fuzz_token):
    # Not checked: that any schema-valid input is accepted (an unknown request type id or
    # reference is valid JSON, and rightly refused with 400 / 404).
    case.call_and_validate(
        headers={"Authorization": f"Bearer {fuzz_token}"},
        excluded_checks=[schemathesis.checks.positive_data_acceptance],
    )

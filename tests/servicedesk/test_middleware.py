"""A NUL character in a page's address: no page (404) in a department's code
(servicedesk/converters.py), bad input (400) in the query (servicedesk/middleware.py),
whatever the view would do with it."""

from __future__ import annotations

import pytest

from tests.factories import DepartmentFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("url", ["/queue/I%00T/", "/requests/new/I%00T/", "/kb/departments/I%00T/"])
def test_a_nul_in_the_path_names_no_page(client, url):
    DepartmentFactory(code="IT")
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    assert client.get(url).status_code == 404
    assert client.get(url.replace("I%00T", "IT")).status_code != 404  # the page itself


@pytest.mark.parametrize("url", ["/kb/search/?q=printer%00", "/tickets/IT-1/?after=%00"])
def test_a_nul_in_the_query_is_a_bad_request(client, url):
    client.force_login(UserFactory())
    response = client.get(url)
    assert response.status_code == 400
    assert "read that address" in response.content.decode()


def test_the_api_answers_for_itself(client):
    """Its error shape, from its own checks (tests/api/test_reference.py)."""
    client.force_login(UserFactory())
    response = client.get("/api/v1/request-types/?department=I%00T")
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["department"]

"""A NUL character in a page's address: a 400 page, whatever the view would do with it."""

from __future__ import annotations

import pytest

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "url",
    [
        "/queue/I%00T/",
        "/requests/new/I%00T/",
        "/kb/departments/I%00T/",
        "/kb/search/?q=printer%00",
        "/tickets/IT-1/?after=%00",
    ],
)
def test_a_nul_in_the_address_is_a_bad_request(client, url):
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

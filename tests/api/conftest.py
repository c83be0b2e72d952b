"""API clients: a DRF APIClient per person, signed in with a real personal token."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from api.services import api_token_create
from tests.slas.conftest import _fresh_calendar_cache, make_calendar, make_policy

__all__ = ["_fresh_calendar_cache", "make_calendar", "make_policy"]


@pytest.fixture(autouse=True)
def _fresh_rate_counts():
    cache.clear()  # the rate limits count in the cache
    yield
    cache.clear()


@pytest.fixture
def api_as() -> Callable[..., APIClient]:
    def make(user) -> APIClient:
        _, raw = api_token_create(user=user, name="tests", created_by=user)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        return client

    return make

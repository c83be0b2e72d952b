"""API tokens: made and shown once, stored hashed, revoked at once; personal in the
browser, service tokens by admins; and the per-token rate limit."""

from __future__ import annotations

import hashlib
import threading
import time
import uuid
from datetime import UTC, datetime

import pytest
import time_machine
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.core.exceptions import PermissionDenied, ValidationError
from rest_framework.test import APIClient

from accounts.models import User
from api.models import ApiToken
from api.services import (
    MAX_ACTIVE_PERSONAL,
    api_token_authenticate,
    api_token_create,
    api_token_revoke,
)
from api.throttling import TokenRateThrottle, count_request


def bearer(raw: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def test_only_a_prefix_and_a_hash_are_stored(requester):
    token, raw = api_token_create(user=requester, name="Scripts", created_by=requester)
    _, prefix, secret = raw.split("_", 2)
    stored = ApiToken.objects.get(pk=token.pk)
    assert stored.prefix == prefix
    assert stored.key_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in str(stored.__dict__)


def test_a_revoked_token_is_refused_at_once(requester, ticket):
    token, raw = api_token_create(user=requester, name="Scripts", created_by=requester)
    assert bearer(raw).get("/api/v1/tickets/").status_code == 200
    api_token_revoke(token=token, actor=requester)
    assert bearer(raw).get("/api/v1/tickets/").status_code == 401
    assert (
        bearer(raw[:-1] + ("A" if raw[-1] != "A" else "B")).get("/api/v1/tickets/").status_code
        == 401
    )


def fields(instance) -> dict:
    return {f.attname: getattr(instance, f.attname) for f in type(instance)._meta.concrete_fields}


@pytest.mark.parametrize("with_home_department", [True, False])
def test_the_token_comes_with_its_user_as_the_orm_reads_them(requester, with_home_department):
    """The lookup is hand-written SQL (servicedesk.db.model_from_row): the token, its user
    and the user's home department must be what the ORM reads, value for value and type
    for type (SQLite returns datetimes and booleans as text and numbers)."""
    if not with_home_department:
        requester.home_department = None
        requester.save()
    token, raw = api_token_create(user=requester, name="Scripts", created_by=requester)
    found = api_token_authenticate(raw)
    assert found is not None
    stored = ApiToken.objects.get(pk=token.pk)
    user = User.objects.select_related("home_department").get(pk=requester.pk)
    for mine, orm in [(found, stored), (found.user, user)]:
        assert fields(mine) == fields(orm)
        assert {k: type(v) for k, v in fields(mine).items()} == {
            k: type(v) for k, v in fields(orm).items()
        }
    if with_home_department:
        assert fields(found.user.home_department) == fields(user.home_department)
    else:
        assert found.user.home_department is None


def test_an_inactive_users_token_is_refused(requester, ticket):
    _, raw = api_token_create(user=requester, name="Scripts", created_by=requester)
    requester.is_active = False
    requester.save()
    assert bearer(raw).get("/api/v1/tickets/").status_code == 401


def test_who_may_make_and_revoke_tokens(requester, colleague, superuser):
    with pytest.raises(PermissionDenied):
        api_token_create(user=requester, name="x", created_by=colleague)
    with pytest.raises(PermissionDenied):
        api_token_create(user=requester, name="x", kind=ApiToken.Kind.SERVICE, created_by=requester)
    token, _ = api_token_create(user=requester, name="x", kind=ApiToken.Kind.SERVICE,
                                created_by=superuser)  # fmt: skip
    with pytest.raises(PermissionDenied):
        api_token_revoke(token=token, actor=colleague)
    assert api_token_revoke(token=token, actor=superuser).revoked_at is not None


def test_bad_names_and_too_many_tokens(requester):
    with pytest.raises(ValidationError) as error:
        api_token_create(user=requester, name="  ", created_by=requester)
    assert error.value.message_dict == {"name": ["Name the token after what will use it."]}
    for n in range(MAX_ACTIVE_PERSONAL):
        api_token_create(user=requester, name=f"t{n}", created_by=requester)
    with pytest.raises(ValidationError):
        api_token_create(user=requester, name="one more", created_by=requester)
    assert ApiToken.objects.filter(user=requester).count() == MAX_ACTIVE_PERSONAL


def test_the_tokens_page_shows_a_new_token_once(client, requester, ticket):
    client.force_login(requester)
    response = client.post("/api/tokens/", {"name": "My scripts"}, follow=True)
    html = response.content.decode()
    raw = response.context["new_token"]["token"]
    assert raw in html and "will not be shown again" in html
    assert bearer(raw).get("/api/v1/tickets/").status_code == 200
    assert raw not in client.get("/api/tokens/").content.decode()  # once
    token = ApiToken.objects.get(user=requester)
    client.post(f"/api/tokens/{token.pk}/revoke/")
    assert bearer(raw).get("/api/v1/tickets/").status_code == 401


def test_the_tokens_page_says_what_is_wrong(client, requester, colleague):
    client.force_login(requester)
    response = client.post("/api/tokens/", {"name": ""})
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    theirs, _ = api_token_create(user=colleague, name="x", created_by=colleague)
    assert client.post(f"/api/tokens/{theirs.pk}/revoke/").status_code == 404
    assert ApiToken.objects.get(pk=theirs.pk).revoked_at is None


def test_admins_make_service_tokens_in_admin(client, superuser, requester):
    client.force_login(superuser)
    response = client.post(
        "/admin/api/apitoken/add/", {"user": requester.pk, "name": "HR system"}, follow=True
    )
    token = ApiToken.objects.get(name="HR system")
    assert token.kind == ApiToken.Kind.SERVICE and token.created_by == superuser
    message = next(str(m) for m in response.context["messages"])
    raw = message.split(": ", 1)[1].split(" ")[0]
    assert bearer(raw).get("/api/v1/departments/").status_code == 200


def test_the_rate_limit_is_per_token_with_a_clear_429(requester, colleague, monkeypatch):
    monkeypatch.setattr(TokenRateThrottle, "rate", "3/min", raising=False)
    _, raw = api_token_create(user=requester, name="a", created_by=requester)
    _, other = api_token_create(user=colleague, name="b", created_by=colleague)
    api = bearer(raw)
    # 45 s into a minute: the window (the minute) has 15 s left.
    with time_machine.travel(datetime(2026, 3, 2, 9, 30, 45, tzinfo=UTC), tick=False):
        for _ in range(3):
            assert api.get("/api/v1/departments/").status_code == 200
        response = api.get("/api/v1/departments/")
        assert response.status_code == 429
        body = response.json()["error"]
        assert body["code"] == "throttled" and body["retry_after_seconds"] == 16
        assert response["Retry-After"] == "15"
        assert bearer(other).get("/api/v1/departments/").status_code == 200
    with time_machine.travel(datetime(2026, 3, 2, 9, 31, 0, tzinfo=UTC), tick=False):
        assert api.get("/api/v1/departments/").status_code == 200


def test_concurrent_requests_cannot_slip_past_the_rate_limit():
    """Every request gets a count of its own (no read-then-write race between threads or
    processes), on whichever cache is configured (locmem, or Redis with CACHE_URL)."""
    cache = caches["default"]
    key = f"test-rate:{uuid.uuid4().hex}"
    counts: list[int] = []
    start = threading.Barrier(8)

    def hit() -> None:
        start.wait()
        counts.extend(count_request(cache, key, timeout=60) for _ in range(25))

    threads = [threading.Thread(target=hit) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(counts) == list(range(1, 201))


def test_a_rate_counter_expires_with_its_window():
    cache = caches["default"]
    key = f"test-rate:{uuid.uuid4().hex}"
    assert count_request(cache, key, timeout=60) == 1
    assert count_request(cache, key, timeout=60) == 2
    if isinstance(cache, RedisCache):
        ttl = cache._cache.get_client(write=True).ttl(cache.make_and_validate_key(key))
    else:
        ttl = cache._expire_info[cache.make_and_validate_key(key)] - time.time()  # type: ignore[attr-defined]
    assert 0 < ttl <= 60

from __future__ import annotations

from typing import Any

from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.cache.backends.base import BaseCache
from django.core.cache.backends.redis import RedisCache
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from api.models import ApiToken

# Count one request in a window's counter and start the counter's expiry with the
# window: one round trip, atomic (two web processes cannot both read 1199 and let their
# requests through, as with a read and a write).
_COUNT_SCRIPT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then
    redis.call('EXPIRE', KEYS[1], ARGV[1])
end
return count
"""


class TokenRateThrottle(SimpleRateThrottle):
    """Requests per token (settings API_RATE_LIMIT, e.g. "1200/min"); the browser's
    session counts per user. The count lives in the default cache: set CACHE_URL to a
    Redis server so that all web processes share it.

    Fixed windows (a minute for "/min", starting on the minute): each request adds one to
    its window's counter in a single round trip, and a refused request's Retry-After is
    the time left in the window. DRF's own throttle keeps a list of timestamps per key
    (sliding, exact) and costs a read and a write of that growing list per request,
    racing with the other processes between the two. A fixed window lets a client send
    up to twice the rate across a window's boundary; the limit is there to stop runaway
    integrations, not to meter."""

    scope = "token"
    # Set by SimpleRateThrottle.__init__ from the rate (djangorestframework-stubs omit them).
    num_requests: int | None
    duration: int | None

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if isinstance(request.auth, ApiToken):
            ident = f"token:{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"ip:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}

    def allow_request(self, request: Request, view: Any) -> bool:
        if self.rate is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        assert self.duration is not None and self.num_requests is not None
        now = self.timer()
        window = int(now // self.duration)
        self.seconds_left = (window + 1) * self.duration - now
        # The cache itself, not django.core.cache.cache (a proxy: isinstance sees the proxy).
        cache = caches[DEFAULT_CACHE_ALIAS]
        count = count_request(cache, f"{key}:{window}", timeout=self.duration)
        return count <= self.num_requests

    def wait(self) -> float:
        return self.seconds_left


def count_request(cache: BaseCache, key: str, *, timeout: int) -> int:
    """Add one to the counter `key` (created at 0, expiring `timeout` seconds after its
    first request) and return its new value."""
    if isinstance(cache, RedisCache):
        full_key = cache.make_and_validate_key(key)
        # The backend's own redis-py client (the same connection pool as cache.get):
        # Django's cache API has no increment that creates the key and sets its expiry.
        client = cache._cache.get_client(full_key, write=True)
        return int(client.eval(_COUNT_SCRIPT, 1, full_key, timeout))
    # Other caches (the local-memory default): add() is a no-op when the key exists and
    # incr() is atomic per process. A key that expires between the two starts again at 1.
    cache.add(key, 0, timeout)
    try:
        return cache.incr(key)
    except ValueError:
        cache.add(key, 1, timeout)
        return 1

"""Read-mostly configuration, cached per process and exact across processes.

Filing a ticket reads configuration that changes a few times a year: the request type
with its questions, the department's SLA policies and "no update" rules, whether anyone
subscribes to webhooks. Building each of those ORM queries cost more Python than running
it (cProfile of a filing). Entries live in each process and are valid while the
configuration generation (the one row of tickets.ConfigGeneration) keeps the value they
were built at. `config_changed()` gives it a new random value (a counter could come back
to a value already cached after a rolled-back change); the apps call it from post_save and
post_delete of the models involved (`invalidate_on_change` in their ready()), so an edit
in admin reaches every process at its next check. Code that changes those models with
QuerySet.update() or bulk_create() calls `config_changed()` itself.

The generation is read once per HTTP request (the request then sees the configuration as
it was when it started) and at every use elsewhere (Celery tasks, commands, tests).
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Hashable
from typing import Any, TypeVar, cast

from django.core.signals import request_finished, request_started
from django.db import connection, models
from django.db.models.signals import post_delete, post_save

T = TypeVar("T")

_lock = threading.Lock()
_entries: dict[Hashable, object] = {}
_built_at: list[int | None] = [None]  # the generation _entries belong to
_request = threading.local()  # generation read in the current request, if any


def config_cached(key: Hashable, load: Callable[[], T]) -> T:
    """`load()`'s value, from this process's cache while the configuration is unchanged.
    What `load` returns is shared: callers must not change it."""
    generation = _generation()
    with _lock:
        if _built_at[0] != generation:
            _entries.clear()
            _built_at[0] = generation
        if key in _entries:
            return cast("T", _entries[key])
    value = load()
    with _lock:
        if _built_at[0] == generation:
            _entries[key] = value
    return value


def config_changed() -> None:
    """Configuration was written: every process builds its entries again."""
    from tickets.models import ConfigGeneration

    value = secrets.randbits(62)
    if not ConfigGeneration.objects.filter(pk=1).update(value=value):
        ConfigGeneration.objects.update_or_create(pk=1, defaults={"value": value})
    with _lock:
        _entries.clear()
        _built_at[0] = None
    if getattr(_request, "active", False):
        _request.generation = value


def config_cache_clear() -> None:
    """Forget every entry and any request in progress (tests: SQLite reuses ids after a
    test's rollback, and a test client's response left unclosed never ends its request)."""
    with _lock:
        _entries.clear()
        _built_at[0] = None
    _request.active, _request.generation = False, None


def invalidate_on_change(
    model: type[models.Model], *, except_fields: frozenset[str] = frozenset()
) -> None:
    """Call config_changed() when a `model` row is saved or deleted; not for a save of
    only `except_fields` (a department's ticket counter is not configuration)."""

    def saved(*, update_fields: frozenset[str] | None = None, **_: Any) -> None:
        if update_fields is None or not set(update_fields) <= except_fields:
            config_changed()

    def deleted(**_: Any) -> None:
        config_changed()

    uid = f"config:{model._meta.label}"
    post_save.connect(saved, sender=model, weak=False, dispatch_uid=uid)
    post_delete.connect(deleted, sender=model, weak=False, dispatch_uid=uid)


_GENERATION_SQL = "SELECT value FROM tickets_configgeneration WHERE id = 1"


def config_generation_sql() -> str:
    """The generation as a column (SQL) of another query: a request that starts with a
    query anyway (the API's token lookup) reads it there, one round trip fewer. Pass what
    it read to `config_generation_read`."""
    return f"COALESCE(({_GENERATION_SQL}), 0)"


def config_generation_read(value: int) -> None:
    """The current request's generation, read by another query (config_generation_sql)
    at its start; kept unless the request read one already."""
    if getattr(_request, "active", False) and _request.generation is None:
        _request.generation = value


def _generation() -> int:
    if getattr(_request, "active", False) and _request.generation is not None:
        return cast("int", _request.generation)
    with connection.cursor() as cursor:
        cursor.execute(_GENERATION_SQL)
        row = cursor.fetchone()
    value = row[0] if row else 0
    if getattr(_request, "active", False):
        _request.generation = value
    return cast("int", value)


def _request_began(**_: Any) -> None:
    _request.active, _request.generation = True, None


def _request_ended(**_: Any) -> None:
    _request.active, _request.generation = False, None


request_started.connect(_request_began, dispatch_uid="config:request_started")
request_finished.connect(_request_ended, dispatch_uid="config:request_finished")

"""API tokens: made, used and revoked only through here."""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import User
from api.models import ApiToken
from servicedesk.config import config_generation_read, config_generation_sql
from servicedesk.db import execute_prepared, model_columns, model_from_row
from tickets.models import Department
from tickets.selectors import user_memberships_known, user_memberships_sql

MAX_ACTIVE_PERSONAL = 20
# last_used_at is written at most this often per token: not a write per request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def _hash(secret: str) -> str:
    # The secret is 256 random bits: a plain hash is enough (no guessing to slow down).
    return hashlib.sha256(secret.encode()).hexdigest()


def api_token_create(
    *, user: User, name: str, kind: str = ApiToken.Kind.PERSONAL, created_by: User,
    now: datetime | None = None,
) -> tuple[ApiToken, str]:  # fmt: skip
    """A new token for `user` and the whole token text, which is not stored and cannot
    be shown again. Personal tokens are made by their owner; service tokens (for
    integrations) by a superuser only."""
    now = now or timezone.now()
    name = (name or "").strip()
    if kind == ApiToken.Kind.SERVICE and not created_by.is_superuser:
        raise PermissionDenied("Only an administrator can make a service token.")
    if kind == ApiToken.Kind.PERSONAL and created_by.pk != user.pk:
        raise PermissionDenied("A personal token is made by its owner.")
    errors: dict[str, list[str]] = {}
    if kind not in ApiToken.Kind.values:
        errors["kind"] = ["Choose personal or service."]
    if not name:
        errors["name"] = ["Name the token after what will use it."]
    elif len(name) > 100:
        errors["name"] = ["Keep the name under 100 characters."]
    if not user.is_active:
        errors["user"] = ["This account is inactive."]
    with transaction.atomic():
        active = ApiToken.objects.select_for_update().filter(
            user=user, kind=ApiToken.Kind.PERSONAL, revoked_at__isnull=True
        )
        if kind == ApiToken.Kind.PERSONAL and len(active) >= MAX_ACTIVE_PERSONAL:
            errors["name"] = [
                f"You have {MAX_ACTIVE_PERSONAL} active tokens: revoke one you no longer use."
            ]
        if errors:
            raise ValidationError(errors)
        prefix = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        token = ApiToken.objects.create(
            user=user,
            name=name,
            kind=kind,
            prefix=prefix,
            key_hash=_hash(secret),
            created_at=now,
            created_by=created_by,
        )
    return token, f"sd_{prefix}_{secret}"


def api_token_revoke(*, token: ApiToken, actor: User, now: datetime | None = None) -> ApiToken:
    """Revoke the token at once (its owner, or a superuser). Revoking twice is harmless."""
    if not (actor.is_superuser or actor.pk == token.user_id):
        raise PermissionDenied("Only the token's owner or an administrator can revoke it.")
    now = now or timezone.now()
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=now)
    token.refresh_from_db(fields=["revoked_at"])
    return token


def api_token_authenticate(raw: str, *, now: datetime | None = None) -> ApiToken | None:
    """The active token `raw` is (with its user), or None: malformed, unknown, revoked,
    or its user inactive. Notes the use (at most once a minute)."""
    parts = raw.split("_", 2)  # the secret itself may hold "_"
    if len(parts) != 3 or parts[0] != "sd" or not parts[1] or not parts[2]:
        return None
    _, prefix, secret = parts
    with connection.cursor() as cursor:
        execute_prepared(cursor, label="api_token", sql=_token_sql(), params=[prefix])
        row = cursor.fetchone()
    if row is None:
        return None
    token = _token_from_row(row)
    if not hmac.compare_digest(token.key_hash, _hash(secret)):
        return None
    if token.revoked_at is not None or not token.user.is_active:
        return None
    now = now or timezone.now()
    if token.last_used_at is None or token.last_used_at < now - LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


# The token, its user and the user's home department are read by one hand-written query
# (servicedesk.db.model_from_row): it runs on every API request, and the ORM's compiling
# of the select_related cost more Python than the rest of authentication. With them come
# the configuration generation (servicedesk/config.py) and, on PostgreSQL, the user's
# memberships, which nearly every endpoint's permission check needs.
_TOKEN_MODELS = (ApiToken, User, Department)


@functools.cache
def _token_sql_for(vendor: str) -> str:
    token, user, department = (model._meta.db_table for model in _TOKEN_MODELS)
    columns = ", ".join(
        model_columns(model, alias) for model, alias in zip(_TOKEN_MODELS, "tud", strict=True)
    )
    memberships = user_memberships_sql("t.user_id") if vendor == "postgresql" else "NULL"
    return (
        f"SELECT {columns}, {config_generation_sql()}, {memberships} "  # noqa: S608 (names from the code)
        f"FROM {token} t JOIN {user} u ON u.id = t.user_id "
        f"LEFT JOIN {department} d ON d.id = u.home_department_id WHERE t.prefix = %s"
    )


def _token_sql() -> str:
    return _token_sql_for(connection.vendor)


def _token_from_row(row: Sequence[Any]) -> ApiToken:
    widths = [len(model._meta.concrete_fields) for model in _TOKEN_MODELS]
    token_end = widths[0]
    user_end = token_end + widths[1]
    department_end = user_end + widths[2]
    token = model_from_row(ApiToken, row[:token_end])
    user = model_from_row(User, row[token_end:user_end])
    if row[user_end] is not None:  # the department's id: a LEFT JOIN
        user.home_department = model_from_row(Department, row[user_end:department_end])
    else:
        user.home_department = None
    token.user = user
    generation, memberships = row[department_end:]
    config_generation_read(generation)
    if memberships is not None:
        user_memberships_known(user, memberships)
    return token

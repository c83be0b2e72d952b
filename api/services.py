"""API tokens: made, used and revoked only through here."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models.expressions import RawSQL
from django.utils import timezone

from accounts.models import User
from api.models import ApiToken
from servicedesk.config import config_generation_column, config_generation_read
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
    # The configuration generation comes with the token (servicedesk/config.py), and on
    # PostgreSQL the user's memberships, which nearly every endpoint's permission check
    # needs: the request's first query reads all three.
    columns: dict[str, Any] = {"config_generation": config_generation_column()}
    if connection.vendor == "postgresql":
        user_id = f'"{ApiToken._meta.db_table}"."user_id"'
        columns["memberships"] = RawSQL(user_memberships_sql(user_id), ())  # noqa: S611
    # The prefix is unique: no ORDER BY (.first() would add the model's, and Django spends
    # more Python matching it against the joined columns than on the rest of the query).
    found: Any = next(  # the token with those columns
        iter(
            ApiToken.objects.select_related("user__home_department")
            .annotate(**columns)
            .filter(prefix=prefix)
            .order_by()
        ),
        None,
    )
    if found is None:
        return None
    config_generation_read(found.config_generation)
    if connection.vendor == "postgresql":
        user_memberships_known(found.user, found.memberships)
    token: ApiToken = found
    if not hmac.compare_digest(token.key_hash, _hash(secret)):
        return None
    if token.revoked_at is not None or not token.user.is_active:
        return None
    now = now or timezone.now()
    if token.last_used_at is None or token.last_used_at < now - LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest
from django.utils import timezone

from api.models import ApiToken
from api.services import api_token_create, api_token_revoke


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Service tokens for integrations: pick (or make) the integration's user account, name
    the token, save; the token is shown once, in the message after saving."""

    list_display = ("name", "user", "kind", "prefix", "created_at", "last_used_at", "revoked_at")
    list_filter = ("kind", ("revoked_at", admin.EmptyFieldListFilter))
    search_fields = ("name", "user__username", "prefix")
    readonly_fields = ("prefix", "created_at", "created_by", "last_used_at", "revoked_at")
    autocomplete_fields = ("user",)
    actions = ["revoke"]

    def get_fields(self, request: HttpRequest, obj: ApiToken | None = None) -> Any:
        if obj is None:
            return ["user", "name"]
        return ["user", "name", "kind", *self.readonly_fields]

    def get_readonly_fields(self, request: HttpRequest, obj: ApiToken | None = None) -> Any:
        return (*self.readonly_fields, "user", "name", "kind") if obj else ()

    def has_add_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_superuser)

    def save_model(self, request: HttpRequest, obj: ApiToken, form: Any, change: bool) -> None:
        if change:
            return  # nothing of a token changes after it is made
        token, raw = api_token_create(
            user=obj.user,
            name=obj.name,
            kind=ApiToken.Kind.SERVICE,
            created_by=request.user,  # type: ignore[arg-type]
        )
        obj.pk = token.pk
        obj.__dict__.update(token.__dict__)
        messages.warning(
            request,
            f"Service token for {token.user}: {raw} — copy it now, it will not be shown again.",
        )

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request: HttpRequest, queryset: Any) -> None:
        now = timezone.now()
        for token in queryset:
            api_token_revoke(token=token, actor=request.user, now=now)  # type: ignore[arg-type]
        self.message_user(request, f"Revoked {len(queryset)} token(s).")

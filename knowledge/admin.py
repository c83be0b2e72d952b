"""Django admin for the knowledge base: categories, settings, and articles (admins, and
staff leads for their own departments). Article saves go through the services, so the
rendered body, the search vector and the audit trail stay right."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts.models import User
from knowledge import services
from knowledge.models import Article, ArticleEvent, Category, KnowledgeSettings
from tickets.admin import ReadOnlyInline
from tickets.selectors import user_department_ids


def _own(request: HttpRequest, queryset: QuerySet[Any], field: str = "department") -> QuerySet[Any]:
    user: User = request.user  # type: ignore[assignment]
    if user.is_superuser:
        return queryset
    return queryset.filter(**{f"{field}__in": user_department_ids(user)})


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "department", "position"]
    list_filter = ["department"]
    search_fields = ["name"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Category]:
        return _own(request, super().get_queryset(request))


@admin.register(KnowledgeSettings)
class KnowledgeSettingsAdmin(admin.ModelAdmin):
    list_display = ["department", "review_after_days"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[KnowledgeSettings]:
        return _own(request, super().get_queryset(request))


class ArticleEventInline(ReadOnlyInline):
    model = ArticleEvent
    fields = ["created_at", "actor", "action", "message"]
    readonly_fields = ["created_at", "actor", "action", "message"]


class ArticleAdminForm(forms.ModelForm):
    class Meta:
        model = Article
        fields = ["department", "category", "title", "body", "status", "is_internal", "owner"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        try:
            services.check_article(
                department=data["department"], title=data["title"], body=data["body"],
                category=data.get("category"), status=data["status"], owner=data["owner"],
            )  # fmt: skip
        except ValidationError as error:
            for field, messages in error.message_dict.items():
                self.add_error(field if field in self.fields else None, messages)
        return data


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    form = ArticleAdminForm
    list_display = [
        "title", "department", "category", "status", "is_internal", "owner", "last_reviewed_at",
    ]  # fmt: skip
    list_filter = ["status", "is_internal", "department"]
    search_fields = ["title", "slug"]
    autocomplete_fields = ["owner"]
    readonly_fields = ["slug", "created_at", "updated_at", "published_at", "last_reviewed_at"]
    inlines = [ArticleEventInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Article]:
        return _own(request, super().get_queryset(request)).select_related(
            "department", "category", "owner"
        )

    def get_readonly_fields(self, request: HttpRequest, obj: Article | None = None) -> list[str]:
        # An article stays in its department (its slug, feedback and views belong there).
        return [*self.readonly_fields, *(["department"] if obj else [])]

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        field: Any = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "department":
            field.queryset = _own(request, field.queryset, "pk")
        elif db_field.name == "category":
            field.queryset = _own(request, field.queryset)
        return field

    def save_model(self, request: HttpRequest, obj: Article, form: Any, change: bool) -> None:
        user: User = request.user  # type: ignore[assignment]
        fields: dict[str, Any] = {
            "title": obj.title, "body": obj.body, "category": obj.category,
            "is_internal": obj.is_internal, "status": obj.status, "owner": obj.owner,
        }  # fmt: skip
        if change:
            saved = services.article_update(article=obj, actor=user, **fields)
        else:
            saved = services.article_create(actor=user, department=obj.department, **fields)
        obj.pk, obj.slug = saved.pk, saved.slug

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from outbox.models import Message
from outbox.services import outbox_retry


class StateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):  # type: ignore[no-untyped-def]
        return [("pending", "Pending"), ("delivered", "Delivered"), ("failed", "Failed")]

    def queryset(self, request, queryset):  # type: ignore[no-untyped-def]
        if self.value() == "pending":
            return queryset.filter(delivered_at__isnull=True, failed_at__isnull=True)
        if self.value() == "delivered":
            return queryset.filter(delivered_at__isnull=False)
        if self.value() == "failed":
            return queryset.filter(failed_at__isnull=False)
        return queryset


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ["id", "topic", "recipient", "state", "attempts", "created_at", "delivered_at"]
    list_filter = [StateFilter, "topic"]
    search_fields = ["dedupe_key", "last_error"]
    ordering = ["-id"]
    actions = ["retry"]
    readonly_fields = [f.name for f in Message._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.display(description="to")
    def recipient(self, obj: Message) -> str:
        return str(obj.payload.get("to", ""))

    @admin.action(description="Retry delivery of the selected messages")
    def retry(self, request: HttpRequest, queryset: QuerySet[Message]) -> None:
        count = outbox_retry(
            message_ids=list(queryset.values_list("pk", flat=True)), now=timezone.now()
        )
        self.message_user(request, f"{count} message(s) will be retried.", messages.SUCCESS)

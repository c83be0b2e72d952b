"""Django admin for the outbox: what was sent, what is waiting, and what keeps failing
(a chat webhook that answers 404, an SMTP server that is down), with the last error and
the next attempt, and an action to retry failed messages."""

from urllib.parse import urlsplit

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
        return [
            ("pending", "Pending"),
            ("retrying", "Retrying (failed at least once)"),
            ("delivered", "Delivered"),
            ("failed", "Failed (gave up)"),
        ]

    def queryset(self, request, queryset):  # type: ignore[no-untyped-def]
        if self.value() == "pending":
            return queryset.filter(delivered_at__isnull=True, failed_at__isnull=True)
        if self.value() == "retrying":
            return queryset.filter(
                delivered_at__isnull=True, failed_at__isnull=True, attempts__gt=0
            ).exclude(last_error="")
        if self.value() == "delivered":
            return queryset.filter(delivered_at__isnull=False)
        if self.value() == "failed":
            return queryset.filter(failed_at__isnull=False)
        return queryset


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "topic",
        "recipient",
        "state_display",
        "attempts",
        "created_at",
        "available_at",
        "delivered_at",
        "error",
    ]
    list_filter = [StateFilter, "topic"]
    search_fields = ["dedupe_key", "last_error"]
    ordering = ["-id"]
    show_full_result_count = False  # no exact COUNT over a long history
    actions = ["retry"]
    readonly_fields = [f.name for f in Message._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.display(description="to")
    def recipient(self, obj: Message) -> str:
        """An email's address, a webhook's host (the path of a webhook URL is its secret)."""
        if obj.topic == Message.Topic.CHAT:
            return urlsplit(str(obj.payload.get("url", ""))).netloc
        if obj.topic == Message.Topic.ESCALATION:
            return f"SLA event {obj.payload.get('event_id', '')}"
        if obj.topic == Message.Topic.WEBHOOK:
            return f"webhook subscription {obj.payload.get('subscription', '')}"
        return str(obj.payload.get("to", ""))

    @admin.display(description="state")
    def state_display(self, obj: Message) -> str:
        if obj.state == "pending" and obj.last_error:
            return "retrying"
        return obj.state

    @admin.display(description="last error")
    def error(self, obj: Message) -> str:
        return obj.last_error[:120] + ("…" if len(obj.last_error) > 120 else "")

    @admin.action(description="Retry delivery of the selected messages")
    def retry(self, request: HttpRequest, queryset: QuerySet[Message]) -> None:
        count = outbox_retry(
            message_ids=list(queryset.values_list("pk", flat=True)), now=timezone.now()
        )
        self.message_user(request, f"{count} message(s) will be retried.", messages.SUCCESS)

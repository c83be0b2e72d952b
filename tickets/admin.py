"""Django admin: departments, their members and service catalogue; tickets read-only
(changes to tickets go through the services, from the ticket screens)."""

from typing import Any
from uuid import uuid4

from django.contrib import admin, messages
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from tickets.models import (
    Comment,
    Department,
    Membership,
    RequestField,
    RequestType,
    Ticket,
    TicketEvent,
)
from tickets.notifications import notify_chat


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 1
    autocomplete_fields = ["user"]


class RequestTypeInline(admin.TabularInline):
    model = RequestType
    extra = 0
    fields = ["name", "default_priority", "is_confidential", "sla_exempt", "is_active", "position"]
    show_change_link = True


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "code",
        "contact_email",
        "assignment",
        "agents",
        "open_tickets",
        "is_active",
    ]
    list_filter = ["is_active", "assignment"]
    search_fields = ["name", "code", "description"]
    inlines = [MembershipInline, RequestTypeInline]
    autocomplete_fields = ["calendar"]
    readonly_fields = ["escalation_rules"]
    fieldsets = [
        (None, {"fields": ["name", "code", "description", "contact_email", "is_active"]}),
        ("Working tickets", {"fields": ["assignment", "auto_close_days", "calendar"]}),
        (
            "Escalations",
            {
                "fields": ["escalation_rules", "chat_webhook_url", "chat_webhook_format"],
                "description": "Escalation rules can notify the department's chat channel "
                "through an incoming webhook. Posts go through the outbox: a failing webhook "
                "is retried with backoff and shows under Outbox messages (topic “Chat "
                "webhook”). Try it with the action “Send a test message to the chat "
                "channel” on the department list.",
            },
        ),
    ]
    actions = ["send_chat_test"]

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "chat_webhook_url":
            kwargs["assume_scheme"] = "https"  # a webhook URL typed without its scheme
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: Department, form, change: bool) -> None:  # type: ignore[no-untyped-def]
        # Save only what the form changed: a full save would write back a stale
        # ticket_sequence / round-robin pointer read before a concurrent filing, and the
        # next filing would then collide with an existing reference.
        if change:
            if form.changed_data:
                obj.save(update_fields=form.changed_data)
        else:
            obj.save()

    def get_queryset(self, request: HttpRequest) -> QuerySet[Department]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                agent_count=Count("memberships", distinct=True),
                open_count=Count(
                    "tickets",
                    filter=Q(tickets__status__in=Ticket.OPEN_STATUSES),
                    distinct=True,
                ),
            )
        )

    @admin.display(description="escalation rules")
    def escalation_rules(self, obj: Department) -> str:
        """The department's rules, each linking to its page (they are edited there, with
        their actions), and a link to add one."""
        if obj.pk is None:
            return "Save the department first, then add its escalation rules."
        rules = obj.escalation_rules.order_by("level", "id")  # type: ignore[attr-defined]
        items = format_html_join(
            "",
            '<li><a href="{}">Level {} · {}</a>{}</li>',
            (
                (
                    reverse("admin:slas_escalationrule_change", args=[rule.pk]),
                    rule.level,
                    rule.name,
                    "" if rule.is_active else " (inactive)",
                )
                for rule in rules
            ),
        )
        add_url = reverse("admin:slas_escalationrule_add") + f"?department={obj.pk}"
        return format_html(
            '<ul style="margin: 0 0 8px; padding: 0; list-style: none">{}</ul>'
            '<a class="addlink" href="{}">Add a rule</a>',
            items or format_html("<li>{}</li>", "None yet."),
            add_url,
        )

    @admin.action(description="Send a test message to the chat channel", permissions=["change"])
    def send_chat_test(self, request: HttpRequest, queryset: QuerySet[Department]) -> None:
        """Queue one test post per selected department that has a webhook; the outbox
        delivers it (and shows a failure, with its error, in the outbox messages)."""
        queued, missing = [], []
        with transaction.atomic():
            for department in queryset:
                if not department.chat_webhook_url:
                    missing.append(department.name)
                    continue
                text = (
                    f"Test message from servicedesk for {department.name}, sent by "
                    f"{request.user} at {timezone.now():%Y-%m-%d %H:%M} UTC. Escalation "
                    "notifications will be posted here."
                )
                notify_chat(
                    department=department,
                    text=text,
                    summary="servicedesk test",
                    # Unique per click: every test is a message of its own.
                    dedupe_key=f"chat-test:{department.pk}:{uuid4().hex}",
                )
                queued.append(department.name)
        if queued:
            outbox_url = reverse("admin:outbox_message_changelist") + "?topic__exact=chat"
            messages.success(
                request,
                format_html(
                    'Test message queued for {}. See whether it was delivered under <a href="{}">'
                    "the outbox messages</a>.",
                    ", ".join(queued),
                    outbox_url,
                ),
            )
        if missing:
            messages.warning(request, f"No chat webhook URL set for {', '.join(missing)}.")

    @admin.display(description="members", ordering="agent_count")
    def agents(self, obj: Department) -> int:
        return obj.agent_count  # type: ignore[attr-defined]

    @admin.display(description="open tickets", ordering="open_count")
    def open_tickets(self, obj: Department) -> int:
        return obj.open_count  # type: ignore[attr-defined]


class RequestFieldInline(admin.TabularInline):
    model = RequestField
    extra = 1
    fields = ["position", "key", "label", "kind", "required", "choices", "help_text"]
    prepopulated_fields = {"key": ["label"]}


@admin.register(RequestType)
class RequestTypeAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "department",
        "default_priority",
        "is_confidential",
        "sla_exempt",
        "is_active",
    ]
    list_filter = ["department", "is_confidential", "sla_exempt", "is_active", "default_priority"]
    search_fields = ["name", "description", "department__name"]
    list_select_related = ["department"]
    autocomplete_fields = ["department"]
    inlines = [RequestFieldInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "department", "role", "is_available"]
    list_filter = ["department", "role", "is_available"]
    search_fields = ["user__username", "user__first_name", "user__last_name", "department__name"]
    list_select_related = ["user", "department"]
    autocomplete_fields = ["user", "department"]


class ReadOnlyAdmin(admin.ModelAdmin):
    """A record kept by the services (tickets, clocks, events): read, never edited here."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class CommentInline(ReadOnlyInline):
    model = Comment
    fields = ["created_at", "author", "is_internal", "body"]


class EventInline(ReadOnlyInline):
    model = TicketEvent
    fields = ["created_at", "actor", "action", "old_value", "new_value", "message"]


@admin.register(Ticket)
class TicketAdmin(ReadOnlyAdmin):
    list_display = [
        "reference",
        "title",
        "department",
        "requesting_department",
        "status",
        "priority",
        "assignee",
        "created_at",
    ]
    list_filter = ["status", "priority", "department", "requesting_department"]
    search_fields = ["reference", "title", "requester__username", "requester__last_name"]
    list_select_related = ["department", "requesting_department", "assignee"]
    date_hierarchy = "created_at"
    show_full_result_count = False  # no exact COUNT over millions of rows
    inlines = [CommentInline, EventInline]

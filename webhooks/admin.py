"""Django admin for outgoing webhooks: subscriptions (with the state of their last
delivery, a secret rotation and a test event) and their delivery history (read-only,
each row an outbox message: state, attempts, HTTP status, last error; failed ones can be
retried).

Who: superusers manage every subscription. A department lead with staff access manages
the subscriptions of the departments they lead, and only those (never an all-department
one, which may receive confidential requests of every department).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django import forms
from django.contrib import admin, messages
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from outbox.services import outbox_retry
from tickets.models import Department
from webhooks.models import Event, WebhookDelivery, WebhookSubscription
from webhooks.services import lead_department_ids, webhook_rotate_secret, webhook_send_test


def _led(request: HttpRequest) -> set[int]:
    """The departments the signed-in user leads, read once per request."""
    if not hasattr(request, "_webhook_led_departments"):
        request._webhook_led_departments = lead_department_ids(request.user)  # type: ignore[attr-defined]
    return request._webhook_led_departments  # type: ignore[attr-defined]


def _may_manage(request: HttpRequest, department_id: int | None = None, *, any_: bool) -> bool:
    user = request.user
    if not (user.is_active and user.is_staff):
        return False
    if user.is_superuser:
        return True
    led = _led(request)
    return bool(led) if any_ else department_id in led


class SubscriptionForm(forms.ModelForm):
    # The model's validator (http or https only) still runs when the form saves.
    url = forms.URLField(
        label="URL",
        max_length=500,
        assume_scheme="https",
        help_text="Receives a POST of JSON for each event (http or https).",
    )
    events = forms.MultipleChoiceField(
        choices=Event.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text="The events sent to this URL.",
    )

    class Meta:
        model = WebhookSubscription
        fields = ["name", "url", "events", "department", "is_active"]


def _state(delivered_at: Any, failed_at: Any, error: str | None, code: int | None) -> str:
    if delivered_at:
        state = "delivered"
    elif failed_at:
        state = "failed"
    elif error:
        state = "retrying"
    else:
        state = "pending"
    return f"{state} (HTTP {code})" if code else state


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin):
    form = SubscriptionForm
    list_display = ["name", "host", "department", "event_list", "is_active", "last_delivery"]
    list_filter = ["is_active", "department"]
    search_fields = ["name", "url"]
    readonly_fields = ["secret", "created_by", "created_at", "delivery_history"]
    actions = ["send_test_event", "rotate_secret"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[WebhookSubscription]:
        last = WebhookDelivery.objects.filter(subscription=OuterRef("pk")).order_by("-id")
        queryset = (
            super()
            .get_queryset(request)
            .select_related("department", "created_by")
            .annotate(
                last_delivered_at=Subquery(last.values("message__delivered_at")[:1]),
                last_failed_at=Subquery(last.values("message__failed_at")[:1]),
                last_error=Subquery(last.values("message__last_error")[:1]),
                last_code=Subquery(last.values("last_status_code")[:1]),
                last_id=Subquery(last.values("pk")[:1]),
            )
        )
        if request.user.is_superuser:
            return queryset
        return queryset.filter(department_id__in=_led(request))

    # --- Who may do what ---

    def has_module_permission(self, request: HttpRequest) -> bool:
        return _may_manage(request, any_=True)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is None:
            return _may_manage(request, any_=True)
        return _may_manage(request, obj.department_id, any_=False)

    has_change_permission = has_view_permission
    has_delete_permission = has_view_permission

    def has_add_permission(self, request: HttpRequest) -> bool:
        return _may_manage(request, any_=True)

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any):  # type: ignore[no-untyped-def]
        form = super().get_form(request, obj, change=change, **kwargs)
        if not request.user.is_superuser:
            department = form.base_fields["department"]
            department.queryset = Department.objects.filter(pk__in=_led(request))  # type: ignore[attr-defined]
            department.required = True
            department.help_text = "Only this department's tickets (one you lead)."
        return form

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    # --- Columns ---

    @admin.display(description="host")
    def host(self, obj: WebhookSubscription) -> str:
        return urlsplit(obj.url).netloc

    @admin.display(description="events")
    def event_list(self, obj: WebhookSubscription) -> str:
        return ", ".join(obj.events)

    @admin.display(description="last delivery")
    def last_delivery(self, obj: Any) -> str:
        if obj.last_id is None:
            return "—"
        state = _state(obj.last_delivered_at, obj.last_failed_at, obj.last_error, obj.last_code)
        url = reverse("admin:webhooks_webhookdelivery_changelist")
        return format_html('<a href="{}?subscription={}">{}</a>', url, obj.pk, state)

    @admin.display(description="deliveries")
    def delivery_history(self, obj: WebhookSubscription) -> str:
        if obj.pk is None:
            return "—"
        url = reverse("admin:webhooks_webhookdelivery_changelist")
        return format_html('<a href="{}?subscription={}">Delivery history</a>', url, obj.pk)

    # --- Actions ---

    @admin.action(description="Send a test event", permissions=["change"])
    def send_test_event(
        self, request: HttpRequest, queryset: QuerySet[WebhookSubscription]
    ) -> None:
        now = timezone.now()
        count = 0
        for subscription in queryset:
            webhook_send_test(subscription=subscription, now=now)
            count += 1
        self.message_user(
            request, f"{count} test event(s) queued; see the delivery history.", messages.SUCCESS
        )

    @admin.action(description="Rotate the secret", permissions=["change"])
    def rotate_secret(self, request: HttpRequest, queryset: QuerySet[WebhookSubscription]) -> None:
        for subscription in queryset:
            webhook_rotate_secret(subscription=subscription)
        self.message_user(
            request,
            f"New secret for {queryset.count()} subscription(s): update the receivers.",
            messages.WARNING,
        )


class SubscriptionFilter(admin.SimpleListFilter):
    title = "subscription"
    parameter_name = "subscription"

    def lookups(self, request, model_admin):  # type: ignore[no-untyped-def]
        visible = WebhookSubscription.objects.all()
        if not request.user.is_superuser:
            visible = visible.filter(department_id__in=_led(request))
        return [(str(s.pk), s.name) for s in visible]

    def queryset(self, request, queryset):  # type: ignore[no-untyped-def]
        if self.value():
            return queryset.filter(subscription_id=self.value())
        return queryset


class DeliveryStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):  # type: ignore[no-untyped-def]
        return [
            ("pending", "Pending or retrying"),
            ("delivered", "Delivered"),
            ("failed", "Failed (gave up)"),
        ]

    def queryset(self, request, queryset):  # type: ignore[no-untyped-def]
        if self.value() == "pending":
            return queryset.filter(
                message__delivered_at__isnull=True, message__failed_at__isnull=True
            )
        if self.value() == "delivered":
            return queryset.filter(message__delivered_at__isnull=False)
        if self.value() == "failed":
            return queryset.filter(message__failed_at__isnull=False)
        return queryset


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "created_at",
        "subscription",
        "event",
        "event_id",
        "state",
        "attempts",
        "last_status_code",
        "last_outcome",
        "last_attempt_at",
        "next_attempt",
    ]
    list_filter = [SubscriptionFilter, DeliveryStateFilter, "event"]
    search_fields = ["event_id"]
    list_select_related = ["subscription", "message"]
    show_full_result_count = False
    actions = ["retry"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[WebhookDelivery]:
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(subscription__department_id__in=_led(request))

    def has_module_permission(self, request: HttpRequest) -> bool:
        return _may_manage(request, any_=True)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is None:
            return _may_manage(request, any_=True)
        return _may_manage(request, obj.subscription.department_id, any_=False)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_retry_permission(self, request: HttpRequest) -> bool:
        return _may_manage(request, any_=True)

    @admin.display(description="state")
    def state(self, obj: WebhookDelivery) -> str:
        m = obj.message
        return _state(m.delivered_at, m.failed_at, m.last_error, None)

    @admin.display(description="attempts")
    def attempts(self, obj: WebhookDelivery) -> int:
        return obj.message.attempts

    @admin.display(description="next attempt")
    def next_attempt(self, obj: WebhookDelivery) -> Any:
        m = obj.message
        return "—" if m.delivered_at or m.failed_at else m.available_at

    @admin.action(
        description="Retry delivery of the selected failed deliveries", permissions=["retry"]
    )
    def retry(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        count = outbox_retry(
            message_ids=list(queryset.values_list("message_id", flat=True)), now=timezone.now()
        )
        self.message_user(request, f"{count} delivery(ies) will be retried.", messages.SUCCESS)

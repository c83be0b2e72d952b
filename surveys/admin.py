"""Django admin: survey templates (with their preset reasons), each department's survey
settings, follow-ups and, read-only, invitations and responses (the survey services
write those; the token is never shown: it is not stored)."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from surveys.models import (
    FollowUp,
    SurveyInvitation,
    SurveyReason,
    SurveyResponse,
    SurveySettings,
    SurveyTemplate,
)
from tickets.admin import ReadOnlyAdmin


class SurveyReasonInline(admin.TabularInline):
    model = SurveyReason
    extra = 1
    fields = ["label", "min_score", "max_score", "position"]


@admin.register(SurveyTemplate)
class SurveyTemplateAdmin(admin.ModelAdmin):
    list_display = ["name", "department", "is_active", "allow_comment", "ask_nps"]
    list_filter = ["is_active", "department"]
    search_fields = ["name"]
    inlines = [SurveyReasonInline]
    fieldsets = [
        (None, {"fields": ["name", "department", "is_active"]}),
        (
            "Satisfaction (required, 1-5)",
            {"fields": ["question", "label_1", "label_2", "label_3", "label_4", "label_5"]},
        ),
        ("Comment", {"fields": ["allow_comment", "comment_prompt"]}),
        ("Recommendation (internal NPS, 0-10)", {"fields": ["ask_nps", "nps_question"]}),
    ]


@admin.register(SurveySettings)
class SurveySettingsAdmin(admin.ModelAdmin):
    list_display = [
        "department",
        "enabled",
        "delay_minutes",
        "sample_percent",
        "per_person_cap_days",
        "expiry_days",
        "reminder_days",
        "anonymous",
        "low_score_threshold",
    ]
    list_filter = ["enabled", "anonymous"]
    list_select_related = ["department"]
    autocomplete_fields = ["template"]
    fieldsets = [
        (None, {"fields": ["department", "enabled", "template"]}),
        (
            "Sending",
            {
                "fields": [
                    "delay_minutes",
                    "sample_percent",
                    "per_person_cap_days",
                    "expiry_days",
                    "reminder_days",
                ]
            },
        ),
        ("Privacy", {"fields": ["anonymous", "min_group_size"]}),
        ("Closing the loop", {"fields": ["low_score_threshold"]}),
    ]


@admin.register(SurveyInvitation)
class SurveyInvitationAdmin(ReadOnlyAdmin):
    list_display = [
        "ticket_reference",
        "resolution",
        "department",
        "requester",
        "created_at",
        "send_at",
        "sent_at",
        "answered_at",
        "withdrawn_at",
        "expires_at",
    ]
    list_filter = ["department"]
    list_select_related = ["ticket", "department", "requester"]
    search_fields = ["=ticket__reference"]
    search_help_text = "Search by ticket reference, e.g. IT-1042."
    exclude = ["token_seed", "token_hash"]
    show_full_result_count = False

    @admin.display(description="ticket", ordering="ticket__reference")
    def ticket_reference(self, obj: SurveyInvitation) -> str:
        return obj.ticket.reference


@admin.register(SurveyResponse)
class SurveyResponseAdmin(ReadOnlyAdmin):
    list_display = ["ticket_reference", "department", "score", "nps", "sla_met", "created_at"]
    list_filter = ["score", "invitation__department"]
    list_select_related = ["invitation__ticket", "invitation__department"]
    search_fields = ["=invitation__ticket__reference"]
    show_full_result_count = False

    @admin.display(description="ticket", ordering="invitation__ticket__reference")
    def ticket_reference(self, obj: SurveyResponse) -> str:
        return obj.invitation.ticket.reference

    @admin.display(description="department")
    def department(self, obj: SurveyResponse) -> str:
        return obj.invitation.department.name

    @admin.display(description="SLA met", boolean=True)
    def sla_met(self, obj: SurveyResponse) -> bool | None:
        return obj.invitation.sla_met


@admin.register(FollowUp)
class FollowUpAdmin(admin.ModelAdmin):
    """Leads close follow-ups on their page (surveys.services.follow_up_close); here admins
    may read them and correct a note."""

    list_display = ["__str__", "department", "created_at", "closed_by", "closed_at"]
    list_filter = ["department", ("closed_at", admin.EmptyFieldListFilter)]
    list_select_related = ["department", "closed_by", "response__invitation__ticket"]
    readonly_fields = ["response", "department", "created_at", "closed_by", "closed_at"]
    fields = ["response", "department", "created_at", "notes", "closed_by", "closed_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

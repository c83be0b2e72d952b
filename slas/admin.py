"""Django admin: business calendars (with public holidays), SLA policies (with a preview
of their deadlines), escalation rules with their actions and, read-only, the SLA clocks
and SLA events of tickets.

Writes that are more than a form save go through a service: public holidays through
slas.calendars.calendar_generate_holidays; the preview is slas.services.sla_preview;
after a “no update” rule changes, slas.idle.idle_timers_reschedule. Clocks and events are
never edited here: the ticket services and the sweep write them.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
)
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from slas import services
from slas.calendars import (
    FIRST_HOLIDAY_YEAR,
    LAST_HOLIDAY_YEAR,
    MAX_HOLIDAY_YEARS,
    calendar_generate_holidays,
    check_holiday_region,
    check_working_intervals,
)
from slas.idle import idle_timers_reschedule
from slas.models import (
    BusinessCalendar,
    EscalationAction,
    EscalationRule,
    Holiday,
    SlaClock,
    SlaEvent,
    SlaPolicy,
    SlaSegment,
    WorkingInterval,
)
from tickets.admin import ReadOnlyAdmin, ReadOnlyInline
from tickets.models import Department, Priority, RequestType

# --- Business calendars ---------------------------------------------------------------

WORKING_HOURS_HELP = (
    "Working hours are the working intervals below: one row per stretch of work on a "
    "weekday, in the calendar's time zone. Days without a row are days off. "
    "A lunch break is two rows on the same day (e.g. Monday 09:00-12:30 and Monday "
    "13:30-17:30). An end of 00:00 means midnight at the end of the day, so 00:00-00:00 "
    "is the whole day: for round-the-clock (24x7) service add 00:00-00:00 on all seven "
    "days. Holidays are days off whatever their weekday; add them by hand or generate a "
    "country's public holidays with the form under the holidays."
)


class WorkingIntervalFormSet(BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return  # a row's own error (such as an end before its start) says it better
        intervals = [
            (form.cleaned_data["weekday"], form.cleaned_data["start"], form.cleaned_data["end"])
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]
        check_working_intervals(intervals)


class WorkingIntervalInline(admin.TabularInline):
    model = WorkingInterval
    formset = WorkingIntervalFormSet
    fields = ["weekday", "start", "end"]
    extra = 0

    def get_extra(
        self, request: HttpRequest, obj: BusinessCalendar | None = None, **kwargs: Any
    ) -> int:
        return 0 if obj is not None and obj.pk else 5  # a new calendar: room for Mon-Fri


class HolidayInline(admin.TabularInline):
    model = Holiday
    fields = ["date", "name"]
    extra = 1
    classes = ["collapse"]  # a few years of public holidays is a long list


class BusinessCalendarForm(forms.ModelForm):
    class Meta:
        model = BusinessCalendar
        fields = ["name", "time_zone", "holiday_country", "holiday_subdivision"]

    def clean_time_zone(self) -> str:
        return self.cleaned_data["time_zone"].strip()

    def clean_holiday_country(self) -> str:
        return self.cleaned_data["holiday_country"].strip().upper()

    def clean_holiday_subdivision(self) -> str:
        return self.cleaned_data["holiday_subdivision"].strip()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        country = cleaned.get("holiday_country", "")
        subdivision = cleaned.get("holiday_subdivision", "")
        if subdivision and not country:
            self.add_error("holiday_country", "Choose the country of the subdivision.")
        elif country:
            try:
                _, cleaned["holiday_subdivision"] = check_holiday_region(
                    country=country, subdivision=subdivision
                )
            except ValidationError as error:
                for field, messages_ in error.message_dict.items():
                    self.add_error(field, messages_)
        return cleaned


class GenerateHolidaysForm(forms.Form):
    first_year = forms.IntegerField(
        min_value=FIRST_HOLIDAY_YEAR, max_value=LAST_HOLIDAY_YEAR, label="From year"
    )
    last_year = forms.IntegerField(
        min_value=FIRST_HOLIDAY_YEAR, max_value=LAST_HOLIDAY_YEAR, label="to year"
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        year = timezone.localdate().year
        kwargs.setdefault("initial", {"first_year": year, "last_year": year + 2})
        super().__init__(*args, **kwargs)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        first, last = cleaned.get("first_year"), cleaned.get("last_year")
        if first is not None and last is not None:
            if last < first:
                raise ValidationError("The last year is before the first.")
            if last - first + 1 > MAX_HOLIDAY_YEARS:
                raise ValidationError(f"Generate at most {MAX_HOLIDAY_YEARS} years at a time.")
        return cleaned

    @property
    def years(self) -> range:
        return range(self.cleaned_data["first_year"], self.cleaned_data["last_year"] + 1)


def _region(calendar: BusinessCalendar) -> str:
    if not calendar.holiday_subdivision:
        return calendar.holiday_country
    return f"{calendar.holiday_country}-{calendar.holiday_subdivision}"


def _generate(request: HttpRequest, calendar: BusinessCalendar, years: range) -> None:
    """Generate one calendar's holidays and say what happened."""
    span = f"{years[0]}-{years[-1]}" if len(years) > 1 else str(years[0])
    try:
        added = calendar_generate_holidays(calendar=calendar, years=years)
    except ValidationError as error:
        messages.error(request, f"{calendar.name}: {' '.join(error.messages)}")
        return
    if added:
        messages.success(
            request,
            f"{calendar.name}: added {added} public holidays of {_region(calendar)} for "
            f"{span}. Open tickets keep their deadlines until `manage.py sla_recompute` runs.",
        )
    else:
        messages.info(
            request,
            f"{calendar.name}: the public holidays of {_region(calendar)} for {span} "
            "were all there already.",
        )


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(admin.ModelAdmin):
    form = BusinessCalendarForm
    list_display = ["name", "time_zone", "holiday_region", "departments_using", "holiday_count"]
    search_fields = ["name", "time_zone"]
    inlines = [WorkingIntervalInline, HolidayInline]
    fieldsets = [
        (None, {"fields": ["name", "time_zone"], "description": WORKING_HOURS_HELP}),
        (
            "Public holidays",
            {
                "fields": ["holiday_country", "holiday_subdivision"],
                "description": "The region whose public holidays can be generated below.",
            },
        ),
    ]
    actions = ["generate_public_holidays"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[BusinessCalendar]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                department_count=Count("departments", distinct=True),
                holiday_total=Count("holidays", distinct=True),
            )
        )

    @admin.display(description="holiday region", ordering="holiday_country")
    def holiday_region(self, obj: BusinessCalendar) -> str:
        return _region(obj) or "—"

    @admin.display(description="departments using it", ordering="department_count")
    def departments_using(self, obj: BusinessCalendar) -> int:
        return obj.department_count  # type: ignore[attr-defined]

    @admin.display(description="holidays", ordering="holiday_total")
    def holiday_count(self, obj: BusinessCalendar) -> int:
        return obj.holiday_total  # type: ignore[attr-defined]

    def get_urls(self) -> list[Any]:
        name = f"{self.opts.app_label}_{self.opts.model_name}_generate_holidays"
        view = self.admin_site.admin_view(self.generate_holidays_view)
        return [path("<path:object_id>/holidays/", view, name=name), *super().get_urls()]

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        extra_context = {
            **(extra_context or {}),
            "holiday_form": GenerateHolidaysForm(),
            "holiday_form_url": reverse(
                "admin:slas_businesscalendar_generate_holidays", args=[object_id]
            ),
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def generate_holidays_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """POST from the change page: generate public holidays for a range of years."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        calendar = self.get_object(request, unquote(object_id))
        if calendar is None:
            raise Http404("No business calendar with this id.")
        if not self.has_change_permission(request, calendar):
            raise PermissionDenied
        form = GenerateHolidaysForm(request.POST)
        if form.is_valid():
            _generate(request, calendar, form.years)
        else:
            problems = [str(m) for errors in form.errors.values() for m in errors]
            messages.error(request, f"No holidays generated: {' '.join(problems)}")
        return HttpResponseRedirect(
            reverse("admin:slas_businesscalendar_change", args=[calendar.pk])
        )

    @admin.action(description="Generate public holidays", permissions=["change"])
    def generate_public_holidays(
        self, request: HttpRequest, queryset: QuerySet[BusinessCalendar]
    ) -> TemplateResponse | None:
        """Ask for the years on an intermediate page, then generate for each calendar."""
        form = GenerateHolidaysForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            for calendar in queryset:
                _generate(request, calendar, form.years)
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Generate public holidays",
            "opts": self.opts,
            "calendars": queryset,
            "form": form,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(
            request, "admin/slas/businesscalendar/generate_holidays.html", context
        )


# --- SLA policies ---------------------------------------------------------------------


def business_duration(minutes: int | None) -> str:
    """1530 -> '25 h 30 min' (business time: a "day" would mean different things)."""
    if not minutes:
        return "—"
    hours, rest = divmod(minutes, 60)
    if hours and rest:
        return f"{hours} h {rest} min"
    return f"{hours} h" if hours else f"{rest} min"


def _local(moment: datetime, zone: zoneinfo.ZoneInfo) -> str:
    local = moment.astimezone(zone)
    return f"{local:%a %d %b %Y, %H:%M} {local.tzname()}"


@dataclass(frozen=True)
class PreviewRow:
    label: str
    target: str
    due: str


class SlaPreviewForm(forms.Form):
    preview_at = forms.CharField(
        required=False,
        label="Filed at",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )

    def __init__(self, *args: Any, zone: zoneinfo.ZoneInfo, **kwargs: Any) -> None:
        self.zone = zone
        super().__init__(*args, **kwargs)

    def clean_preview_at(self) -> datetime | None:
        text = self.cleaned_data["preview_at"].strip()
        if not text:
            return None
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise ValidationError(
                f"“{text[:40]}” is not a date and time; write it as 2026-12-24T16:00."
            ) from None
        if not FIRST_HOLIDAY_YEAR <= moment.year <= LAST_HOLIDAY_YEAR:
            raise ValidationError(
                f"Choose a time between {FIRST_HOLIDAY_YEAR} and {LAST_HOLIDAY_YEAR}."
            )
        if timezone.is_naive(moment):
            moment = moment.replace(tzinfo=self.zone)  # local time of the calendar
        return moment


def policy_preview_context(*, policy: SlaPolicy, query: dict[str, Any]) -> dict[str, Any]:
    """What the policy's change page shows: when each target would fall due for a ticket
    filed now, or at `?preview_at=`, in the department calendar's time zone."""
    calendar = policy.department.calendar
    zone = zoneinfo.ZoneInfo(calendar.time_zone if calendar else "UTC")
    counted_in = (
        f"{calendar.name} ({calendar.time_zone})"
        if calendar
        else "round the clock (the department has no business calendar; times in UTC)"
    )
    form = SlaPreviewForm(query, zone=zone)
    start = timezone.now().replace(second=0, microsecond=0)
    error = ""
    is_now = True
    if form.is_valid():
        is_now = form.cleaned_data["preview_at"] is None
        start = form.cleaned_data["preview_at"] or start
        input_value = f"{start.astimezone(zone):%Y-%m-%dT%H:%M}"
    else:
        error = " ".join(str(m) for m in form.errors["preview_at"])
        input_value = ""
    targets = {
        str(SlaClock.Kind.FIRST_RESPONSE.label): policy.first_response_minutes,
        str(SlaClock.Kind.NEXT_RESPONSE.label): policy.next_response_minutes,
        str(SlaClock.Kind.RESOLUTION.label): policy.resolution_minutes,
    }
    rows: list[PreviewRow] = []
    try:
        due = services.sla_preview(policy=policy, start=start)
    except ValueError as problem:  # e.g. a calendar without any working hours
        error = error or f"No preview: {problem}."
        due = {}
    for label, moment in due.items():
        rows.append(PreviewRow(label, business_duration(targets.get(label)), _local(moment, zone)))
    return {
        "sla_preview": {
            "start": _local(start, zone),
            "is_now": is_now,
            "input_value": input_value,
            "counted_in": counted_in,
            "rows": rows,
            "error": error,
        }
    }


class SlaPolicyForm(forms.ModelForm):
    class Meta:
        model = SlaPolicy
        fields = [
            "name",
            "department",
            "is_active",
            "request_type",
            "requesting_department",
            "priority",
            "first_response_minutes",
            "next_response_minutes",
            "resolution_minutes",
            "warning_percents",
            "active_from",
            "active_until",
        ]
        help_texts = {
            "request_type": "Only for this request type (empty: all of the department's).",
            "priority": "Only for this priority (empty: all).",
        }


@admin.register(SlaPolicy)
class SlaPolicyAdmin(admin.ModelAdmin):
    form = SlaPolicyForm
    list_display = [
        "name",
        "department",
        "request_type",
        "requesting_department",
        "priority",
        "first_response",
        "next_response",
        "resolution",
        "is_active",
    ]
    list_filter = ["is_active", "department", "priority", "requesting_department"]
    search_fields = [
        "name",
        "department__name",
        "request_type__name",
        "requesting_department__name",
    ]
    list_select_related = ["department", "request_type__department", "requesting_department"]
    autocomplete_fields = ["department", "request_type", "requesting_department"]
    fieldsets = [
        (None, {"fields": ["name", "department", "is_active"]}),
        (
            "Applies to",
            {
                "fields": ["request_type", "requesting_department", "priority"],
                "description": "Leave these empty for a department-wide policy. Of the "
                "active policies that match a ticket the most specific wins: request "
                "type first, then requesting department, then priority.",
            },
        ),
        (
            "Targets (business minutes, counted in the department's calendar)",
            {
                "fields": [
                    "first_response_minutes",
                    "next_response_minutes",
                    "resolution_minutes",
                    "warning_percents",
                ]
            },
        ),
        ("Active dates", {"fields": ["active_from", "active_until"]}),
    ]

    @admin.display(description="first response", ordering="first_response_minutes")
    def first_response(self, obj: SlaPolicy) -> str:
        return business_duration(obj.first_response_minutes)

    @admin.display(description="next response", ordering="next_response_minutes")
    def next_response(self, obj: SlaPolicy) -> str:
        return business_duration(obj.next_response_minutes)

    @admin.display(description="resolution", ordering="resolution_minutes")
    def resolution(self, obj: SlaPolicy) -> str:
        return business_duration(obj.resolution_minutes)

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        policy = self.get_object(request, unquote(object_id))
        if policy is not None:
            query = {"preview_at": request.GET.get("preview_at", "")}
            extra_context = {
                **(extra_context or {}),
                **policy_preview_context(policy=policy, query=query),
            }
        return super().change_view(request, object_id, form_url, extra_context)


# --- SLA clocks (read-only) -----------------------------------------------------------


class SlaSegmentInline(ReadOnlyInline):
    model = SlaSegment
    verbose_name = "segment"
    verbose_name_plural = "Timeline (running and paused segments)"
    fields = ["started_at", "ended_at", "state", "reason", "department", "business_seconds"]


@admin.register(SlaClock)
class SlaClockAdmin(ReadOnlyAdmin):
    list_display = [
        "ticket_reference",
        "kind",
        "state",
        "department",
        "started_at",
        "due_at",
        "met_at",
        "breached_at",
    ]
    list_filter = ["state", "kind", "department"]
    search_fields = ["=ticket__reference"]
    search_help_text = "Search by ticket reference, e.g. IT-1042."
    list_select_related = ["ticket", "department"]
    ordering = ["-id"]
    show_full_result_count = False  # no exact COUNT over millions of clocks
    inlines = [SlaSegmentInline]

    @admin.display(description="ticket", ordering="ticket__reference")
    def ticket_reference(self, obj: SlaClock) -> str:
        return obj.ticket.reference


# --- Escalation rules -----------------------------------------------------------------

Trigger = EscalationRule.Trigger
# What decides when a ticket's “no update” timer fires: a change to any of these on a “no
# update” rule means every open ticket of the department needs its timer scheduled again.
IDLE_FIELDS = frozenset({"department", "trigger", "idle_hours", "is_active"})


def _request_type_label(request_type: RequestType) -> str:
    return f"{request_type.department.name} · {request_type.name}"


class RequestTypeChoiceField(forms.ModelMultipleChoiceField):
    with_department = True  # name the department while types of several are offered

    def label_from_instance(self, obj: Any) -> str:
        return _request_type_label(obj) if self.with_department else obj.name


class EscalationRuleForm(forms.ModelForm):
    request_types = RequestTypeChoiceField(
        queryset=RequestType.objects.none(),  # set per rule in __init__
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every request type of the department.",
    )
    requesting_departments = forms.ModelMultipleChoiceField(
        queryset=Department.objects.order_by("name"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: requests from any department.",
    )
    # A JSON list of Priority values in the model; ticked boxes here.
    priorities = forms.TypedMultipleChoiceField(
        choices=Priority.choices,
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every priority.",
    )

    class Meta:
        model = EscalationRule
        fields = [
            "department",
            "level",
            "name",
            "is_active",
            "trigger",
            "clock_kind",
            "warning_percent",
            "idle_hours",
            "request_types",
            "priorities",
            "requesting_departments",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["request_types"]
        assert isinstance(field, RequestTypeChoiceField)
        types = RequestType.objects.select_related("department").order_by(
            "department__name", "position", "name"
        )
        # Offer the department's own request types. A submitted form checks against all
        # of them, so choosing another department's type (or moving the rule) gets the
        # clear message of clean() rather than "not one of the available choices".
        department_id = self.instance.department_id or self.initial.get("department")
        if department_id and not self.is_bound:
            types = types.filter(department_id=department_id)
            field.with_department = False
        field.queryset = types

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        department = cleaned.get("department")
        request_types = cleaned.get("request_types") or []
        if department is not None:
            foreign = [t for t in request_types if t.department_id != department.pk]
            if foreign:
                names = ", ".join(_request_type_label(t) for t in foreign)
                self.add_error(
                    "request_types",
                    f"{names}: not a request type of {department.name}. A rule only "
                    "applies to its own department's tickets; choose among its request types.",
                )
        return cleaned


class EscalationActionInline(admin.TabularInline):
    model = EscalationAction
    fields = ["position", "kind", "target", "person", "text"]
    ordering = ["position", "id"]
    autocomplete_fields = ["person"]
    verbose_name = "action"
    verbose_name_plural = "Actions (run in order of position)"

    def get_extra(
        self, request: HttpRequest, obj: EscalationRule | None = None, **kwargs: Any
    ) -> int:
        return 0 if obj is not None and obj.pk else 1

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        # Compact widgets: the five columns fit a laptop screen next to the admin's menu.
        if db_field.name == "text":
            kwargs["widget"] = forms.Textarea(attrs={"rows": 2, "cols": 22})
        if db_field.name == "position":
            kwargs["widget"] = forms.NumberInput(attrs={"style": "width: 3.5em"})
        if db_field.name in ("kind", "target"):
            width = "11em" if db_field.name == "kind" else "16em"
            kwargs["widget"] = forms.Select(attrs={"style": f"width: {width}"})
        formfield = super().formfield_for_dbfield(db_field, request, **kwargs)
        if db_field.name == "person" and formfield is not None:
            wrapper = formfield.widget  # RelatedFieldWidgetWrapper: no add/edit icons here
            wrapper.can_add_related = wrapper.can_change_related = False
            wrapper.can_delete_related = wrapper.can_view_related = False
            wrapper.widget.attrs["data-width"] = "10em"  # read by select2
        return formfield


def trigger_summary(rule: EscalationRule) -> str:
    """“Warning at 75 %”, “Breach”, “No update for 8 business hours”."""
    if rule.trigger == Trigger.WARNING:
        if rule.warning_percent is None:
            return "Warning (every threshold)"
        return f"Warning at {rule.warning_percent} %"
    if rule.trigger == Trigger.BREACH:
        return "Breach"
    hours = float(rule.idle_hours or 0)
    return f"No update for {hours:g} business hour{'s' if hours != 1 else ''}"


def _reschedule_idle_timers_on_commit(request: HttpRequest, department_ids: Iterable[int]) -> None:
    """After the admin's transaction commits, schedule every open ticket's “no update”
    timer in these departments again (new rule durations, a rule switched on or off)."""

    def reschedule(department_id: int) -> None:
        count = idle_timers_reschedule(department_id=department_id, now=timezone.now())
        name = Department.objects.filter(pk=department_id).values_list("name", flat=True).first()
        messages.info(
            request,
            f"The “no update” timers of {count} open ticket(s) of {name} were scheduled again.",
        )

    for department_id in sorted(set(department_ids)):
        transaction.on_commit(lambda d=department_id: reschedule(d))  # type: ignore[misc]


@admin.register(EscalationRule)
class EscalationRuleAdmin(admin.ModelAdmin):
    form = EscalationRuleForm
    inlines = [EscalationActionInline]
    list_display = [
        "department",
        "level",
        "name",
        "trigger_display",
        "target_display",
        "is_active",
        "action_summary",
    ]
    list_display_links = ["name"]
    list_filter = ["department", "trigger", "is_active", "level"]
    search_fields = ["name", "department__name"]
    list_select_related = ["department"]
    ordering = ["department__name", "level", "id"]
    autocomplete_fields = ["department"]
    fieldsets = [
        (
            None,
            {
                "fields": ["department", "level", "name", "is_active"],
                "description": "When an SLA event of the department matches, each matching "
                "rule runs its actions, lowest level first. The ticket's audit trail and SLA "
                "card record what was done and the highest level reached.",
            },
        ),
        (
            "When",
            {
                "fields": ["trigger", "clock_kind", "warning_percent", "idle_hours"],
                "description": "Warnings fire at the thresholds of the ticket's SLA policy "
                "(e.g. 50, 75 %); “no update” counts the department's business hours.",
            },
        ),
        (
            "Only for (optional)",
            {"fields": ["request_types", "priorities", "requesting_departments"]},
        ),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[EscalationRule]:
        return super().get_queryset(request).prefetch_related("actions__person")

    @admin.display(description="trigger", ordering="trigger")
    def trigger_display(self, obj: EscalationRule) -> str:
        return trigger_summary(obj)

    @admin.display(description="target", ordering="clock_kind")
    def target_display(self, obj: EscalationRule) -> str:
        if obj.trigger == Trigger.NO_UPDATE:
            return "—"
        return obj.get_clock_kind_display() if obj.clock_kind else "Any target"

    @admin.display(description="actions")
    def action_summary(self, obj: EscalationRule) -> str:
        actions = obj.actions.all()
        return "; ".join(_action_label(a) for a in actions) or "(none)"

    def save_model(
        self, request: HttpRequest, obj: EscalationRule, form: forms.ModelForm, change: bool
    ) -> None:
        obj.updated_at = timezone.now()
        super().save_model(request, obj, form, change)
        if change and not IDLE_FIELDS & set(form.changed_data):
            return
        departments = []
        if obj.trigger == Trigger.NO_UPDATE:
            departments.append(obj.department_id)
        if change and form.initial.get("trigger") == Trigger.NO_UPDATE:
            departments.append(form.initial["department"])  # it was one (perhaps elsewhere)
        _reschedule_idle_timers_on_commit(request, departments)

    def delete_model(self, request: HttpRequest, obj: EscalationRule) -> None:
        department_id, trigger = obj.department_id, obj.trigger
        super().delete_model(request, obj)
        if trigger == Trigger.NO_UPDATE:
            _reschedule_idle_timers_on_commit(request, [department_id])

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[EscalationRule]) -> None:
        departments = list(
            queryset.filter(trigger=Trigger.NO_UPDATE).values_list("department_id", flat=True)
        )
        super().delete_queryset(request, queryset)
        _reschedule_idle_timers_on_commit(request, departments)


def _action_label(action: EscalationAction) -> str:
    """“Notify the assignee”, “Reassign to a named person (Priya Shah)”, “Add a watcher
    (Sam Lee)”."""
    label = action.get_kind_display()
    if action.target:
        joiner = " to " if action.kind == EscalationAction.Kind.REASSIGN else " "
        label += joiner + action.target_label
    if action.person is not None:
        label += f" ({action.person})"
    return label


# --- SLA events (read-only) -----------------------------------------------------------


class HandledFilter(admin.SimpleListFilter):
    title = "handled"
    parameter_name = "handled"

    def lookups(self, request, model_admin):  # type: ignore[no-untyped-def]
        return [("yes", "Handled"), ("no", "Waiting for a worker")]

    def queryset(self, request, queryset):  # type: ignore[no-untyped-def]
        if self.value() == "yes":
            return queryset.filter(handled_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(handled_at__isnull=True)
        return queryset


def _short_time(moment: datetime | None) -> str:
    """'1 Dec 2026, 13:38' in the site's time zone: the list has many columns."""
    if moment is None:
        return "—"
    local = timezone.localtime(moment)
    return f"{local.day} {local:%b %Y, %H:%M}"


def threshold_label(event: SlaEvent) -> str:
    """75 % of a target (100 %: a breach); 8 h without an update."""
    if event.kind == SlaEvent.Kind.NO_UPDATE:
        return f"{event.threshold / 3600:g} h without update"
    return f"{event.threshold} %"


@admin.register(SlaEvent)
class SlaEventAdmin(ReadOnlyAdmin):
    list_display = [
        "ticket_reference",
        "kind",
        "target",
        "threshold_display",
        "instant_display",
        "recorded_display",
        "handled_display",
        "outcome_display",
    ]
    list_display_links = ["kind"]  # the ticket column links to the ticket page
    list_filter = ["kind", HandledFilter, "department"]
    search_fields = ["=ticket__reference"]
    search_help_text = "Search by ticket reference, e.g. IT-1042."
    list_select_related = ["ticket", "clock"]
    ordering = ["-id"]
    show_full_result_count = False  # no exact COUNT over millions of events
    fields = [
        "ticket",
        "department",
        "clock",
        "kind",
        "threshold",
        "instant",
        "recorded_at",
        "rule_ids",
        "handled_at",
        "outcome",
    ]

    @admin.display(description="ticket", ordering="ticket__reference")
    def ticket_reference(self, obj: SlaEvent) -> str:
        url = reverse("ticket_detail", args=[obj.ticket.reference])
        return format_html('<a href="{}">{}</a>', url, obj.ticket.reference)

    @admin.display(description="target")
    def target(self, obj: SlaEvent) -> str:
        return obj.clock.get_kind_display() if obj.clock else "—"

    @admin.display(description="threshold", ordering="threshold")
    def threshold_display(self, obj: SlaEvent) -> str:
        return threshold_label(obj)

    @admin.display(description="instant", ordering="instant")
    def instant_display(self, obj: SlaEvent) -> str:
        return _short_time(obj.instant)

    @admin.display(description="recorded", ordering="recorded_at")
    def recorded_display(self, obj: SlaEvent) -> str:
        return _short_time(obj.recorded_at)

    @admin.display(description="handled", ordering="handled_at")
    def handled_display(self, obj: SlaEvent) -> str:
        return _short_time(obj.handled_at)

    @admin.display(description="outcome")
    def outcome_display(self, obj: SlaEvent) -> str:
        if obj.handled_at is None:
            return "Waiting for a worker"
        lines = [re.sub(r"^\s+", "· ", line) for line in obj.outcome.splitlines()]
        return format_html_join("", "<div>{}</div>", ((line,) for line in lines))

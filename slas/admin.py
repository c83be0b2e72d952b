"""Django admin: business calendars (with public holidays), SLA policies (with a preview
of their deadlines) and, read-only, the SLA clocks of tickets.

Writes that are more than a form save go through a service: public holidays through
slas.calendars.calendar_generate_holidays; the preview is slas.services.sla_preview.
Clocks are never edited here: the ticket services move them.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
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

from slas import services
from slas.calendars import (
    FIRST_HOLIDAY_YEAR,
    LAST_HOLIDAY_YEAR,
    MAX_HOLIDAY_YEARS,
    calendar_generate_holidays,
    check_holiday_region,
    check_working_intervals,
)
from slas.models import BusinessCalendar, Holiday, SlaClock, SlaPolicy, SlaSegment, WorkingInterval
from tickets.admin import ReadOnlyInline

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
class SlaClockAdmin(admin.ModelAdmin):
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

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

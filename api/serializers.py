"""What the API reads and writes. Input serializers only shape types; the services
validate (one set of rules with the screens) and their errors come back per field."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from django.urls import get_script_prefix, get_urlconf, reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from dashboards.forms import MAX_DAYS
from slas.selectors import deadline_state
from tickets.models import Priority, Ticket

# --- Output ----------------------------------------------------------------------------


class FieldsBuiltOnce:
    """For output serializers and the filing's input: their fields are built once per
    class and copied (shallow, then bound as usual) for each instance. DRF builds them
    anew for every instance, deep copies of the declared ones plus, for a
    ModelSerializer, those it derives from the model: a third of the time of answering a
    filing (cProfile, bench apifiling)."""

    def get_fields(self) -> dict[str, serializers.Field]:  # type: ignore[type-arg]
        cls = type(self)
        built = cls.__dict__.get("_built_fields")
        if built is None:
            built = super().get_fields()  # type: ignore[misc]
            cls._built_fields = built  # type: ignore[attr-defined]
        return {name: _shallow_copy(field) for name, field in built.items()}


def _shallow_copy(field: serializers.Field) -> serializers.Field:  # type: ignore[type-arg]
    """copy.copy(field) without its __reduce_ex__ round (a quarter of serializing a
    ticket): a new instance of the class with the same attributes."""
    duplicate = object.__new__(type(field))
    duplicate.__dict__.update(field.__dict__)
    return duplicate


# The ticket serializers below write their representation by hand, field for field as
# DRF would from their declared fields (which still describe them in the OpenAPI schema;
# tests/api/test_serializers.py checks that both give the same). DRF's generic way
# binds a copy of every field and looks each value up through its source for every
# ticket, clock and nested department and person: half of the Python of a filing's
# answer, and of every row of a list page.
_DATETIME = serializers.DateTimeField()


def _when(value: datetime | None) -> str | None:
    """A datetime as DRF writes it: ISO 8601 in the current time zone, UTC as Z."""
    return None if value is None else _DATETIME.to_representation(value)


def _department_ref(department: Any) -> dict[str, Any] | None:
    if department is None:
        return None
    return {"id": department.id, "code": department.code, "name": department.name}


def _person(user: Any) -> dict[str, Any] | None:
    if user is None:
        return None
    return {"id": user.id, "username": user.username, "name": str(user)}


# A reference as reverse() leaves it (nothing to quote; the pattern takes it).
_PLAIN_REFERENCE = re.compile(r"[A-Za-z0-9_.-]+")
_MARK = "0reference0"
# The detail URL around the reference, per script prefix and URLconf.
_ticket_url_parts: dict[tuple[str, Any], tuple[str, str]] = {}


def ticket_url(reference: str) -> str:
    """reverse("api:ticket-detail", args=[reference]) without matching the URL patterns
    anew for every ticket (about 45 us each: the URL of every filing's answer and of the
    50 rows of a list page). A plain reference is put between the parts reverse() gives
    around a mark; anything else goes through reverse() itself."""
    if not _PLAIN_REFERENCE.fullmatch(reference):
        return reverse("api:ticket-detail", args=[reference])
    key = (get_script_prefix(), get_urlconf())
    parts = _ticket_url_parts.get(key)
    if parts is None:
        head, _, tail = reverse("api:ticket-detail", args=[_MARK]).rpartition(_MARK)
        parts = _ticket_url_parts[key] = (head, tail)
    return parts[0] + reference + parts[1]


class PersonSerializer(FieldsBuiltOnce, serializers.Serializer):  # type: ignore[type-arg]
    id = serializers.IntegerField()
    username = serializers.CharField()
    name = serializers.SerializerMethodField()

    def get_name(self, user: Any) -> str:
        return str(user)


class DepartmentRefSerializer(FieldsBuiltOnce, serializers.Serializer):  # type: ignore[type-arg]
    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()


class RequestTypeRefSerializer(FieldsBuiltOnce, serializers.Serializer):  # type: ignore[type-arg]
    id = serializers.IntegerField()
    name = serializers.CharField()
    is_confidential = serializers.BooleanField()


class TicketSlaSerializer(serializers.Serializer):  # type: ignore[type-arg]
    due_at = serializers.DateTimeField(allow_null=True)
    at_risk_at = serializers.DateTimeField(allow_null=True)
    state = serializers.ChoiceField(
        choices=["on_track", "at_risk", "breached"], allow_null=True,
        help_text="null: no clock running.",
    )  # fmt: skip


class ClockSerializer(FieldsBuiltOnce, serializers.Serializer):  # type: ignore[type-arg]
    kind = serializers.CharField()
    kind_label = serializers.CharField()
    state = serializers.CharField()
    state_label = serializers.CharField()
    department = serializers.CharField()
    time_zone = serializers.CharField()
    target_seconds = serializers.IntegerField(help_text="Business seconds.")
    used_seconds = serializers.IntegerField(help_text="Business seconds.")
    due_at = serializers.DateTimeField(allow_null=True)
    met_at = serializers.DateTimeField(allow_null=True)
    stopped_at = serializers.DateTimeField(allow_null=True)
    is_current = serializers.BooleanField()

    def to_representation(self, view: Any) -> dict[str, Any]:
        return {
            "kind": view.kind,
            "kind_label": str(view.kind_label),
            "state": view.state,
            "state_label": str(view.state_label),
            "department": view.department,
            "time_zone": view.time_zone,
            "target_seconds": view.target_seconds,
            "used_seconds": view.used_seconds,
            "due_at": _when(view.due_at),
            "met_at": _when(view.met_at),
            "stopped_at": _when(view.stopped_at),
            "is_current": bool(view.is_current),
        }


class AttachmentSerializer(FieldsBuiltOnce, serializers.Serializer):  # type: ignore[type-arg]
    id = serializers.IntegerField()
    filename = serializers.CharField()
    size = serializers.IntegerField(help_text="Bytes.")
    content_type = serializers.CharField()
    created_at = serializers.DateTimeField()
    url = serializers.SerializerMethodField()

    @extend_schema_field(serializers.CharField(help_text="GET it for the file's bytes."))
    def get_url(self, attachment: Any) -> str:
        return reverse("api:attachment", args=[attachment.pk])


class TicketSerializer(FieldsBuiltOnce, serializers.ModelSerializer):  # type: ignore[type-arg]
    """A ticket in a list: what the queue shows."""

    department = DepartmentRefSerializer()
    request_type = RequestTypeRefSerializer()
    requesting_department = DepartmentRefSerializer(allow_null=True)
    requester = PersonSerializer()
    assignee = PersonSerializer(allow_null=True)
    priority_label = serializers.CharField(source="get_priority_display")
    sla = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()

    class Meta:
        model = Ticket
        fields = [
            "reference", "url", "title", "status", "priority", "priority_label", "department",
            "request_type", "requesting_department", "requester", "assignee", "created_at",
            "updated_at", "first_response_at", "resolved_at", "closed_at", "reopen_count",
            "sla",
        ]  # fmt: skip

    def to_representation(self, ticket: Ticket) -> dict[str, Any]:
        request_type = ticket.request_type
        return {
            "reference": ticket.reference,
            "url": self.get_url(ticket),
            "title": ticket.title,
            "status": str(ticket.status),
            "priority": int(ticket.priority),
            "priority_label": str(ticket.get_priority_display()),
            "department": _department_ref(ticket.department),
            "request_type": {
                "id": request_type.id,
                "name": request_type.name,
                "is_confidential": bool(request_type.is_confidential),
            },
            "requesting_department": _department_ref(ticket.requesting_department),
            "requester": _person(ticket.requester),
            "assignee": _person(ticket.assignee),
            "created_at": _when(ticket.created_at),
            "updated_at": _when(ticket.updated_at),
            "first_response_at": _when(ticket.first_response_at),
            "resolved_at": _when(ticket.resolved_at),
            "closed_at": _when(ticket.closed_at),
            "reopen_count": ticket.reopen_count,
            "sla": self.get_sla(ticket),
        }

    @extend_schema_field(serializers.CharField(help_text="This ticket in the API."))
    def get_url(self, ticket: Ticket) -> str:
        return ticket_url(ticket.reference)

    @extend_schema_field(TicketSlaSerializer)
    def get_sla(self, ticket: Ticket) -> dict[str, Any]:
        """The soonest running deadline and its state at the time of the request."""
        now = self.context["now"]
        return {
            "due_at": ticket.sla_due_at,
            "at_risk_at": ticket.sla_at_risk_at,
            "state": deadline_state(ticket.sla_due_at, ticket.sla_at_risk_at, now),
        }


class TicketDetailSerializer(TicketSerializer):
    clocks = serializers.SerializerMethodField()
    attachments = serializers.SerializerMethodField()

    class Meta(TicketSerializer.Meta):
        fields = [*TicketSerializer.Meta.fields, "description", "extra", "attachments", "clocks"]

    def to_representation(self, ticket: Ticket) -> dict[str, Any]:
        return {
            **super().to_representation(ticket),
            "description": ticket.description,
            "extra": ticket.extra,
            "attachments": self.get_attachments(ticket),
            "clocks": self.get_clocks(ticket),
        }

    @extend_schema_field(AttachmentSerializer(many=True))
    def get_attachments(self, ticket: Ticket) -> list[dict[str, Any]]:
        """The files filed with the request (a comment's come with the comment)."""
        attachments = self.context["attachments"]
        if not attachments:  # as every filing through the API (JSON only)
            return []
        return AttachmentSerializer(attachments, many=True).data  # type: ignore[return-value]

    @extend_schema_field(ClockSerializer(many=True))
    def get_clocks(self, ticket: Ticket) -> list[dict[str, Any]]:
        return ClockSerializer(self.context["clocks"], many=True).data  # type: ignore[return-value]


class CommentSerializer(serializers.Serializer):  # type: ignore[type-arg]
    id = serializers.IntegerField()
    author = serializers.CharField(source="author_name")
    body = serializers.CharField()
    is_internal = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    attachments = AttachmentSerializer(many=True, source="attachments.all")


# --- Input ------------------------------------------------------------------------------


class TicketCreateSerializer(FieldsBuiltOnce, serializers.Serializer):  # type: ignore[type-arg]
    """Fields built once (FieldsBuiltOnce) here too: deep-copying them for each filing
    was two thirds of validating its body."""

    request_type = serializers.IntegerField(help_text="A request type id (GET /request-types/).")
    title = serializers.CharField(allow_blank=True, trim_whitespace=False)
    description = serializers.CharField(allow_blank=True, trim_whitespace=False)
    requester = serializers.CharField(
        required=False, help_text="Username of the person the request is for (default: you)."
    )
    priority = serializers.ChoiceField(choices=Priority.choices, required=False)
    extra = serializers.DictField(
        required=False,
        default=dict,
        help_text="Answers to the request type's own questions, by field key.",
    )


class TicketUpdateSerializer(serializers.Serializer):  # type: ignore[type-arg]
    priority = serializers.ChoiceField(choices=Priority.choices)


class AssignSerializer(serializers.Serializer):  # type: ignore[type-arg]
    assignee = serializers.CharField(
        allow_null=True, help_text="Username of an agent of the department; null unassigns."
    )


class TransitionSerializer(serializers.Serializer):  # type: ignore[type-arg]
    status = serializers.ChoiceField(choices=Ticket.Status.choices)
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)


class TransferSerializer(serializers.Serializer):  # type: ignore[type-arg]
    request_type = serializers.IntegerField(help_text="A request type of the new department.")
    reason = serializers.CharField(allow_blank=True)


class NoteSerializer(serializers.Serializer):  # type: ignore[type-arg]
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)


class CommentCreateSerializer(serializers.Serializer):  # type: ignore[type-arg]
    body = serializers.CharField(allow_blank=True, trim_whitespace=False)
    is_internal = serializers.BooleanField(default=False)
    attachments = serializers.ListField(
        child=serializers.FileField(),
        required=False,
        default=list,
        help_text="Files (multipart/form-data only), with the web form's size and type limits.",
    )


class QuerySerializer(serializers.Serializer):  # type: ignore[type-arg]
    """Query parameters: each optional, but one given empty is an error (a filter that
    silently does nothing would hide a caller's bug)."""

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        empty: dict[str, list[str]] = {
            str(name): ["Give a value, or leave the parameter out."]
            for name in self.fields
            if name in self.initial_data and self.initial_data.get(name) == ""
        }
        if empty:
            raise serializers.ValidationError(empty)
        return data


class TicketFilterSerializer(QuerySerializer):
    """The list's query parameters (all optional)."""

    status = serializers.ChoiceField(
        choices=[("active", "Active (new, open, waiting)"), *Ticket.Status.choices],
        required=False,
    )
    priority = serializers.ChoiceField(choices=Priority.choices, required=False)
    department = serializers.CharField(required=False, help_text="A department code.")
    requesting_department = serializers.CharField(required=False, help_text="A department code.")
    request_type = serializers.IntegerField(required=False, min_value=1)
    assignee = serializers.CharField(
        required=False, help_text='A username, "me", or "none" (unassigned).'
    )
    sla = serializers.ChoiceField(choices=["at_risk", "breached"], required=False)
    created_after = serializers.DateTimeField(required=False)
    created_before = serializers.DateTimeField(required=False)
    updated_after = serializers.DateTimeField(required=False)
    updated_before = serializers.DateTimeField(required=False)
    q = serializers.CharField(
        required=False, max_length=200, help_text="Title words or a reference."
    )


# --- Reference data ------------------------------------------------------------------------


class CalendarSerializer(serializers.Serializer):  # type: ignore[type-arg]
    id = serializers.IntegerField()
    name = serializers.CharField()
    time_zone = serializers.CharField()
    holiday_country = serializers.CharField()
    holiday_subdivision = serializers.CharField()
    working_hours = serializers.SerializerMethodField()
    holidays = serializers.SerializerMethodField()

    @extend_schema_field(serializers.ListField(child=serializers.DictField()))
    def get_working_hours(self, calendar: Any) -> list[dict[str, Any]]:
        return [
            {"weekday": i.weekday, "start": i.start.isoformat(), "end": i.end.isoformat()}
            for i in calendar.intervals.all()
        ]

    @extend_schema_field(serializers.ListField(child=serializers.DictField()))
    def get_holidays(self, calendar: Any) -> list[dict[str, Any]]:
        return [{"date": h.date.isoformat(), "name": h.name} for h in calendar.holidays.all()]


class DepartmentSerializer(serializers.Serializer):  # type: ignore[type-arg]
    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    is_active = serializers.BooleanField()
    time_zone = serializers.SerializerMethodField()

    def get_time_zone(self, department: Any) -> str:
        return department.calendar.time_zone if department.calendar else "UTC"


class RequestFieldSerializer(serializers.Serializer):  # type: ignore[type-arg]
    key = serializers.CharField(help_text="The key to answer it under, in `extra`.")
    label = serializers.CharField()  # type: ignore[assignment]
    kind = serializers.CharField()
    required = serializers.BooleanField()  # type: ignore[assignment]
    choices = serializers.ListField(child=serializers.CharField(), source="choice_list")
    help_text = serializers.CharField()  # type: ignore[assignment]


class RequestTypeSerializer(serializers.Serializer):  # type: ignore[type-arg]
    id = serializers.IntegerField()
    department = DepartmentRefSerializer()
    name = serializers.CharField()
    description = serializers.CharField()
    default_priority = serializers.IntegerField()
    is_confidential = serializers.BooleanField()
    is_active = serializers.BooleanField()
    fields = RequestFieldSerializer(many=True)  # type: ignore[assignment]


class SlaPolicySerializer(serializers.Serializer):  # type: ignore[type-arg]
    id = serializers.IntegerField()
    name = serializers.CharField()
    department = DepartmentRefSerializer()
    request_type = RequestTypeRefSerializer(allow_null=True)
    requesting_department = DepartmentRefSerializer(allow_null=True)
    priority = serializers.IntegerField(allow_null=True)
    first_response_minutes = serializers.IntegerField(help_text="Business minutes.")
    next_response_minutes = serializers.IntegerField(allow_null=True)
    resolution_minutes = serializers.IntegerField(help_text="Business minutes.")
    warning_percents = serializers.CharField()
    active_from = serializers.DateField(allow_null=True)
    active_until = serializers.DateField(allow_null=True)
    is_active = serializers.BooleanField()


# --- Figures (leads) ------------------------------------------------------------------------


class PeriodSerializer(QuerySerializer):
    first_day = serializers.DateField(required=False, help_text="Default: 30 days ago.")
    last_day = serializers.DateField(required=False, help_text="Default: today.")

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        data = super().validate(data)
        first, last = data.get("first_day"), data.get("last_day")
        if first and last and last < first:
            raise serializers.ValidationError("The period ends before it starts.")
        if first and last and (last - first).days >= MAX_DAYS:
            raise serializers.ValidationError(f"Choose a period of at most {MAX_DAYS} days.")
        return data


class SurveyFiguresSerializer(serializers.Serializer):  # type: ignore[type-arg]
    label = serializers.CharField()  # type: ignore[assignment]
    invited = serializers.IntegerField()
    responses = serializers.IntegerField()
    hidden = serializers.BooleanField(help_text="Too few answers to show in an anonymous survey.")
    response_rate = serializers.FloatField(allow_null=True)
    csat_average = serializers.FloatField(allow_null=True)
    csat_percent = serializers.FloatField(allow_null=True)
    distribution = serializers.DictField(child=serializers.IntegerField(), allow_null=True)
    nps = serializers.IntegerField(allow_null=True)
    nps_responses = serializers.IntegerField()


class SurveyResultsSerializer(serializers.Serializer):  # type: ignore[type-arg]
    since = serializers.DateTimeField()
    until = serializers.DateTimeField()
    anonymous = serializers.BooleanField()
    min_group_size = serializers.IntegerField()
    overall = SurveyFiguresSerializer()
    by_sla = SurveyFiguresSerializer(many=True)
    by_requesting_department = SurveyFiguresSerializer(many=True)


class SlaFiguresSerializer(serializers.Serializer):  # type: ignore[type-arg]
    finished = serializers.IntegerField()
    met = serializers.IntegerField()
    breached = serializers.IntegerField()
    percent_met = serializers.FloatField(allow_null=True)
    median_seconds = serializers.IntegerField(allow_null=True, help_text="Business seconds.")
    p90_seconds = serializers.IntegerField(allow_null=True, help_text="Business seconds.")


class WeekSerializer(serializers.Serializer):  # type: ignore[type-arg]
    start = serializers.DateField()
    created = serializers.IntegerField()
    resolved = serializers.IntegerField()


class AgeBucketSerializer(serializers.Serializer):  # type: ignore[type-arg]
    label = serializers.CharField()  # type: ignore[assignment]
    count = serializers.IntegerField()


class BreakdownRowSerializer(serializers.Serializer):  # type: ignore[type-arg]
    key = serializers.IntegerField(allow_null=True)
    name = serializers.CharField()
    created = serializers.IntegerField()
    first_response = SlaFiguresSerializer()
    resolution = SlaFiguresSerializer()


class DashboardSerializer(serializers.Serializer):  # type: ignore[type-arg]
    since = serializers.DateTimeField()
    until = serializers.DateTimeField()
    first_response = SlaFiguresSerializer()
    resolution = SlaFiguresSerializer()
    created = serializers.IntegerField()
    resolved = serializers.IntegerField()
    reopen_percent = serializers.FloatField(allow_null=True)
    at_risk_now = serializers.IntegerField()
    breached_now = serializers.IntegerField()
    weeks = WeekSerializer(many=True)
    backlog = AgeBucketSerializer(many=True)
    by_requesting_department = BreakdownRowSerializer(many=True)
    by_request_type = BreakdownRowSerializer(many=True)
    by_assignee = BreakdownRowSerializer(many=True)
    by_priority = BreakdownRowSerializer(many=True)

"""The REST API, /api/v1/. Each endpoint: permission-checked read (tickets.selectors),
input shaped by a serializer, the same service the screens call, output serialized.
Errors take one shape (api/errors.py)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from django.http import FileResponse, Http404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action, api_view, permission_classes, schema
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import User
from api import serializers as s
from dashboards import selectors as dashboards
from dashboards.forms import default_period
from servicedesk.converters import DepartmentCode
from slas.models import BusinessCalendar, SlaPolicy
from slas.selectors import ticket_sla_as_filed, ticket_sla_for
from surveys.stats import survey_stats
from tickets import selectors, services
from tickets.models import Department, RequestType, Ticket
from tickets.views import attachment_file


class TicketCursor(CursorPagination):
    """Newest first by id (filing order): any page costs one index range scan."""

    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def get_page_size(self, request: Request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not raw.isdigit() or not 1 <= int(raw) <= self.max_page_size:
            raise ValidationError(
                {"page_size": [f"A whole number from 1 to {self.max_page_size}."]}
            )
        return int(raw)


def _user(request: Request) -> User:
    return request.user  # type: ignore[return-value]


def _person(username: str | None, field: str) -> User | None:
    if username is None:
        return None
    person = User.objects.select_related("home_department").filter(username=username).first()
    if person is None:
        raise ValidationError({field: [f"No one has the username “{username}”."]})
    return person


def _department_id(code: str | None, field: str) -> int | None:
    if not code:
        return None
    # What cannot be a code is no department, without asking the database (which refuses
    # some such strings, a NUL character among them: it was a 500).
    department_id = (
        Department.objects.filter(code=code.upper()).values_list("pk", flat=True).first()
        if re.fullmatch(DepartmentCode.regex, code)
        else None
    )
    if department_id is None:
        raise ValidationError({field: [f"No department has the code “{code}”."]})
    return department_id


def _request_type(pk: int, field: str = "request_type") -> RequestType:
    request_type = selectors.request_type_by_id(pk)
    if request_type is None:
        raise ValidationError({field: ["No such request type."]})
    return request_type


def _moving_to(to_status: str) -> Callable[[Ticket, User, dict[str, Any]], object]:
    """The change of reopen and cancel: a transition to `to_status` with the caller's note."""
    return lambda ticket, actor, data: services.ticket_transition(
        ticket=ticket, actor=actor, to_status=to_status, note=data["note"]
    )


@extend_schema_view(
    list=extend_schema(
        summary="Tickets you may see",
        parameters=[s.TicketFilterSerializer],
        description="Newest first. Cursor pages: follow `next` (deep pages cost the same).",
    ),
    retrieve=extend_schema(summary="One ticket, with its SLA clocks"),
    create=extend_schema(
        summary="File a request",
        request=s.TicketCreateSerializer,
        responses={201: s.TicketDetailSerializer},
    ),
    partial_update=extend_schema(
        summary="Change a ticket's priority (agents)",
        request=s.TicketUpdateSerializer,
        responses=s.TicketDetailSerializer,
    ),
)
class TicketViewSet(viewsets.GenericViewSet):  # type: ignore[type-arg]
    serializer_class = s.TicketSerializer
    pagination_class = TicketCursor
    lookup_field = "reference"
    lookup_value_regex = "[^/]+"
    http_method_names = ["get", "post", "patch", "head", "options"]
    conflicts = True  # lifecycle actions may answer 409 (api/schema.py)

    def get_queryset(self) -> Any:
        return Ticket.objects.none()  # every read goes through tickets.selectors

    def _ticket(self, reference: str) -> Ticket:
        return selectors.ticket_access(user=_user(self.request), reference=reference)

    def _detail(self, ticket: Ticket, *, code: int = status.HTTP_200_OK) -> Response:
        """The ticket as it is now: read again after a change, without a second access
        check (the caller could see it a moment ago; after a transfer they may not)."""
        now = timezone.now()
        ticket = Ticket.objects.select_related(*selectors.LIST_RELATED).get(pk=ticket.pk)
        user = _user(self.request)
        clocks = ticket_sla_for(user=user, ticket=ticket, now=now, timeline=False)
        attachments = selectors.ticket_attachments_for(user=user, ticket=ticket)
        context = {"now": now, "clocks": clocks, "attachments": attachments}
        return Response(s.TicketDetailSerializer(ticket, context=context).data, status=code)

    def list(self, request: Request) -> Response:
        query = s.TicketFilterSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = dict(query.validated_data)
        user = _user(request)
        assignee = data.get("assignee")
        if assignee == "me":
            assignee = user.pk
        elif assignee and assignee != "none":
            person = _person(assignee, "assignee")
            assignee = person.pk if person else None
        filters = {
            **data,
            "assignee": assignee,
            "department": _department_id(data.get("department"), "department"),
            "requesting_department": _department_id(
                data.get("requesting_department"), "requesting_department"
            ),
            "created_since": data.get("created_after"),
            "created_until": data.get("created_before"),
            "updated_since": data.get("updated_after"),
            "updated_until": data.get("updated_before"),
        }
        now = timezone.now()
        tickets = selectors.ticket_list_for_user(user=user, filters=filters, now=now)
        page = self.paginate_queryset(tickets)
        rows = s.TicketSerializer(page, many=True, context={"now": now}).data
        return self.get_paginated_response(rows)

    def retrieve(self, request: Request, reference: str) -> Response:
        return self._detail(self._ticket(reference))

    def create(self, request: Request) -> Response:
        body = s.TicketCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        request_type = _request_type(data["request_type"])
        requester = _person(data.get("requester"), "requester") or _user(request)
        ticket = services.ticket_create(
            created_by=_user(request),
            request_type=request_type,
            title=data["title"],
            description=data["description"],
            requester=requester,
            priority=data.get("priority"),
            extra=data.get("extra") or {},
        )
        return self._created(ticket, requester=requester)

    def _created(self, ticket: Ticket, *, requester: User) -> Response:
        """The new ticket as filed, from the objects in hand: ticket_create returns it with
        its department, request type, people and SLA deadlines as written (no read back);
        the requesting department is the requester's (loaded with them). A request filed
        through the API has no attachments (JSON only)."""
        now = timezone.now()
        if ticket.requesting_department_id == requester.home_department_id:
            ticket.requesting_department = requester.home_department
        user = _user(self.request)
        clocks = ticket_sla_as_filed(user=user, ticket=ticket, now=now)
        context = {"now": now, "clocks": clocks, "attachments": []}
        data = s.TicketDetailSerializer(ticket, context=context).data
        return Response(data, status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, reference: str) -> Response:
        ticket = self._ticket(reference)
        body = s.TicketUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.ticket_set_priority(
            ticket=ticket, actor=_user(request), priority=body.validated_data["priority"]
        )
        return self._detail(ticket)

    @extend_schema(
        summary="Assign (agents)", request=s.AssignSerializer, responses=s.TicketDetailSerializer
    )
    @action(detail=True, methods=["post"])
    def assign(self, request: Request, reference: str) -> Response:
        return self._act(
            reference,
            s.AssignSerializer,
            lambda ticket, actor, data: services.ticket_assign(
                ticket=ticket, actor=actor, assignee=_person(data["assignee"], "assignee")
            ),
        )

    @extend_schema(
        summary="Change the status",
        request=s.TransitionSerializer,
        responses=s.TicketDetailSerializer,
    )
    @action(detail=True, methods=["post"])
    def transition(self, request: Request, reference: str) -> Response:
        return self._act(
            reference,
            s.TransitionSerializer,
            lambda ticket, actor, data: services.ticket_transition(
                ticket=ticket, actor=actor, to_status=data["status"], note=data["note"]
            ),
        )

    @extend_schema(
        summary="Reopen a resolved ticket",
        request=s.NoteSerializer,
        responses=s.TicketDetailSerializer,
    )
    @action(detail=True, methods=["post"])
    def reopen(self, request: Request, reference: str) -> Response:
        return self._act(reference, s.NoteSerializer, _moving_to(Ticket.Status.OPEN))

    @extend_schema(
        summary="Cancel a new request", request=s.NoteSerializer, responses=s.TicketDetailSerializer
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, reference: str) -> Response:
        return self._act(reference, s.NoteSerializer, _moving_to(Ticket.Status.CANCELLED))

    @extend_schema(
        summary="Transfer to another department (agents)",
        request=s.TransferSerializer,
        responses=s.TicketDetailSerializer,
    )
    @action(detail=True, methods=["post"])
    def transfer(self, request: Request, reference: str) -> Response:
        return self._act(
            reference,
            s.TransferSerializer,
            lambda ticket, actor, data: services.ticket_transfer(
                ticket=ticket,
                actor=actor,
                request_type=_request_type(data["request_type"]),
                reason=data["reason"],
            ),
        )

    def _act(
        self,
        reference: str,
        body_class: type[serializers.Serializer],  # type: ignore[type-arg]
        change: Callable[[Ticket, User, dict[str, Any]], object],
    ) -> Response:
        """A lifecycle action: the ticket (404 unless visible), the body shaped by
        `body_class`, the change by its service, the ticket as it is now."""
        ticket = self._ticket(reference)
        body = body_class(data=self.request.data)
        body.is_valid(raise_exception=True)
        change(ticket, _user(self.request), dict(body.validated_data))
        return self._detail(ticket)

    @extend_schema(
        methods=["GET"],
        summary="The conversation (internal notes for agents only)",
        request=None,
        responses=s.CommentSerializer(many=True),
    )
    @extend_schema(
        methods=["POST"],
        summary="Reply, or add an internal note (agents)",
        request=s.CommentCreateSerializer,
        responses={201: s.CommentSerializer},
    )
    @action(detail=True, methods=["get", "post"], parser_classes=[JSONParser, MultiPartParser])
    def comments(self, request: Request, reference: str) -> Response:
        ticket = self._ticket(reference)
        user = _user(request)
        if request.method == "GET":
            comments = selectors.ticket_comments_for(user=user, ticket=ticket).order_by(
                "created_at", "id"
            )
            return Response(s.CommentSerializer(comments, many=True).data)
        body = s.CommentCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        comment = services.comment_add(
            ticket=ticket,
            author=user,
            body=body.validated_data["body"],
            is_internal=body.validated_data["is_internal"],
            attachments=body.validated_data["attachments"],
        )
        return Response(s.CommentSerializer(comment).data, status=status.HTTP_201_CREATED)


@extend_schema(
    summary="Download an attachment",
    responses={(200, "application/octet-stream"): OpenApiTypes.BINARY},
)
@api_view(["GET"])
def attachment(request: Request, attachment_id: int) -> FileResponse:
    """The file, if the caller may see the ticket (and, for a note's file, is an agent)."""
    found = selectors.attachment_access(user=_user(request), attachment_id=attachment_id)
    return attachment_file(found)


@api_view(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
@permission_classes([AllowAny])
@schema(None)
def not_found(request: Request, *args: Any, **kwargs: Any) -> Response:
    """Any other URL under /api/: a JSON 404 in the API's error shape, not a web page."""
    raise Http404("No such endpoint.")


# --- Reference data (any signed-in caller) -------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="Departments"),
    retrieve=extend_schema(summary="One department"),
)
class DepartmentViewSet(viewsets.ReadOnlyModelViewSet):  # type: ignore[type-arg]
    serializer_class = s.DepartmentSerializer
    lookup_field = "code"
    # A department's code, as in the pages' paths: anything else is no department (404),
    # not a string for the database to refuse.
    lookup_value_regex = DepartmentCode.regex
    pagination_class = None
    queryset = Department.objects.select_related("calendar").order_by("name")

    def get_object(self) -> Department:
        code = self.kwargs["code"].upper()
        department = self.get_queryset().filter(code=code).first()
        if department is None:
            raise Http404("No such department.")
        return department

    @extend_schema(
        summary="The department's figures (its leads)",
        parameters=[s.PeriodSerializer],
        responses=s.DashboardSerializer,
    )
    @action(detail=True, methods=["get"])
    def dashboard(self, request: Request, code: str) -> Response:
        department, since, until, tz = self._lead_period(request, code)
        board = dashboards.lead_dashboard(
            department=department, since=since, until=until, tz=tz, now=timezone.now()
        )
        return Response(s.DashboardSerializer(board).data)

    @extend_schema(
        summary="The department's survey results (its leads)",
        parameters=[s.PeriodSerializer],
        responses=s.SurveyResultsSerializer,
    )
    @action(detail=True, methods=["get"], url_path="survey-results")
    def survey_results(self, request: Request, code: str) -> Response:
        department, since, until, _ = self._lead_period(request, code)
        results = survey_stats(
            department=department, since=since, until=until, by_requesting_department=True
        )
        return Response(s.SurveyResultsSerializer(results).data)

    def _lead_period(self, request: Request, code: str) -> tuple[Department, Any, Any, Any]:
        department = dashboards.department_access_for_lead(user=_user(request), code=code.upper())
        query = s.PeriodSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        tz = selectors.department_time_zone(department)
        default_first, default_last = default_period(timezone.now().astimezone(tz).date())
        first_day = query.validated_data.get("first_day", default_first)
        last_day = query.validated_data.get("last_day", default_last)
        if last_day < first_day:
            raise ValidationError({"first_day": ["The period ends before it starts."]})
        since, until = selectors.local_days(first_day=first_day, last_day=last_day, tz=tz)
        return department, since, until, tz


@extend_schema_view(
    list=extend_schema(
        summary="Request types, with the questions each asks",
        parameters=[OpenApiParameter("department", str, description="A department code.")],
    ),
    retrieve=extend_schema(summary="One request type"),
)
class RequestTypeViewSet(viewsets.ReadOnlyModelViewSet):  # type: ignore[type-arg]
    serializer_class = s.RequestTypeSerializer
    pagination_class = None

    def get_queryset(self) -> Any:
        types = RequestType.objects.select_related("department").prefetch_related("fields")
        code = self.request.query_params.get("department")
        department_id = _department_id(code, "department")
        if department_id is not None:
            types = types.filter(department_id=department_id)
        return types.order_by("department__name", "position", "name")


@extend_schema_view(list=extend_schema(summary="Business calendars"),
                    retrieve=extend_schema(summary="One business calendar"))  # fmt: skip
class CalendarViewSet(viewsets.ReadOnlyModelViewSet):  # type: ignore[type-arg]
    serializer_class = s.CalendarSerializer
    pagination_class = None
    queryset = BusinessCalendar.objects.prefetch_related("intervals", "holidays").order_by("name")


@extend_schema_view(list=extend_schema(summary="SLA policies"),
                    retrieve=extend_schema(summary="One SLA policy"))  # fmt: skip
class SlaPolicyViewSet(viewsets.ReadOnlyModelViewSet):  # type: ignore[type-arg]
    serializer_class = s.SlaPolicySerializer
    pagination_class = None
    queryset = SlaPolicy.objects.select_related(
        "department", "request_type", "requesting_department"
    ).order_by("department__name", "name")

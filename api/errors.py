"""One JSON shape for every error the API returns:

    {"error": {"status": 400, "code": "invalid", "message": "…",
               "fields": {"title": ["Give your request a short title."]}}}

`fields` is present for bad input only (400), keyed by the request's field names
("extra.<key>" for a request type's own questions). The services' own exceptions map
here: ValidationError → 400, PermissionDenied → 403, Http404 → 404 (a ticket the caller
may not see is "not found", never "forbidden"), TransitionRefused → 409.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler as drf_exception_handler

from tickets.services import TransitionRefused


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the ticket's state."
    default_code = "conflict"


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(as_serializer_error(exc))
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or "Not found.")
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or "You may not do this.")
    elif isinstance(exc, TransitionRefused):
        exc = Conflict(str(exc))
    response = drf_exception_handler(exc, context)
    if response is None or not isinstance(exc, exceptions.APIException):
        return response  # not ours to shape: Django's 500 page, logged
    response.data = {"error": error_body(exc, response.status_code)}
    return response


def error_body(exc: exceptions.APIException, status_code: int) -> dict[str, Any]:
    body: dict[str, Any] = {"status": status_code, "code": _code(exc)}
    detail = exc.detail
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten(detail) if isinstance(detail, dict) else {}
        general = fields.pop("non_field_errors", None) or fields.pop("__all__", None)
        if isinstance(detail, list):
            general = [str(item) for item in detail]
        body["message"] = " ".join(general) if general else "Check the highlighted fields."
        body["fields"] = fields
    else:
        body["message"] = str(detail)
    wait = getattr(exc, "wait", None)
    if isinstance(exc, exceptions.Throttled) and wait is not None:
        body["retry_after_seconds"] = int(wait) + 1
    return body


def _code(exc: exceptions.APIException) -> str:
    if isinstance(exc, exceptions.ValidationError):
        return "invalid"
    codes = exc.get_codes()
    return codes if isinstance(codes, str) else exc.default_code


def _flatten(detail: Mapping[Any, Any], prefix: str = "") -> dict[str, list[str]]:
    """{"extra": {"size": ["…"]}} → {"extra.size": ["…"]}; lists of messages as they are
    (a list serializer's errors are keyed by position)."""
    flat: dict[str, list[str]] = {}
    for key, value in detail.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, prefix=f"{name}."))
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            for i, item in enumerate(value):
                flat.update(_flatten(item, prefix=f"{name}.{i}."))
        else:
            flat[name] = [str(message) for message in value]
    return flat


class ErrorDetailSerializer(serializers.Serializer):  # type: ignore[type-arg]
    status = serializers.IntegerField()
    code = serializers.CharField(
        help_text="invalid, not_authenticated, authentication_failed, "
        "permission_denied, not_found, conflict, throttled, …"
    )
    message = serializers.CharField()
    fields = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Bad input only: the messages per request field.",
    )
    retry_after_seconds = serializers.IntegerField(required=False, help_text="429 only.")


class ErrorSerializer(serializers.Serializer):  # type: ignore[type-arg]
    error = ErrorDetailSerializer()

"""Middleware of the whole site."""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import BadRequest
from django.http import HttpRequest, HttpResponse


class RefuseNulMiddleware:
    """A NUL character in a page's address is bad input: 400, before a view hands it to
    PostgreSQL, which refuses such strings (a 500). Forms already refuse it in their fields;
    the API checks its own (its serializers, and its 404 for a path that names nothing)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path_info.startswith("/api/") and (
            "\x00" in request.path_info or "%00" in request.META.get("QUERY_STRING", "")
        ):
            raise BadRequest("The address holds a NUL character.")
        return self.get_response(request)

"""Middleware of the whole site."""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import BadRequest
from django.http import HttpRequest, HttpResponse
from django.views.defaults import bad_request


class RefuseNulMiddleware:
    """A NUL character in a page's query string is bad input (400), before a view hands
    it to PostgreSQL, which refuses such strings (a 500). Forms already refuse it in their
    fields, paths in their converters and lookups (servicedesk/converters.py,
    tickets.selectors.ticket_access); the API checks its own query with its serializers
    and answers in its error shape."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "%00" in request.META.get("QUERY_STRING", "") and not request.path_info.startswith(
            "/api/"
        ):
            # The 400 page itself: no traceback in the log or (DEBUG) on the page for it.
            return bad_request(request, BadRequest("The address holds a NUL character."))
        return self.get_response(request)

"""The OpenAPI schema: every operation documents the error responses it can give, in the
one shape of api/errors.py."""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema as BaseAutoSchema

from api.errors import ErrorSerializer

ERRORS = {
    "400": "Bad input: `fields` names each problem.",
    "401": "No valid credentials (a missing, unknown or revoked token).",
    "403": "Signed in, but not allowed to do this.",
    "404": "No such object, or one the caller may not see.",
    "409": "Refused by the ticket's lifecycle (e.g. reopening a closed ticket).",
    "429": "Too many requests for this token: wait `retry_after_seconds`.",
}


class AutoSchema(BaseAutoSchema):
    def _get_response_bodies(self, direction: str = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction=direction)  # type: ignore[arg-type]
        for code in self._error_codes():
            if code not in responses:
                response = self._get_response_for_code(ErrorSerializer, code, direction=direction)
                response["description"] = ERRORS[code]
                responses[code] = response
        return responses

    def _error_codes(self) -> list[str]:
        codes = ["400", "401", "403", "429"]
        if self._is_a_detail_path() or self.method != "GET":
            codes.append("404")
        if getattr(self.view, "conflicts", False) and self.method == "POST":
            codes.append("409")
        return codes

    def _is_a_detail_path(self) -> bool:
        return "{" in self.path

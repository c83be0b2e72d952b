"""Path converters of the site's pages, registered on import (the urls modules that use
one import this module)."""

from __future__ import annotations

from django.urls import register_converter


class DepartmentCode:
    """`<department:code>`: a department's code, in either case (the views upper it;
    tickets.models.Department.code). Any other path names no page (404) before a view
    sees it: a NUL character, which PostgreSQL refuses in a string, made those a 500.
    The API's department lookup and filters use the same `regex` (api.views)."""

    regex = "[A-Za-z][A-Za-z0-9]{1,9}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(DepartmentCode, "department")

"""The SLA fixtures (calendars, policies, a fresh calendar cache) for the dashboards."""

from tests.slas.conftest import _fresh_calendar_cache, make_calendar, make_policy

__all__ = ["_fresh_calendar_cache", "make_calendar", "make_policy"]

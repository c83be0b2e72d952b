"""The lead dashboard's tables as CSV: the figures the page shows, unformatted (seconds
of business time, percentages as numbers, empty cells where the page shows a dash)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Sequence

from dashboards.map import DepartmentMap
from dashboards.selectors import BreakdownRow, LeadDashboard, LeadSatisfaction

Cell = str | int | float | None
Table = tuple[list[str], list[Sequence[Cell]]]
# A spreadsheet runs a cell that starts with one of these as a formula.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _targets(board: LeadDashboard, satisfaction: LeadSatisfaction) -> Table:
    header = ["target", "finished", "met", "breached", "percent_met", "median_seconds",
              "p90_seconds"]  # fmt: skip
    rows: list[Sequence[Cell]] = [
        (label, f.finished, f.met, f.breached, f.percent_met, f.median_seconds, f.p90_seconds)
        for label, f in board.targets
    ]
    return header, rows


def _backlog(board: LeadDashboard, satisfaction: LeadSatisfaction) -> Table:
    return ["age", "open"], [(bucket.label, bucket.count) for bucket in board.backlog]


def _weeks(board: LeadDashboard, satisfaction: LeadSatisfaction) -> Table:
    rows: list[Sequence[Cell]] = [
        (week.start.isoformat(), week.created, week.resolved) for week in board.weeks
    ]
    return ["week_of", "created", "resolved"], rows


def _requesting_departments(board: LeadDashboard, satisfaction: LeadSatisfaction) -> Table:
    header = ["requesting_department", "requests", "first_response_percent_met",
              "resolution_percent_met", "resolution_breached", "median_resolution_seconds",
              "survey_responses", "satisfaction_average"]  # fmt: skip
    rows: list[Sequence[Cell]] = []
    for row in board.by_requesting_department:
        s = row.satisfaction
        rows.append(
            (
                row.name,
                row.created,
                row.first_response.percent_met,
                row.resolution.percent_met,
                row.resolution.breached,
                row.resolution.median_seconds,
                s.responses if s else 0,
                s.csat_average if s else None,
            )
        )
    return header, rows


def _breakdown(column: str, rows: list[BreakdownRow]) -> Table:
    header = [column, "requests", "first_response_percent_met", "resolution_percent_met",
              "resolution_breached", "median_resolution_seconds"]  # fmt: skip
    table: list[Sequence[Cell]] = [
        (row.name, row.created, row.first_response.percent_met, row.resolution.percent_met,
         row.resolution.breached, row.resolution.median_seconds)
        for row in rows
    ]  # fmt: skip
    return header, table


def _request_types(board: LeadDashboard, satisfaction: LeadSatisfaction) -> Table:
    return _breakdown("request_type", board.by_request_type)


def _agents(board: LeadDashboard, satisfaction: LeadSatisfaction) -> Table:
    return _breakdown("agent", board.by_assignee)


def _priorities(board: LeadDashboard, satisfaction: LeadSatisfaction) -> Table:
    return _breakdown("priority", board.by_priority)


def _score_distribution(board: LeadDashboard, satisfaction: LeadSatisfaction) -> Table:
    rows: list[Sequence[Cell]] = [
        (score, count, percent) for score, count, percent in satisfaction.distribution
    ]
    return ["score", "responses", "percent"], rows


def _satisfaction_weeks(board: LeadDashboard, satisfaction: LeadSatisfaction) -> Table:
    rows: list[Sequence[Cell]] = [
        (week.start.isoformat(), week.figures.invited, week.figures.responses,
         week.figures.csat_average, "yes" if week.figures.hidden else "")
        for week in satisfaction.weeks
    ]  # fmt: skip
    return ["week_of", "invited", "responses", "average", "hidden"], rows


def _comments(board: LeadDashboard, satisfaction: LeadSatisfaction) -> Table:
    rows: list[Sequence[Cell]] = [
        (c.answered_at.isoformat(), c.score, c.comment, c.reference, c.requester,
         c.requesting_department)
        for c in satisfaction.comments
    ]  # fmt: skip
    return ["answered_at", "score", "comment", "reference", "requester",
            "requesting_department"], rows  # fmt: skip


TABLES: dict[str, Callable[[LeadDashboard, LeadSatisfaction], Table]] = {
    "targets": _targets,
    "backlog": _backlog,
    "weeks": _weeks,
    "requesting_departments": _requesting_departments,
    "request_types": _request_types,
    "agents": _agents,
    "priorities": _priorities,
    "score_distribution": _score_distribution,
    "satisfaction_weeks": _satisfaction_weeks,
    "comments": _comments,
}


def lead_dashboard_csv(
    *, table: str, board: LeadDashboard, satisfaction: LeadSatisfaction
) -> str:  # fmt: skip
    """The table named `table` (one of TABLES; KeyError otherwise) as CSV text."""
    header, rows = TABLES[table](board, satisfaction)
    return _csv_text(header, rows)


def department_map_csv(board: DepartmentMap) -> str:
    """One line per cell with requests or finished clocks (long format, for pivoting)."""
    header = ["requesting_department", "providing_department", "requests",
              "first_response_percent_met", "resolution_percent_met", "resolution_breached",
              "median_resolution_seconds", "survey_responses", "satisfaction_average"]  # fmt: skip
    rows: list[Sequence[Cell]] = []
    for row in board.rows:
        for provider, cell in row.cells:
            if cell.empty:
                continue
            s = cell.satisfaction
            rows.append(
                (row.name, provider.name, cell.created, cell.first_response.percent_met,
                 cell.resolution.percent_met, cell.resolution.breached,
                 cell.resolution.median_seconds, s.responses if s else 0,
                 s.csat_average if s else None)
            )  # fmt: skip
    return _csv_text(header, rows)


def _csv_text(header: list[str], rows: Iterable[Sequence[Cell]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(_safe(row) for row in rows)
    return out.getvalue()


def _safe(row: Iterable[Cell]) -> list[Cell]:
    """Text that a spreadsheet would read as a formula gets a leading apostrophe."""
    return [
        f"'{cell}" if isinstance(cell, str) and cell.startswith(_FORMULA_STARTS) else cell
        for cell in row
    ]

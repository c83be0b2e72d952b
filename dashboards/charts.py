"""The lead dashboard's charts as data for static/js/dashboard-charts.js (Chart.js): the
same figures as the tables beside them, nothing computed anew. Each chart: labels, and
series of numbers (None where the table shows a dash or "hidden": a gap in the line),
with the colour token (a CSS custom property of app.css) each is drawn in."""

from __future__ import annotations

from typing import Any

from dashboards.selectors import LeadDashboard, LeadSatisfaction

SCORE_TONES = ["danger", "danger", "warning", "success", "success"]


def lead_charts(board: LeadDashboard, satisfaction: LeadSatisfaction) -> dict[str, Any]:
    weeks = [week.start.strftime("%-d %b") for week in board.weeks]
    return {
        "weeks": {
            "labels": weeks,
            "series": [
                {"label": "Created", "data": [w.created for w in board.weeks], "tone": "accent"},
                {"label": "Resolved", "data": [w.resolved for w in board.weeks], "tone": "success"},
            ],
        },
        "backlog": {
            "labels": [bucket.label for bucket in board.backlog],
            "series": [
                {"label": "Open", "data": [b.count for b in board.backlog], "tone": "accent"}
            ],
        },
        "scores": {
            "labels": [str(score) for score, _, _ in satisfaction.distribution],
            "series": [
                {
                    "label": "Answers",
                    "data": [count for _, count, _ in satisfaction.distribution],
                    "tones": SCORE_TONES[: len(satisfaction.distribution)],
                }
            ],
        },
        "satisfaction": {
            "labels": [week.start.strftime("%-d %b") for week in satisfaction.weeks],
            "series": [
                {
                    "label": "Average score",
                    "data": [week.figures.csat_average for week in satisfaction.weeks],
                    "tone": "accent",
                }
            ],
            "min": 1,
            "max": 5,
        },
    }

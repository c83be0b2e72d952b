"""The lead dashboard's charts carry the tables' figures (dashboards/charts.py), and the
page loads the charting library it needs from our own static files."""

from __future__ import annotations

import json

import pytest
import time_machine
from django.contrib.staticfiles import finders
from django.urls import reverse

from tests.dashboards.history import NOW


@pytest.fixture
def page(client, it_lead, history, berlin_it):
    client.force_login(it_lead)
    with time_machine.travel(NOW, tick=False):
        return client.get(
            reverse("lead_dashboard", args=["IT"]),
            {"first_day": "2026-03-02", "last_day": "2026-03-15"},
        )


def charts(response) -> dict:
    html = response.content.decode()
    start = html.index('<script id="dash-charts" type="application/json">') + len(
        '<script id="dash-charts" type="application/json">'
    )
    return json.loads(html[start : html.index("</script>", start)])


def test_the_charts_hold_the_tables_figures(page):
    data = charts(page)
    board = page.context["board"]
    assert data["weeks"]["labels"] == ["2 Mar", "9 Mar"]
    assert [s["data"] for s in data["weeks"]["series"]] == [[6, 3], [6, 1]]  # see history.py
    assert data["backlog"]["series"][0]["data"] == [b.count for b in board.backlog]
    assert data["backlog"]["labels"][0] == "Under 1 day"
    assert data["satisfaction"]["min"] == 1 and data["satisfaction"]["max"] == 5


def test_the_page_draws_them_with_our_own_chart_js(page):
    html = page.content.decode()
    for path in ("vendor/chart.umd.min.js", "js/dashboard-charts.js"):
        assert f"/static/{path}" in html
        assert finders.find(path), path
    for chart in ("weeks", "backlog"):
        assert f'data-chart="{chart}"' in html
    # Without JavaScript the tables stay open; the script folds them once a chart is drawn.
    # Backlog, weeks, satisfaction weeks; no score table without answers.
    assert html.count('<details class="dash-details" open>') == 3

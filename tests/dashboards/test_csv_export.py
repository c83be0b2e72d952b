"""Every table of the lead dashboard as CSV, parsed and checked against the hand counts
of test_lead_dashboard.py and test_satisfaction.py (the histories of history.py)."""

from __future__ import annotations

import csv
import io

import pytest
import time_machine
from django.urls import reverse

from tests.dashboards.history import ANSWERS_READ_AT as SURVEYS_NOW
from tests.dashboards.history import NOW

PERIOD = "first_day=2026-03-02&last_day=2026-03-15"


def export(client, table, now=NOW, period=PERIOD, code="IT"):
    with time_machine.travel(now, tick=False):
        return client.get(
            reverse("lead_dashboard", args=[code]) + f"?{period}&format=csv&table={table}"
        )


def rows(response):
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    return list(csv.reader(io.StringIO(response.content.decode())))


@pytest.fixture
def lead(client, it_lead):
    client.force_login(it_lead)
    return client


def test_targets(lead, history):
    assert rows(export(lead, "targets")) == [
        ["target", "finished", "met", "breached", "percent_met", "median_seconds",
         "p90_seconds"],
        ["First response", "7", "6", "1", "85.7", "1800", "7200"],
        ["Resolution", "7", "6", "1", "85.7", "14400", "39600"],
    ]  # fmt: skip


def test_backlog(lead, history):
    assert rows(export(lead, "backlog")) == [
        ["age", "open"],
        ["Under 1 day", "2"],
        ["1 to 3 days", "1"],
        ["3 to 7 days", "1"],
        ["7 to 30 days", "1"],
        ["Over 30 days", "1"],
    ]


def test_weeks(lead, history):
    response = export(lead, "weeks")
    assert 'filename="IT-weeks-2026-03-02-2026-03-15.csv"' in response["Content-Disposition"]
    assert rows(response) == [
        ["week_of", "created", "resolved"],
        ["2026-03-02", "6", "6"],
        ["2026-03-09", "3", "1"],
    ]


def test_requesting_departments(lead, history):
    assert rows(export(lead, "requesting_departments")) == [
        ["requesting_department", "requests", "first_response_percent_met",
         "resolution_percent_met", "resolution_breached", "median_resolution_seconds",
         "survey_responses", "satisfaction_average"],
        ["Sales", "6", "83.3", "100.0", "0", "7200", "0", ""],
        ["Human Resources", "2", "100.0", "0.0", "1", "39600", "0", ""],  # G unanswered
        ["No department", "1", "", "", "0", "", "0", ""],
    ]  # fmt: skip


BREAKDOWN_HEADER = ["requests", "first_response_percent_met", "resolution_percent_met",
                    "resolution_breached", "median_resolution_seconds"]  # fmt: skip


def test_request_types(lead, spread):
    assert rows(export(lead, "request_types")) == [
        ["request_type", *BREAKDOWN_HEADER],
        ["Laptop", "7", "80.0", "100.0", "0", "14400"],
        ["Monitor", "2", "100.0", "50.0", "1", "1800"],
    ]


def test_agents(lead, spread):
    assert rows(export(lead, "agents")) == [
        ["agent", *BREAKDOWN_HEADER],
        ["Pia Ross", "4", "75.0", "75.0", "1", "14400"],
        ["Unassigned", "3", "", "", "0", ""],
        ["quinn", "2", "100.0", "100.0", "0", "7200"],
    ]


def test_priorities(lead, spread):
    response = export(lead, "priorities")
    assert 'filename="IT-priorities-2026-03-02-2026-03-15.csv"' in response["Content-Disposition"]
    assert rows(response) == [
        ["priority", *BREAKDOWN_HEADER],
        ["Urgent", "2", "50.0", "50.0", "1", "14400"],
        ["High", "1", "100.0", "100.0", "0", "14400"],
        ["Normal", "5", "100.0", "100.0", "0", "7200"],
        ["Low", "1", "", "", "0", ""],
    ]


def test_score_distribution(lead, answered):
    assert rows(export(lead, "score_distribution", now=SURVEYS_NOW)) == [
        ["score", "responses", "percent"],
        ["1", "1", "20"],
        ["2", "1", "20"],
        ["3", "1", "20"],
        ["4", "1", "20"],
        ["5", "1", "20"],
    ]


def test_satisfaction_weeks(lead, answered):
    assert rows(export(lead, "satisfaction_weeks", now=SURVEYS_NOW)) == [
        ["week_of", "invited", "responses", "average", "hidden"],
        ["2026-03-02", "4", "3", "3.67", ""],
        ["2026-03-09", "2", "2", "2.0", ""],
    ]


def test_comments_with_formulas_defused(lead, answered, requester):
    table = rows(export(lead, "comments", now=SURVEYS_NOW))
    assert table[0] == [
        "answered_at", "score", "comment", "reference", "requester", "requesting_department"
    ]  # fmt: skip
    assert [(r[1], r[2]) for r in table[1:]] == [
        ("1", "Not solved"),
        ("3", "'=SUM(A1)"),  # a spreadsheet would run it
        ("2", "Took a week"),
        ("5", "Quick and kind"),
    ]
    assert table[1][0] == "2026-03-10T11:00:00+00:00"
    assert table[1][3:] == [answered[5].reference, str(requester), "Sales"]


def test_unknown_table_is_not_found(lead, it):
    assert export(lead, "salaries").status_code == 404
    assert export(lead, "").status_code == 404


def test_export_obeys_access(client, it, it_agent):
    client.force_login(it_agent)
    assert export(client, "weeks").status_code == 403
    assert export(client, "weeks", code="NOPE").status_code == 404


def test_bad_period_is_refused(lead, it):
    response = export(lead, "weeks", period="first_day=2026-03-08&last_day=2026-03-02")
    assert response.status_code == 400


def test_export_without_a_period_takes_the_last_30_days(lead, history):
    table = rows(export(lead, "weeks", period="x=1"))
    # 15 February (a Sunday) to 16 March, Berlin: the weeks of six Mondays.
    assert [r[0] for r in table[1:]] == [
        "2026-02-09", "2026-02-16", "2026-02-23", "2026-03-02", "2026-03-09", "2026-03-16",
    ]  # fmt: skip


def test_page_links_every_table(lead, it):
    with time_machine.travel(NOW, tick=False):
        html = lead.get(reverse("lead_dashboard", args=["IT"])).content.decode()
    for table in ("targets", "backlog", "weeks", "requesting_departments", "request_types",
                  "agents", "priorities", "score_distribution", "satisfaction_weeks",
                  "comments"):  # fmt: skip
        assert f'format=csv&amp;table={table}"' in html

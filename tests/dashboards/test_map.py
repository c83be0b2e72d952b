"""The department-to-department map: each cell against a hand count, each column against
its department's lead dashboard, the providers' own time zones, anonymity, access and
drill-down.

The histories are the lead dashboard's (tests/dashboards/history.py): IT works
in Berlin; the period is 2-15 March 2026.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from dashboards.map import MapCell, department_map
from dashboards.selectors import SlaFigures
from slas.models import BusinessCalendar
from surveys import services as survey_services
from surveys.models import SurveyInvitation, SurveySettings
from surveys.stats import SurveyFigures
from tests.dashboards.history import FIRST_DAY, HOUR, LAST_DAY
from tests.factories import TicketFactory, UserFactory, agent_of, lead_of
from tickets import services
from tickets.models import Ticket

MAP = reverse("department_map")
PERIOD = {"first_day": "2026-03-02", "last_day": "2026-03-15"}


def read_map(first_day: date = FIRST_DAY, last_day: date = LAST_DAY):
    return department_map(first_day=first_day, last_day=last_day)


def cell(mp, requester: str, provider: str) -> MapCell:
    row = next(row for row in mp.rows if row.name == requester)
    return next(c for p, c in row.cells if p.name == provider)


def column_total(mp, provider: str) -> MapCell:
    return next(c for p, c in mp.totals if p.name == provider)


def figures(c: MapCell):
    r, f = c.resolution, c.first_response
    return (c.created, f.finished, f.met, r.finished, r.met, r.breached, r.median_seconds)


# --- The figures ----------------------------------------------------------------------


def test_cells_by_hand(history, berlin_it):
    mp = read_map()
    assert [row.name for row in mp.rows] == ["Human Resources", "Sales", "No department"]
    # Sales -> IT: created A B C E F I; resolution met A 4 h, B 2 h, C 4 h, E 2 h, F 7.5 h,
    # M 30 min (filed before the period, resolved in it): median of 0.5 2 2 4 4 7.5 is the
    # 3rd; first response met A B E F M, C breached.
    assert figures(cell(mp, "Sales", "IT")) == (6, 6, 5, 6, 6, 0, 2 * HOUR)
    assert cell(mp, "Sales", "IT").resolution.percent_met == 100.0
    # HR -> IT: created D G; D resolved after 11 business hours (breached).
    assert figures(cell(mp, "Human Resources", "IT")) == (2, 1, 1, 1, 0, 1, 11 * HOUR)
    assert cell(mp, "Human Resources", "IT").resolution.percent_met == 0.0
    # Nobody's department -> IT: H1, open.
    assert figures(cell(mp, "No department", "IT")) == (1, 0, 0, 0, 0, 0, None)
    # Nothing went to HR.
    assert cell(mp, "Sales", "Human Resources").empty


def test_totals_by_hand(history, berlin_it):
    mp = read_map()
    # IT's whole service: 9 created; resolution 0.5 2 2 4 4 7.5 11 h, the 4th is 4 h.
    it = column_total(mp, "IT")
    assert figures(it) == (9, 7, 6, 7, 6, 1, 4 * HOUR)
    assert it.resolution.percent_met == 85.7
    sales = next(row for row in mp.rows if row.name == "Sales").total
    assert figures(sales) == figures(cell(mp, "Sales", "IT"))  # Sales asked IT only
    assert figures(mp.total) == figures(it)
    assert mp.busiest == 6


def test_a_column_is_its_departments_dashboard(history, berlin_it, board):
    """Same days, same definitions: the IT column is IT's breakdown by requesting
    department, and its total IT's overall figures (the map leaves out the first-response
    times and the 90th percentiles: it shows neither)."""
    board_map = read_map()
    for row in board.by_requesting_department:
        c = cell(board_map, row.name, "IT")
        f = row.first_response
        assert (c.created, c.first_response, c.resolution) == (
            row.created,
            SlaFigures(f.finished, f.met, f.breached),
            replace(row.resolution, p90_seconds=None),
        ), row.name
    total = column_total(board_map, "IT")
    assert (total.created, total.first_response.finished, total.resolution) == (
        board.created,
        board.first_response.finished,
        replace(board.resolution, p90_seconds=None),
    )
    assert board.resolution.p90_seconds is not None


def test_each_provider_counts_its_own_local_days(it, hr, it_type, hr_type, requester):
    """HR keeps UTC, IT Berlin: 23:30 UTC on 15 March is still 15 March for HR but
    already 16 March in Berlin; 23:30 UTC on 1 March is 2 March in Berlin only."""
    it.calendar = BusinessCalendar.objects.create(name="Berlin", time_zone="Europe/Berlin")
    it.save(update_fields=["calendar"])
    for when in (
        datetime(2026, 3, 15, 23, 30, tzinfo=UTC),
        datetime(2026, 3, 1, 23, 30, tzinfo=UTC),
    ):
        for request_type in (it_type, hr_type):
            TicketFactory(request_type=request_type, created_by=requester, now=when)
    mp = read_map()
    assert cell(mp, "Sales", "Human Resources").created == 1  # the 15 March one
    assert cell(mp, "Sales", "IT").created == 1  # the 2 March (Berlin) one


def test_satisfaction_per_cell_is_the_dashboards(answered, it, it_type, it_agent, hr):
    # An HR employee's survey, not answered: the cell shows the invitation, no score.
    resolved_at = datetime(2026, 3, 11, 10, tzinfo=UTC)
    ticket = TicketFactory(
        request_type=it_type, created_by=UserFactory(home_department=hr), now=resolved_at
    )
    services.ticket_transition(
        ticket=ticket, actor=it_agent, to_status=Ticket.Status.RESOLVED, now=resolved_at
    )
    mp = read_map()
    unanswered = cell(mp, "Human Resources", "IT").satisfaction
    assert (unanswered.invited, unanswered.responses, unanswered.csat_average) == (1, 0, None)
    s = cell(mp, "Sales", "IT").satisfaction
    assert s is not None
    assert (s.invited, s.responses, s.csat_average) == (6, 5, 3.0)
    total = column_total(mp, "IT").satisfaction
    assert (total.invited, total.responses, total.csat_average) == (7, 5, 3.0)
    assert next(row for row in mp.rows if row.name == "Sales").total.satisfaction is None


def test_satisfaction_hidden_in_an_anonymous_survey(answered, it, it_type, hr):
    """IT's survey is anonymous with groups of at least 3: HR's single answer is hidden,
    and so is the next smallest group (Sales, 5), or HR's could be worked out from IT's
    total; the total (6 answers) shows."""
    SurveySettings.objects.filter(department=it).update(anonymous=True, min_group_size=3)
    hera = UserFactory(username="hera", home_department=hr)
    resolved_at = datetime(2026, 3, 11, 10, tzinfo=UTC)
    ticket = TicketFactory(request_type=it_type, created_by=hera, now=resolved_at)
    it_agent = agent_of(it, username="ivan")
    services.ticket_transition(
        ticket=ticket, actor=it_agent, to_status=Ticket.Status.RESOLVED, now=resolved_at
    )
    invitation = SurveyInvitation.objects.get(ticket=ticket)
    survey_services.survey_respond(
        invitation=invitation, score=5, nps=None, comment="", now=resolved_at
    )
    mp = read_map()
    assert cell(mp, "Human Resources", "IT").satisfaction.hidden
    assert cell(mp, "Sales", "IT").satisfaction.hidden
    total = column_total(mp, "IT").satisfaction
    assert (total.hidden, total.responses, total.csat_average) == (False, 6, 3.33)


def test_heat_scales():
    half = MapCell(created=10, resolution=SlaFigures(finished=4, met=3, breached=1))
    assert half.heat("sla", busiest=10) == 0.5  # 75 % met: halfway from 50 % to 100 %
    assert MapCell(resolution=SlaFigures(finished=2, met=0)).heat("sla", 1) == 0.0
    assert half.heat("volume", busiest=10) == 1.0
    assert MapCell(created=0).heat("volume", busiest=10) is None
    happy = MapCell(satisfaction=SurveyFigures("x", 4, 2, 0.5, csat_average=4.0))
    assert happy.heat("satisfaction", 0) == 0.75
    assert MapCell().heat("sla", 0) is None
    assert half.heat("none", busiest=10) is None
    assert MapCell(created=20).heat("volume", busiest=10) == 1.0  # a total: no darker


# --- The page --------------------------------------------------------------------------


def test_only_leads_and_superusers_see_the_map(client, history, it, requester, superuser):
    client.force_login(requester)
    assert client.get(MAP).status_code == 403
    client.force_login(agent_of(it, username="agnes"))
    assert client.get(MAP).status_code == 403
    client.force_login(superuser)
    assert client.get(MAP, PERIOD).status_code == 200


def test_cells_link_to_the_queue_only_where_the_lead_works(client, history, it, hr, requester):
    """IT's lead can open the Sales -> IT cell in IT's queue, with the period; HR's lead
    sees the same figures and no link."""
    it_lead = lead_of(it, username="lena")
    client.force_login(it_lead)
    response = client.get(MAP, PERIOD)
    html = response.content.decode()
    sales = requester.home_department_id
    link = (
        f"/queue/IT/?status=&amp;requesting_department={sales}"
        "&amp;created_from=2026-03-02&amp;created_to=2026-03-15"
    )
    assert f'href="{link}"' in html
    shown = client.get(link.replace("&amp;", "&"))
    assert shown.status_code == 200
    assert len(shown.context["page"].rows) == 6  # the cell's six requests
    client.force_login(lead_of(hr, username="harriet"))
    html = client.get(MAP, PERIOD).content.decode()
    assert "/queue/IT/" not in html
    assert "Sales" in html and ">6<" in html


def test_bad_period_says_so(client, history, it):
    client.force_login(lead_of(it, username="lena"))
    response = client.get(MAP, {"first_day": "2026-03-15", "last_day": "2026-03-01"})
    assert response.status_code == 400
    assert "The period ends before it starts." in response.content.decode()
    csv = client.get(MAP, {"first_day": "nope", "last_day": "2026-03-01", "format": "csv"})
    assert csv.status_code == 400


def test_unknown_colour_falls_back_to_sla(client, history, it):
    client.force_login(lead_of(it, username="lena"))
    response = client.get(MAP, {**PERIOD, "colour": "rainbow"})
    assert response.status_code == 200
    assert response.context["colour"] == "sla"
    volume = client.get(MAP, {**PERIOD, "colour": "volume"})
    assert "map-table--volume" in volume.content.decode()


def test_csv_has_a_line_per_busy_cell(client, history, it):
    client.force_login(lead_of(it, username="lena"))
    response = client.get(MAP, {**PERIOD, "format": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    lines = response.content.decode().splitlines()
    assert lines[0].startswith("requesting_department,providing_department,requests")
    assert sorted(lines[1:]) == [
        "Human Resources,IT,2,100.0,0.0,1,39600,0,",
        "No department,IT,1,,,0,,0,",
        "Sales,IT,6,83.3,100.0,0,7200,0,",
    ]


def test_the_number_of_queries_does_not_grow_with_the_tickets(client, history, it, requester):
    client.force_login(lead_of(it, username="lena"))
    client.get(MAP, PERIOD)  # warm the session and the user's memberships
    with CaptureQueriesContext(connection) as few:
        client.get(MAP, PERIOD)
    for _ in range(5):
        TicketFactory(
            request_type=history["A"].request_type,
            created_by=UserFactory(),
            now=history["A"].created_at,
        )
    with CaptureQueriesContext(connection) as more:
        client.get(MAP, PERIOD)
    assert len(more) == len(few)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the daily figures are PostgreSQL's")
def test_daily_sla_cells_equal_the_portable_ones(history, hr, make_policy):
    """PostgreSQL reads the cells' and totals' SLA figures from the daily figures; they
    are the portable two queries' (IT's history in Berlin, and HR's own tickets in UTC:
    two zones, two periods)."""
    from dashboards.map import _from_daily, _periods, _sla
    from tests.dashboards.history import Desk, at
    from tests.factories import RequestTypeFactory
    from tickets.models import Department

    make_policy(hr, first_response_minutes=60, resolution_minutes=600)
    desk = Desk(RequestTypeFactory(department=hr), agent_of(hr))
    for day in (3, 4, 5):
        desk.work(UserFactory(home_department=None), at(day, 9), at(day, 9, 20), at(day, 15))
    providers = list(Department.objects.select_related("calendar").order_by("name"))
    periods = _periods(providers, first_day=FIRST_DAY, last_day=LAST_DAY)
    assert len(periods) >= 2
    _, figures, _ = _from_daily(providers, first_day=FIRST_DAY, last_day=LAST_DAY)
    assert len(figures) > 8 and any(f.median_seconds for f in figures.values())
    assert figures == _sla(periods)


def test_cells_round_their_figures_as_the_floatformat_filter():
    """The map's cells are built in Python (the map_cell tag): their percentages
    and averages read as the template's floatformat showed them, halves rounded up."""
    from django.template.defaultfilters import floatformat

    from dashboards.templatetags.dashboards import _rounded

    values = [0.0, 0.5, 1.5, 2.5, 4.25, 4.35, 1.05, 3.0, 66.7, 83.3, 92.45, 92.5, 99.95, 100.0]
    for value in values:
        for places in (0, 1):
            assert _rounded(value, places) == floatformat(value, places), (value, places)

"""The lead dashboard and the agent's home. Each view: access (selectors), form, the
selector calls, render (or CSV)."""

from __future__ import annotations

from datetime import date

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from accounts.models import User
from dashboards import selectors
from dashboards.charts import lead_charts
from dashboards.exports import TABLES, department_map_csv, lead_dashboard_csv
from dashboards.forms import PeriodForm, default_period
from dashboards.map import COLOURS, department_map, department_map_access
from knowledge.stats import knowledge_figures
from tickets.selectors import department_time_zone, departments_for_agent, is_agent, local_days


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


@login_required
@require_GET
def dashboard_home(request: HttpRequest) -> HttpResponse:
    """Leads to their (first) department's dashboard, other agents to their home."""
    user = _user(request)
    department = selectors.departments_for_lead(user=user).first()
    if department is not None:
        return redirect("lead_dashboard", code=department.code)
    return redirect("agent_home" if is_agent(user) else "home")


@login_required
@require_GET
def lead_dashboard(request: HttpRequest, code: str) -> HttpResponse:
    user = _user(request)
    department = selectors.department_access_for_lead(user=user, code=code)
    tz = department_time_zone(department)
    now = timezone.now()
    form, first_day, last_day = _period_form(request, today=now.astimezone(tz).date())
    status = 400 if form.errors else 200
    csv_table = request.GET.get("table", "") if request.GET.get("format") == "csv" else None
    if csv_table is not None and csv_table not in TABLES:
        raise Http404("No such table.")
    since, until = local_days(first_day=first_day, last_day=last_day, tz=tz)
    board = selectors.lead_dashboard(
        department=department, since=since, until=until, tz=tz, now=now
    )
    satisfaction = selectors.lead_satisfaction(
        stats=board.satisfaction, tz=tz, weeks=board.survey_weeks
    )
    if csv_table is not None:
        if status != 200:
            return HttpResponse("Choose a valid period.", status=status, content_type="text/plain")
        return _csv_response(
            lead_dashboard_csv(table=csv_table, board=board, satisfaction=satisfaction),
            filename=f"{department.code}-{csv_table}-{first_day}-{last_day}.csv",
        )
    context = {
        "department": department,
        "departments": selectors.departments_for_lead(user=user),
        "form": form,
        "first_day": first_day,
        "last_day": last_day,
        "board": board,
        "satisfaction": satisfaction,
        "charts": lead_charts(board, satisfaction),
        "live": selectors.live_lists(department=department, now=now),
        "knowledge": knowledge_figures(department=department, since=since, until=until, now=now),
    }
    return render(request, "dashboards/lead.html", context, status=status)


@login_required
@require_GET
def lead_dashboard_live(request: HttpRequest, code: str) -> HttpResponse:
    """The dashboard's "Now" section alone, for htmx to refresh in place."""
    department = selectors.department_access_for_lead(user=_user(request), code=code)
    live = selectors.live_lists(department=department, now=timezone.now())
    return render(request, "dashboards/_live.html", {"department": department, "live": live})


def _period_form(request: HttpRequest, *, today: date) -> tuple[PeriodForm, date, date]:
    """The period form and the days it chose: the last 30 days until a period is asked
    for, and again when the one asked for is invalid (the form then has errors)."""
    first_day, last_day = default_period(today)
    chosen = "first_day" in request.GET or "last_day" in request.GET
    form = PeriodForm(
        request.GET if chosen else None, initial={"first_day": first_day, "last_day": last_day}
    )
    if form.is_bound and form.is_valid():
        first_day, last_day = form.cleaned_data["first_day"], form.cleaned_data["last_day"]
    return form, first_day, last_day


@login_required
@require_GET
def department_map_page(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    department_map_access(user=user)
    form, first_day, last_day = _period_form(request, today=timezone.localdate())
    status = 400 if form.errors else 200
    colour = request.GET.get("colour", "")
    if colour not in COLOURS:
        colour = "sla"
    board = department_map(first_day=first_day, last_day=last_day)
    if request.GET.get("format") == "csv":
        if status != 200:
            return HttpResponse("Choose a valid period.", status=status, content_type="text/plain")
        return _csv_response(
            department_map_csv(board), filename=f"department-map-{first_day}-{last_day}.csv"
        )
    context = {
        "map": board,
        "form": form,
        "first_day": first_day,
        "last_day": last_day,
        "colour": colour,
        "colours": COLOURS,
        "colour_label": COLOURS[colour],
        "queues": {d.pk for d in departments_for_agent(user=user)},
        "departments": selectors.departments_for_lead(user=user),
    }
    return render(request, "dashboards/map.html", context, status=status)


def _csv_response(text: str, *, filename: str) -> HttpResponse:
    response = HttpResponse(text, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
@require_GET
def agent_home(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    departments = selectors.agent_home_access(user=user)
    now = timezone.now()
    home = selectors.agent_home(user=user, departments=departments, now=now)
    context = {"home": home, "now": now, "mine_query": f"assignee={user.pk}"}
    return render(request, "dashboards/agent_home.html", context)

"""The lead dashboard. Each view: access (selectors), form, one selector call, render."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from accounts.models import User
from dashboards import selectors
from dashboards.forms import PeriodForm, default_period


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


@login_required
@require_GET
def dashboard_home(request: HttpRequest) -> HttpResponse:
    department = selectors.departments_for_lead(user=_user(request)).first()
    if department is None:
        return redirect("home")
    return redirect("lead_dashboard", code=department.code)


@login_required
@require_GET
def lead_dashboard(request: HttpRequest, code: str) -> HttpResponse:
    user = _user(request)
    department = selectors.department_access_for_lead(user=user, code=code)
    tz = selectors.department_time_zone(department)
    now = timezone.now()
    first_day, last_day = default_period(now.astimezone(tz).date())
    form = PeriodForm(request.GET or None, initial={"first_day": first_day, "last_day": last_day})
    status = 200
    if form.is_bound:
        if form.is_valid():
            first_day, last_day = form.cleaned_data["first_day"], form.cleaned_data["last_day"]
        else:
            status = 400
    since, until = selectors.dashboard_period(first_day=first_day, last_day=last_day, tz=tz)
    context = {
        "department": department,
        "departments": selectors.departments_for_lead(user=user),
        "form": form,
        "first_day": first_day,
        "last_day": last_day,
        "board": selectors.lead_dashboard(
            department=department, since=since, until=until, tz=tz, now=now
        ),
    }
    return render(request, "dashboards/lead.html", context, status=status)

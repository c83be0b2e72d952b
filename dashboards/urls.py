from django.urls import path

import servicedesk.converters  # noqa: F401 (registers <department:...>)
from dashboards import views

urlpatterns = [
    path("", views.dashboard_home, name="dashboard"),
    # Before the department codes: departments coded "me" or "map" would be hidden by them.
    path("me/", views.agent_home, name="agent_home"),
    path("map/", views.department_map_page, name="department_map"),
    path("<department:code>/", views.lead_dashboard, name="lead_dashboard"),
    path("<department:code>/live/", views.lead_dashboard_live, name="lead_dashboard_live"),
]

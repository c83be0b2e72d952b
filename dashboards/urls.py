from django.urls import path

from dashboards import views

urlpatterns = [
    path("", views.dashboard_home, name="dashboard"),
    # Before the department codes: a department coded "me" would be hidden by it.
    path("me/", views.agent_home, name="agent_home"),
    path("<str:code>/", views.lead_dashboard, name="lead_dashboard"),
]

from django.urls import path

from dashboards import views

urlpatterns = [
    path("", views.dashboard_home, name="dashboard"),
    path("<str:code>/", views.lead_dashboard, name="lead_dashboard"),
]

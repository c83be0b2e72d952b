from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

admin.site.site_header = "servicedesk administration"
admin.site.site_title = "servicedesk admin"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("survey/", include("surveys.urls")),
    path("dashboard/", include("dashboards.urls")),
    path("kb/", include("knowledge.urls")),
    path("api/", include("api.urls")),
    path("", include("tickets.urls")),
]

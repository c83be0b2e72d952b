from django.urls import path

from surveys import views

urlpatterns = [
    path("follow-ups/", views.follow_ups, name="survey_follow_ups"),
    path(
        "follow-ups/<int:follow_up_id>/close/",
        views.follow_up_close,
        name="survey_follow_up_close",
    ),
    path("<str:token>/", views.survey_answer, name="survey_answer"),
    path("<str:token>/reopen/", views.survey_reopen, name="survey_reopen"),
]

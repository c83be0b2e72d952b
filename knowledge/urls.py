from django.urls import path

import servicedesk.converters  # noqa: F401 (registers <department:...>)
from knowledge import views

urlpatterns = [
    path("", views.kb_home, name="kb_home"),
    path("search/", views.kb_search, name="kb_search"),
    path("departments/<department:code>/", views.kb_department, name="kb_department"),
    path("departments/<department:code>/new/", views.kb_article_new, name="kb_article_new"),
    path("departments/<department:code>/suggest/", views.kb_suggest, name="kb_suggest"),
    path("articles/<slug:slug>/", views.kb_article, name="kb_article"),
    path("articles/<slug:slug>/edit/", views.kb_article_edit, name="kb_article_edit"),
    path("articles/<slug:slug>/feedback/", views.kb_article_feedback, name="kb_article_feedback"),
    path("articles/<slug:slug>/reviewed/", views.kb_article_reviewed, name="kb_article_reviewed"),
    path("tickets/<str:reference>/pick/", views.kb_pick, name="kb_pick"),
    path("tickets/<str:reference>/draft/", views.kb_draft_from_ticket, name="kb_draft_from_ticket"),
]

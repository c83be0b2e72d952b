from django.urls import path

import servicedesk.converters  # noqa: F401 (registers <department:...>)
from tickets import views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("requests/", views.my_requests, name="my_requests"),
    path("requests/new/", views.request_departments, name="request_departments"),
    path("requests/new/<department:code>/", views.request_types, name="request_types"),
    path(
        "requests/new/<department:code>/<int:request_type_id>/",
        views.request_new,
        name="request_new",
    ),
    path("tickets/<str:reference>/", views.ticket_detail, name="ticket_detail"),
    path("tickets/<str:reference>/reply/", views.ticket_reply, name="ticket_reply"),
    path("tickets/<str:reference>/status/", views.ticket_status, name="ticket_status"),
    path("tickets/<str:reference>/reopen/", views.ticket_reopen, name="ticket_reopen"),
    path("tickets/<str:reference>/cancel/", views.ticket_cancel, name="ticket_cancel"),
    path("tickets/<str:reference>/assign/", views.ticket_assign, name="ticket_assign"),
    path("tickets/<str:reference>/take/", views.ticket_take, name="ticket_take"),
    path("tickets/<str:reference>/priority/", views.ticket_priority, name="ticket_priority"),
    path("tickets/<str:reference>/transfer/", views.ticket_transfer, name="ticket_transfer"),
    path("tickets/<str:reference>/watchers/", views.ticket_watcher_add, name="ticket_watcher_add"),
    path(
        "tickets/<str:reference>/watchers/<int:user_id>/remove/",
        views.ticket_watcher_remove,
        name="ticket_watcher_remove",
    ),
    path("attachments/<int:attachment_id>/", views.attachment_download, name="attachment"),
    path("queue/", views.queue_home, name="queue"),
    path("queue/<department:code>/", views.queue, name="queue_department"),
]

"""The Celery application. Tasks are thin: they load by id and call one service."""

import os
from typing import Any

from celery import Celery, shared_task
from django.db import DatabaseError
from kombu.transport import TRANSPORT_ALIASES

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "servicedesk.settings")
# The embedded broker (filesystem://) publishes atomically: see servicedesk/broker.py.
TRANSPORT_ALIASES["filesystem"] = "servicedesk.broker:Transport"

app = Celery("servicedesk")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


# Tasks own their retry policy: a database that is briefly unreachable (failover, too
# many connections) is retried with exponential backoff and jitter. Everything else is
# left to the next beat or the outbox relay, which find the work in the database again.
def task(name: str) -> Any:
    """`shared_task` with the project's retry policy; every task of ours uses it."""
    return shared_task(
        name=name,
        autoretry_for=(DatabaseError,),
        retry_backoff=2,
        retry_backoff_max=60,
        retry_jitter=True,
        max_retries=5,
    )

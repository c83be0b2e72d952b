from django.utils import timezone

from servicedesk.celery import task
from tickets.services import ticket_autoclose


@task("tickets.tasks.ticket_autoclose_task")
def ticket_autoclose_task() -> None:
    ticket_autoclose(now=timezone.now())

from celery import shared_task
from django.utils import timezone

from tickets.services import ticket_autoclose


@shared_task(name="tickets.tasks.ticket_autoclose_task")
def ticket_autoclose_task() -> None:
    ticket_autoclose(now=timezone.now())

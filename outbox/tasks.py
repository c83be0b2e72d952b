from celery import shared_task
from django.utils import timezone

from outbox.services import outbox_deliver, outbox_relay


@shared_task(name="outbox.tasks.outbox_deliver_task")
def outbox_deliver_task(message_id: int) -> None:
    outbox_deliver(message_id=message_id, now=timezone.now())


@shared_task(name="outbox.tasks.outbox_relay_task")
def outbox_relay_task() -> None:
    outbox_relay(now=timezone.now())

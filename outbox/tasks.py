from django.utils import timezone

from outbox.services import outbox_deliver, outbox_relay
from servicedesk.celery import task


@task("outbox.tasks.outbox_deliver_task")
def outbox_deliver_task(message_id: int) -> None:
    outbox_deliver(message_id=message_id, now=timezone.now())


@task("outbox.tasks.outbox_relay_task")
def outbox_relay_task() -> None:
    outbox_relay(now=timezone.now())


@task("outbox.tasks.outbox_deliver_many_task")
def outbox_deliver_many_task(message_ids: list[int]) -> None:
    now = timezone.now()
    for message_id in message_ids:
        outbox_deliver(message_id=message_id, now=now)

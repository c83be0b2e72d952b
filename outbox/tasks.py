import logging

from django.utils import timezone

from outbox.services import outbox_deliver, outbox_hand_on_unsafe, outbox_relay
from servicedesk.celery import task

logger = logging.getLogger(__name__)


@task("outbox.tasks.outbox_deliver_task")
def outbox_deliver_task(message_id: int) -> None:
    outbox_deliver(message_id=message_id, now=timezone.now())


@task("outbox.tasks.outbox_relay_task")
def outbox_relay_task() -> None:
    """Beat sends one every OUTBOX_RELAY_INTERVAL_SECONDS; with a backlog (after a broker
    outage) it asks another worker to relay too."""
    outbox_relay(now=timezone.now(), on_backlog=_another_relay_unsafe)


def _another_relay_unsafe() -> None:
    try:
        outbox_relay_task.delay()
    except Exception:
        logger.warning("could not enqueue another outbox relay; the next beat will start one")


@task("outbox.tasks.outbox_deliver_many_task")
def outbox_deliver_many_task(message_ids: list[int], chunk: int | None = None) -> None:
    """With `chunk` (the publisher sent more than that in one task), hand the other
    chunks on to other workers first, then deliver the first."""
    if chunk is not None and len(message_ids) > chunk:
        message_ids = outbox_hand_on_unsafe(message_ids, chunk=chunk)
    now = timezone.now()
    for message_id in message_ids:
        outbox_deliver(message_id=message_id, now=now)

import logging

from django.utils import timezone

from servicedesk.celery import task
from slas.sweep import sla_sweep

logger = logging.getLogger(__name__)


@task("slas.tasks.sla_sweep_task")
def sla_sweep_task() -> None:
    """Beat sends one every SLA_SWEEP_INTERVAL_SECONDS. With a backlog (after an outage)
    the first full batch asks one more worker to help; if the time budget runs out, the
    task asks for a successor. A lost or duplicated message costs one interval at most:
    the database, not the broker, holds every deadline."""
    result = sla_sweep(now=timezone.now(), on_backlog=_another_sweep_unsafe)
    if result.more:
        _another_sweep_unsafe()


def _another_sweep_unsafe() -> None:
    """Ask another worker to sweep too. If the broker is down, beat's next message does."""
    try:
        sla_sweep_task.delay()
    except Exception:
        logger.warning("could not enqueue another SLA sweep; the next beat will start one")

from django.utils import timezone

from servicedesk.celery import task
from slas.sweep import sla_sweep


@task("slas.tasks.sla_sweep_task")
def sla_sweep_task() -> None:
    """Beat sends one every SLA_SWEEP_INTERVAL_SECONDS. With a backlog (after an outage)
    the first full batch asks one more worker to help; if the time budget runs out, the
    task asks for a successor. A lost or duplicated message costs one interval at most:
    the database, not the broker, holds every deadline."""
    result = sla_sweep(now=timezone.now(), on_backlog=lambda: sla_sweep_task.delay())
    if result.more:
        sla_sweep_task.delay()

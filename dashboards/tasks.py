from django.utils import timezone

from dashboards.digest import weekly_digest_send
from servicedesk.celery import task


@task("dashboards.tasks.weekly_digest_task")
def weekly_digest_task() -> None:
    """Beat sends one every hour; any run enqueues only what is due and not yet sent."""
    weekly_digest_send(now=timezone.now())

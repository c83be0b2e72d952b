from django.utils import timezone

from dashboards.daily import daily_rollup
from dashboards.digest import weekly_digest_send
from servicedesk.celery import task


@task("dashboards.tasks.weekly_digest_task")
def weekly_digest_task() -> None:
    """Beat sends one every hour; any run enqueues only what is due and not yet sent."""
    weekly_digest_send(now=timezone.now())


@task("dashboards.tasks.daily_rollup_task")
def daily_rollup_task() -> None:
    """Beat runs it every DAILY_ROLLUP_INTERVAL_SECONDS: rolls up the days that ended and
    re-rolls those changed since."""
    daily_rollup(now=timezone.now())

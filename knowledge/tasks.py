from django.utils import timezone

from knowledge.services import article_review_remind
from servicedesk.celery import task


@task("knowledge.tasks.article_review_remind_task")
def article_review_remind_task() -> None:
    """Beat runs it daily; each run queues only reminders not yet sent this period."""
    article_review_remind(now=timezone.now())

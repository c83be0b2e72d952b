"""Every change to the knowledge base, each in one function.

Each service checks who may do it, validates everything before writing, writes in one
transaction with the article's audit event, keeps the PostgreSQL search vector up to
date, and queues emails in the outbox (never sent inline).
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify

from accounts.models import User
from knowledge.models import (
    DEFAULT_REVIEW_AFTER_DAYS,
    Article,
    ArticleEvent,
    ArticleFeedback,
    ArticleView,
    Category,
    FilingSession,
    FilingSuggestion,
    KnowledgeSettings,
    SearchLog,
    TicketArticle,
)
from knowledge.search import search_vector
from knowledge.selectors import article_list_linkable, can_edit_article, can_review_article
from outbox.models import Message
from outbox.services import outbox_enqueue, outbox_enqueue_once
from tickets import hooks
from tickets.markdown import render_markdown
from tickets.models import Comment, Department, Membership, Ticket
from tickets.selectors import can_work

logger = logging.getLogger(__name__)

MAX_BODY = 50_000
MAX_COMMENT = 2_000
TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
Status = Article.Status


# --- Writing articles ---------------------------------------------------------------


def article_create(
    *,
    actor: User,
    department: Department,
    title: str,
    body: str,
    category: Category | None = None,
    is_internal: bool = False,
    status: str = Status.DRAFT,
    owner: User | None = None,
    source_ticket: Ticket | None = None,
    now: datetime | None = None,
) -> Article:
    """Write a new article of `department` (its agents and leads may). The owner
    defaults to the author. Raises ValidationError per field for bad input, before
    anything is written."""
    now = now or timezone.now()
    if not can_edit_article(user=actor, department_id=department.pk):
        raise PermissionDenied(f"Only {department.name}'s agents write its articles.")
    owner = owner or actor
    title, body = check_article(
        department=department, title=title, body=body, category=category, status=status,
        owner=owner,
    )  # fmt: skip
    with transaction.atomic():
        article = Article.objects.create(
            department=department,
            category=category,
            title=title,
            slug=_unique_slug(title),
            body=body,
            body_html=render_markdown(body),
            status=status,
            is_internal=is_internal,
            owner=owner,
            source_ticket=source_ticket,
            created_at=now,
            updated_at=now,
            published_at=now if status == Status.PUBLISHED else None,
            last_reviewed_at=now,
        )
        _index(article)
        message = f"Drafted from {source_ticket.reference}" if source_ticket else ""
        _record(article, actor, ArticleEvent.Action.CREATED, now=now, message=message)
        if status == Status.PUBLISHED:
            _record(article, actor, ArticleEvent.Action.PUBLISHED, now=now)
    return article


def article_update(
    *,
    article: Article,
    actor: User,
    title: str,
    body: str,
    category: Category | None,
    is_internal: bool,
    status: str,
    owner: User,
    now: datetime | None = None,
) -> Article:
    """Change an article (its department's agents and leads may). Publishing a draft
    stamps `published_at`; the slug stays, so links already sent keep working."""
    now = now or timezone.now()
    if not can_edit_article(user=actor, department_id=article.department_id):
        raise PermissionDenied("Only the department's agents edit its articles.")
    title, body = check_article(
        department=article.department, title=title, body=body, category=category,
        status=status, owner=owner,
    )  # fmt: skip
    with transaction.atomic():
        article = Article.objects.select_for_update().get(pk=article.pk)
        was = article.status
        article.title, article.body, article.body_html = title, body, render_markdown(body)
        article.category, article.is_internal, article.owner = category, is_internal, owner
        article.status, article.updated_at = status, now
        if status == Status.PUBLISHED and article.published_at is None:
            article.published_at = now
        article.save()
        _index(article)
        if was != status:
            action = (
                ArticleEvent.Action.PUBLISHED
                if status == Status.PUBLISHED
                else ArticleEvent.Action.UNPUBLISHED
            )
            _record(article, actor, action, now=now)
        else:
            _record(article, actor, ArticleEvent.Action.EDITED, now=now)
    return article


def article_mark_reviewed(*, article: Article, actor: User, now: datetime | None = None) -> Article:
    """The owner (or a lead of the department) confirms the article is still right: its
    review clock starts again, and so does the reminder."""
    now = now or timezone.now()
    if not can_review_article(user=actor, article=article):
        raise PermissionDenied("Only the article's owner or a lead of its department can.")
    with transaction.atomic():
        Article.objects.filter(pk=article.pk).update(last_reviewed_at=now)
        article.last_reviewed_at = now
        _record(article, actor, ArticleEvent.Action.REVIEWED, now=now)
    return article


def article_draft_from_ticket(
    *, ticket: Ticket, actor: User, now: datetime | None = None
) -> Article:
    """Turn a resolved ticket's answer into a draft article owned by `actor`: the
    ticket's title, and the department's last public reply as the body."""
    if not can_work(user=actor, ticket=ticket):
        raise PermissionDenied("Only the department's agents can draft articles from tickets.")
    if ticket.status not in (Ticket.Status.RESOLVED, Ticket.Status.CLOSED):
        raise ValidationError("Only a resolved or closed ticket's answer can become an article.")
    answer = (
        Comment.objects.filter(
            ticket=ticket,
            is_internal=False,
            author__memberships__department_id=ticket.department_id,
        )
        .exclude(author_id__in=[ticket.requester_id, ticket.created_by_id])
        .order_by("-created_at", "-id")
        .first()
    )
    if answer is None:
        raise ValidationError(
            f"{ticket.reference} has no public reply from {ticket.department.name} to start "
            "an article from."
        )
    return article_create(
        actor=actor,
        department=ticket.department,
        title=ticket.title,
        body=answer.body,
        source_ticket=ticket,
        now=now,
    )


def check_article(
    *,
    department: Department,
    title: str,
    body: str,
    category: Category | None,
    status: str,
    owner: User,
) -> tuple[str, str]:
    errors: dict[str, list[str]] = {}
    title, body = (title or "").strip(), (body or "").strip()
    if not title:
        errors["title"] = ["Give the article a title."]
    elif len(title) > 200:
        errors["title"] = ["Keep the title under 200 characters."]
    if not body:
        errors["body"] = ["Write the article."]
    elif len(body) > MAX_BODY:
        errors["body"] = [f"Keep articles under {MAX_BODY:,} characters."]
    if category is not None and category.department_id != department.pk:
        errors["category"] = [f"Choose one of {department.name}'s categories."]
    if status not in Status.values:
        errors["status"] = ["Choose draft or published."]
    if not owner.is_active or not (
        owner.is_superuser or Membership.objects.filter(user=owner, department=department).exists()
    ):
        errors["owner"] = [f"The owner must be an active agent or lead of {department.name}."]
    if errors:
        raise ValidationError(errors)
    return title, body


def _unique_slug(title: str) -> str:
    base = slugify(title)[:80].strip("-") or "article"
    taken = set(Article.objects.filter(slug__startswith=base).values_list("slug", flat=True)[:1000])
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


def _index(article: Article) -> None:
    """Keep the stored search vector in step with the title and body (PostgreSQL)."""
    if connection.vendor == "postgresql":
        Article.objects.filter(pk=article.pk).update(search_vector=search_vector())


def _article_url(article: Article) -> str:
    """The article's address for an email."""
    return f"{settings.SITE_URL}{reverse('kb_article', args=[article.slug])}"


def _record(
    article: Article, actor: User | None, action: str, *, now: datetime, message: str = ""
) -> ArticleEvent:
    return ArticleEvent.objects.create(
        article=article, actor=actor, action=action, message=message, created_at=now
    )


# --- Reading: views, feedback, searches ---------------------------------------------


def article_view_record(
    *, article: Article, user: User, filing_token: str = "", now: datetime | None = None
) -> None:
    """Count one opening of the article; opened from the suggestions of a new-request
    form (`filing_token`), it also marks that suggestion opened (a deflection if no
    request follows)."""
    now = now or timezone.now()
    if not article.is_published:
        return  # its authors previewing a draft are not readers
    with transaction.atomic():
        ArticleView.objects.create(
            article=article, department_id=article.department_id, user=user, viewed_at=now
        )
        if filing_token and TOKEN.match(filing_token):
            FilingSuggestion.objects.filter(
                session__token=filing_token,
                session__user=user,
                session__ticket__isnull=True,
                article=article,
                opened_at__isnull=True,
            ).update(opened_at=now)


def article_feedback_give(
    *,
    article: Article,
    user: User,
    helpful: bool,
    comment: str = "",
    now: datetime | None = None,
) -> ArticleFeedback:
    """Record whether the article answered `user`'s question (one answer per person; a
    second replaces the first). A comment is emailed to the article's owner."""
    now = now or timezone.now()
    comment = (comment or "").strip()
    if len(comment) > MAX_COMMENT:
        raise ValidationError({"comment": [f"Keep comments under {MAX_COMMENT:,} characters."]})
    if not article.is_published:
        raise ValidationError("Drafts take no feedback.")
    with transaction.atomic():
        feedback, created = ArticleFeedback.objects.get_or_create(
            article=article,
            user=user,
            defaults={
                "department_id": article.department_id,
                "helpful": helpful,
                "comment": comment,
                "created_at": now,
                "updated_at": now,
            },
        )
        if not created:
            feedback.helpful, feedback.comment, feedback.updated_at = helpful, comment, now
            feedback.save(update_fields=["helpful", "comment", "updated_at"])
        owner = article.owner
        if comment and owner.is_active and owner.email and owner.pk != user.pk:
            outbox_enqueue(
                topic=Message.Topic.EMAIL,
                dedupe_key=f"kb-feedback:{feedback.pk}:{now.timestamp():.6f}",
                payload=_feedback_email(article=article, feedback=feedback, user=user),
            )
    return feedback


def _feedback_email(*, article: Article, feedback: ArticleFeedback, user: User) -> dict[str, Any]:
    context = {
        "article": article,
        "feedback": feedback,
        "from_user": user,
        "url": _article_url(article),
    }
    verdict = "helped" if feedback.helpful else "did not help"
    return {
        "to": article.owner.email,
        "subject": f"Feedback on “{article.title}”: it {verdict}",
        "text": render_to_string("emails/kb_feedback.txt", context),
        "headers": {"Auto-Submitted": "auto-generated"},
    }


def search_record(
    *, query: str, department: Department | None, result_count: int, now: datetime | None = None
) -> None:
    """Log one search of the knowledge base page (one INSERT)."""
    query = " ".join(query.split())[:200]
    if query:
        SearchLog.objects.create(
            query=query.lower(),
            department=department,
            result_count=result_count,
            created_at=now or timezone.now(),
        )


# --- Suggestions while filing (deflection) ------------------------------------------


def filing_token_new() -> str:
    """A fresh filing-session token for a new-request form (not stored until used)."""
    return secrets.token_urlsafe(24)


def filing_suggestions_record(
    *,
    token: str,
    user: User,
    department: Department,
    query: str,
    articles: Sequence[Article],
    now: datetime | None = None,
) -> FilingSession | None:
    """Remember that the form of session `token` suggested `articles` for `query`.

    The session is created on first use and belongs to `user` and `department`; a token
    of someone else's (or a finished) session records nothing. Returns the session."""
    now = now or timezone.now()
    query = " ".join(query.split())[:200].lower()
    if not TOKEN.match(token or "") or not query:
        return None  # a form just opened (nothing typed yet) is not a session yet
    with transaction.atomic():
        session, _ = FilingSession.objects.get_or_create(
            token=token, defaults={"user": user, "department": department, "created_at": now}
        )
        if (
            session.user_id != user.pk
            or session.department_id != department.pk
            or session.ticket_id is not None
        ):
            return None
        FilingSuggestion.objects.bulk_create(
            [FilingSuggestion(session=session, article=a, shown_at=now) for a in articles],
            ignore_conflicts=True,
        )
        SearchLog.objects.update_or_create(
            session=session,
            defaults={
                "query": query,
                "department": department,
                "source": SearchLog.Source.FILING,
                "result_count": len(articles),
                "created_at": now,
            },
        )
    return session


def filing_session_file(
    *, token: str, user: User, ticket: Ticket, now: datetime | None = None
) -> list[TicketArticle]:
    """The request was filed anyway: close the session and link the articles it showed
    to the ticket (for its agents to see). A missing or foreign token links nothing."""
    now = now or timezone.now()
    if not TOKEN.match(token or ""):
        return []
    with transaction.atomic():
        session = (
            FilingSession.objects.select_for_update()
            .filter(token=token, user=user, department_id=ticket.department_id)
            .filter(ticket__isnull=True)
            .first()
        )
        if session is None:
            return []
        session.ticket = ticket
        session.save(update_fields=["ticket"])
        links = [
            TicketArticle(
                ticket=ticket,
                article_id=s.article_id,
                kind=TicketArticle.Kind.OPENED if s.opened_at else TicketArticle.Kind.SUGGESTED,
                created_at=now,
            )
            for s in session.suggestions.order_by("shown_at", "pk")
        ]
        TicketArticle.objects.bulk_create(links, ignore_conflicts=True)
    return links


# --- Articles linked in replies -----------------------------------------------------

ARTICLE_LINK = re.compile(r"/kb/articles/([a-z0-9_-]{1,100})/?")


def ticket_article_links_from_reply(change: hooks.TicketChange) -> None:
    """Hook (tickets.hooks): an agent's public reply that links articles
    (`/kb/articles/<slug>/`) records them on the ticket, in the same transaction."""
    comment_id = change.details.get("comment_id")
    if change.kind != hooks.AGENT_REPLIED or not isinstance(comment_id, int):
        return
    body = Comment.objects.filter(pk=comment_id).values_list("body", flat=True)
    slugs = set(ARTICLE_LINK.findall(body.first() or ""))
    if not slugs:
        return
    articles = article_list_linkable().filter(slug__in=slugs).values_list("pk", flat=True)
    TicketArticle.objects.bulk_create(
        [
            TicketArticle(
                ticket=change.ticket, article_id=pk, kind=TicketArticle.Kind.REPLY,
                created_at=change.now,
            )
            for pk in articles
        ],
        ignore_conflicts=True,
    )  # fmt: skip


# --- Review reminders ---------------------------------------------------------------


def review_dedupe_key(*, article: Article, review_after_days: int, now: datetime) -> str:
    """Once per article per review period: the key names the last review and how many
    periods have passed since (a reminder ignored is repeated one period later)."""
    periods = (now - article.last_reviewed_at) // timedelta(days=review_after_days)
    return f"kb-review:{article.pk}:{article.last_reviewed_at:%Y%m%dT%H%M%S}:{periods}"


def article_review_remind(*, now: datetime) -> int:
    """Email the owner of every published article whose last review is older than its
    department's review age. Safe to run any number of times, also concurrently: the
    outbox's unique key makes it once per article per review period. Returns how many
    reminders were queued."""
    ages = dict(KnowledgeSettings.objects.values_list("department_id", "review_after_days"))
    department_ids = (
        Article.objects.filter(status=Status.PUBLISHED)
        .order_by("department_id")
        .values_list("department_id", flat=True)
        .distinct()
    )
    queued = 0
    for department_id in department_ids:
        days = ages.get(department_id, DEFAULT_REVIEW_AFTER_DAYS)
        due = (
            Article.objects.filter(
                department_id=department_id,
                status=Status.PUBLISHED,
                last_reviewed_at__lt=now - timedelta(days=days),
            )
            .select_related("owner", "department")
            .order_by("pk")
        )
        for article in due:
            queued += _remind(article=article, days=days, now=now)
    return queued


def _remind(*, article: Article, days: int, now: datetime) -> int:
    owner = article.owner
    if not (owner.is_active and owner.email):
        logger.warning("article %s: owner %s has no email address; not reminded", article.pk, owner)
        return 0
    key = review_dedupe_key(article=article, review_after_days=days, now=now)
    if Message.objects.filter(dedupe_key=key).exists():
        return 0
    context = {
        "article": article,
        "days": days,
        "url": _article_url(article),
    }
    payload = {
        "to": owner.email,
        "subject": f"Time to review “{article.title}”",
        "text": render_to_string("emails/kb_review_reminder.txt", context),
        "headers": {"Auto-Submitted": "auto-generated"},
    }
    return int(outbox_enqueue_once(topic=Message.Topic.EMAIL, dedupe_key=key, payload=payload))

"""The knowledge base: departments' articles, what employees make of them, and the
filing sessions in which they were suggested.

Models hold fields, constraints and indexes only; every change goes through
knowledge/services.py (which also keeps the search vector and the audit trail).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from tickets.models import Department, Ticket

DEFAULT_REVIEW_AFTER_DAYS = 180


class KnowledgeSettings(models.Model):
    """One department's knowledge-base settings (a department without uses the defaults)."""

    department = models.OneToOneField(
        Department, on_delete=models.CASCADE, related_name="knowledge_settings"
    )
    review_after_days = models.PositiveSmallIntegerField(
        "review articles every (days)",
        default=DEFAULT_REVIEW_AFTER_DAYS,
        validators=[MinValueValidator(1), MaxValueValidator(3650)],
        help_text="An article's owner is reminded by email when its last review is older.",
    )

    class Meta:
        verbose_name = "knowledge settings"
        verbose_name_plural = "knowledge settings"

    def __str__(self) -> str:
        return f"Knowledge settings of {self.department}"


class Category(models.Model):
    department = models.ForeignKey(
        Department, on_delete=models.CASCADE, related_name="article_categories"
    )
    name = models.CharField(max_length=100)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["department__name", "position", "name"]
        verbose_name_plural = "categories"
        constraints = [
            models.UniqueConstraint(fields=["department", "name"], name="kb_category_unique_name")
        ]

    def __str__(self) -> str:
        return f"{self.department.code}: {self.name}"


class Article(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"

    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="articles")
    category = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.SET_NULL, related_name="articles"
    )
    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=100, unique=True)
    body = models.TextField(help_text="Markdown.")
    body_html = models.TextField(editable=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    is_internal = models.BooleanField(
        "internal only",
        default=False,
        help_text="Only the department's agents see it (procedures, not answers for employees).",
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="owned_articles"
    )
    source_ticket = models.ForeignKey(
        Ticket,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The ticket this article was drafted from.",
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    published_at = models.DateTimeField(null=True, blank=True)
    last_reviewed_at = models.DateTimeField(default=timezone.now)
    # PostgreSQL: title (weight A) and body (weight B) in the 'english' configuration,
    # written by the services with each save; GIN-indexed (migration 0002). Stays NULL on
    # SQLite, where search matches terms instead (knowledge/search.py).
    search_vector = SearchVectorField(null=True, editable=False)

    class Meta:
        ordering = ["title", "id"]
        indexes = [
            models.Index(fields=["department", "status", "title"], name="kb_article_dept_status"),
            models.Index(
                fields=["last_reviewed_at"],
                name="kb_article_review_due",
                condition=models.Q(status="published"),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=["draft", "published"]),
                name="kb_article_status_valid",
            )
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_published(self) -> bool:
        return self.status == self.Status.PUBLISHED


class ArticleEvent(models.Model):
    """The article's audit trail: who created, edited, published, reviewed it."""

    class Action(models.TextChoices):
        CREATED = "created", "Created"
        EDITED = "edited", "Edited"
        PUBLISHED = "published", "Published"
        UNPUBLISHED = "unpublished", "Back to draft"
        REVIEWED = "reviewed", "Marked reviewed"

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=20, choices=Action.choices)
    message = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.article_id}"


class ArticleView(models.Model):
    """One opening of an article page (the department copied for the dashboard's count)."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="views")
    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    viewed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["department", "viewed_at"], name="kb_view_dept_time")]

    def __str__(self) -> str:
        return f"View of {self.article_id} at {self.viewed_at:%Y-%m-%d %H:%M}"


class ArticleFeedback(models.Model):
    """'Did this answer your question?': one answer per person and article (changeable)."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="feedback")
    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="article_feedback"
    )
    helpful = models.BooleanField()
    comment = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["article", "user"], name="kb_feedback_once_per_user")
        ]
        indexes = [models.Index(fields=["department", "updated_at"], name="kb_feedback_dept_time")]

    def __str__(self) -> str:
        return f"{'Helpful' if self.helpful else 'Not helpful'}: {self.article_id}"


class SearchLog(models.Model):
    """A search and how many articles it found, for "searches that found nothing".

    The search page writes one row per search; the filing form's suggestions keep one row
    per filing session, updated as the title is typed (its last query counts)."""

    class Source(models.TextChoices):
        SEARCH = "search", "Knowledge base search"
        FILING = "filing", "New-request suggestions"

    query = models.CharField(max_length=200)
    department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.SEARCH)
    session = models.OneToOneField(
        "FilingSession", null=True, blank=True, on_delete=models.CASCADE, related_name="search"
    )
    result_count = models.PositiveIntegerField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(
                fields=["department", "created_at"],
                name="kb_search_dept_empty",
                condition=models.Q(result_count=0),
            )
        ]

    def __str__(self) -> str:
        return f"{self.query!r}: {self.result_count}"


class FilingSession(models.Model):
    """One visit to a new-request form, named by a random token in the form: which
    articles it suggested and opened, and the ticket if one was filed."""

    token = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="filing_sessions"
    )
    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    ticket = models.OneToOneField(
        Ticket, null=True, blank=True, on_delete=models.SET_NULL, related_name="filing_session"
    )

    class Meta:
        indexes = [
            models.Index(
                fields=["department", "created_at"],
                name="kb_session_unfiled",
                condition=models.Q(ticket__isnull=True),
            )
        ]

    def __str__(self) -> str:
        return f"Filing session {self.pk} ({self.department_id})"


class FilingSuggestion(models.Model):
    session = models.ForeignKey(FilingSession, on_delete=models.CASCADE, related_name="suggestions")
    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="+")
    shown_at = models.DateTimeField(default=timezone.now)
    opened_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["session", "article"], name="kb_suggestion_once")
        ]

    def __str__(self) -> str:
        return f"Suggested {self.article_id} in session {self.session_id}"


class TicketArticle(models.Model):
    """An article linked to a ticket: suggested while it was filed, or linked in a reply."""

    class Kind(models.TextChoices):
        SUGGESTED = "suggested", "Suggested while filing"
        OPENED = "opened", "Read while filing"
        REPLY = "reply", "Linked in a reply"

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="article_links")
    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="ticket_links")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["ticket", "article"], name="kb_ticket_article_once")
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id} ↔ {self.article_id} ({self.kind})"

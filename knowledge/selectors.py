"""Permission-checked reads of the knowledge base. Every screen, the search, the filing
suggestions and the reply picker read articles through `article_visible_q` and the
functions built on it.

Who sees what:
- everyone signed in: published articles that are not internal, of active departments;
- members (agents and leads) of a department: all of its articles, drafts and internal
  ones included (drafts are listed on the department's page and never in search);
- superusers: everything.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Q, QuerySet
from django.http import Http404

from accounts.models import User
from knowledge.models import DEFAULT_REVIEW_AFTER_DAYS, Article, Category, TicketArticle
from knowledge.search import SearchResult, article_search
from tickets.models import Department, Ticket
from tickets.selectors import is_member, user_department_ids, user_lead_department_ids


def article_visible_q(user: User) -> Q:
    """The articles `user` may open (drafts of their own departments included)."""
    if user.is_superuser:
        return Q()
    public = Q(status=Article.Status.PUBLISHED, is_internal=False, department__is_active=True)
    return public | Q(department_id__in=user_department_ids(user))


def article_list_visible_to(
    *, user: User, department: Department | None = None
) -> QuerySet[Article]:
    """Published articles `user` may read (internal ones for their departments' members),
    optionally of one department. What browsing and search list."""
    articles = Article.objects.filter(article_visible_q(user), status=Article.Status.PUBLISHED)
    if department is not None:
        articles = articles.filter(department=department)
    return articles


def article_list_linkable() -> QuerySet[Article]:
    """Published articles every employee may read: what an agent may link in a public
    reply (never an internal one, which the requester could not open)."""
    return Article.objects.filter(
        status=Article.Status.PUBLISHED, is_internal=False, department__is_active=True
    )


def article_drafts_for(*, user: User, department: Department) -> QuerySet[Article]:
    """The department's drafts, for its members; nothing for anyone else."""
    if not is_member(user, department.pk):
        return Article.objects.none()
    return Article.objects.filter(department=department, status=Article.Status.DRAFT)


def article_access(*, user: User, slug: str) -> Article:
    """The article, if `user` may open it; otherwise 404 (existence is not revealed)."""
    article = (
        Article.objects.filter(article_visible_q(user), slug=slug)
        .select_related("department", "category", "owner")
        .first()
    )
    if article is None:
        raise Http404("No such article.")
    return article


def can_edit_article(*, user: User, department_id: int) -> bool:
    """Agents and leads of the department write its articles."""
    return is_member(user, department_id)


def can_review_article(*, user: User, article: Article) -> bool:
    """The owner marks their article reviewed; so may the department's leads."""
    return (
        user.is_superuser
        or user.pk == article.owner_id
        or article.department_id in user_lead_department_ids(user)
    )


def department_for_knowledge(*, code: str) -> Department:
    department = Department.objects.filter(code=code, is_active=True).first()
    if department is None:
        raise Http404("No such department.")
    return department


def department_for_writing(*, user: User, code: str) -> Department:
    """The department, if `user` writes its articles; 404 otherwise."""
    department = Department.objects.filter(code=code).first()
    if department is None or not can_edit_article(user=user, department_id=department.pk):
        raise Http404("No such department.")
    return department


@dataclass
class DepartmentShelf:
    department: Department
    articles: int


def departments_with_articles(*, user: User) -> list[DepartmentShelf]:
    """Departments with at least one article `user` may read, and how many (one query)."""
    from django.db.models import Count

    counts = (
        article_list_visible_to(user=user)
        .values("department")
        .annotate(n=Count("pk"))
        .values_list("department", "n")
    )
    by_department = dict(counts)
    departments = Department.objects.filter(pk__in=list(by_department)).order_by("name")
    return [DepartmentShelf(d, by_department[d.pk]) for d in departments]


@dataclass
class Shelf:
    category: Category | None
    articles: list[Article]


def department_shelves(*, articles: QuerySet[Article]) -> list[Shelf]:
    """Articles grouped by category, in category order, uncategorised last (one query)."""
    shelves: dict[int | None, Shelf] = {}
    rows = articles.select_related("category").order_by(
        "category__position", "category__name", "title"
    )
    for article in rows:
        key = article.category_id
        if key not in shelves:
            shelves[key] = Shelf(article.category, [])
        shelves[key].articles.append(article)
    uncategorised = shelves.pop(None, None)
    return [*shelves.values(), *([uncategorised] if uncategorised else [])]


def ticket_article_links_for(*, user: User, ticket: Ticket) -> QuerySet[TicketArticle]:
    """The articles linked to the ticket (suggested at filing, linked in replies), for the
    department's agents only."""
    if not is_member(user, ticket.department_id):
        return TicketArticle.objects.none()
    return ticket.article_links.select_related("article")


SUGGESTIONS = 5


def article_suggestions_for_filing(
    *, user: User, department: Department, title: str
) -> SearchResult:
    """The department's articles most relevant to a request's title as it is typed."""
    return article_search(
        articles=article_list_visible_to(user=user, department=department),
        query=title,
        limit=SUGGESTIONS,
        prefix=True,
    )


def article_search_for(
    *, user: User, query: str, department: Department | None = None, limit: int = 20
) -> SearchResult:
    """The knowledge-base search: what `user` may read, best first."""
    return article_search(
        articles=article_list_visible_to(user=user, department=department).select_related(
            "department", "category"
        ),
        query=query,
        limit=limit,
    )


def article_picker_for(*, user: User, ticket: Ticket, query: str) -> SearchResult:
    """Articles an agent of the ticket's department may link in a public reply."""
    if not is_member(user, ticket.department_id):
        raise Http404("No such ticket.")
    return article_search(
        articles=article_list_linkable().select_related("department"), query=query, limit=8
    )


def article_review_due(*, article: Article, review_after_days: int | None, now: datetime) -> bool:
    """Whether the published article's last review is older than its department's
    review age (the default when the department has no settings)."""
    days = review_after_days or DEFAULT_REVIEW_AFTER_DAYS
    return article.is_published and article.last_reviewed_at < now - timedelta(days=days)

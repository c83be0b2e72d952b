"""Knowledge-base screens: browse, search, read and rate articles (everyone); write,
edit and review them (the department's agents); the new-request form's suggestions and
the reply composer's article picker (htmx fragments). Each view: access (selectors),
form, one service call, redirect or render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_POST

from accounts.models import User
from knowledge import selectors, services
from knowledge.forms import ArticleForm, FeedbackForm, SearchForm
from knowledge.models import Article, KnowledgeSettings
from tickets.selectors import department_for_filing, is_member, ticket_access


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


@login_required
@require_GET
def kb_home(request: HttpRequest) -> HttpResponse:
    shelves = selectors.departments_with_articles(user=_user(request))
    return render(request, "knowledge/home.html", {"shelves": shelves, "form": SearchForm()})


@login_required
@require_GET
def kb_search(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    form = SearchForm(request.GET)
    query, department = "", None
    if form.is_valid():
        query = form.cleaned_data["q"].strip()
        if form.cleaned_data["department"]:
            department = selectors.department_for_knowledge(code=form.cleaned_data["department"])
    result = selectors.article_search_for(user=user, query=query, department=department)
    services.search_record(query=query, department=department, result_count=len(result.articles))
    context = {"form": form, "query": query, "department": department, "result": result}
    return render(request, "knowledge/search.html", context)


@login_required
@require_GET
def kb_department(request: HttpRequest, code: str) -> HttpResponse:
    user = _user(request)
    department = selectors.department_for_knowledge(code=code)
    articles = selectors.article_list_visible_to(user=user, department=department)
    context = {
        "department": department,
        "shelves": selectors.department_shelves(articles=articles),
        "drafts": selectors.article_drafts_for(user=user, department=department).select_related(
            "owner"
        ),
        "can_write": selectors.can_edit_article(user=user, department_id=department.pk),
        "form": SearchForm(initial={"department": department.code}),
    }
    return render(request, "knowledge/department.html", context)


@login_required
@require_GET
def kb_article(request: HttpRequest, slug: str) -> HttpResponse:
    user = _user(request)
    article = selectors.article_access(user=user, slug=slug)
    from_filing = request.GET.get("from", "")
    services.article_view_record(article=article, user=user, filing_token=from_filing)
    return _render_article(request, article, FeedbackForm(), from_filing=bool(from_filing))


def _render_article(
    request: HttpRequest,
    article: Article,
    form: FeedbackForm,
    *,
    from_filing: bool = False,
    status: int = 200,
) -> HttpResponse:
    user = _user(request)
    review_days = (
        KnowledgeSettings.objects.filter(department_id=article.department_id)
        .values_list("review_after_days", flat=True)
        .first()
    )
    context = {
        "article": article,
        "form": form,
        "from_filing": from_filing,
        "can_edit": selectors.can_edit_article(user=user, department_id=article.department_id),
        "can_review": selectors.can_review_article(user=user, article=article),
        "review_due": selectors.article_review_due(
            article=article, review_after_days=review_days, now=timezone.now()
        ),
        "my_feedback": article.feedback.filter(user=user).first(),
    }
    return render(request, "knowledge/article.html", context, status=status)


@login_required
@require_POST
def kb_article_feedback(request: HttpRequest, slug: str) -> HttpResponse:
    user = _user(request)
    article = selectors.article_access(user=user, slug=slug)
    form = FeedbackForm(request.POST)
    if form.is_valid():
        try:
            services.article_feedback_give(
                article=article,
                user=user,
                helpful=form.cleaned_data["helpful"],
                comment=form.cleaned_data["comment"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, "Thank you: your answer helps us improve the article.")
            return redirect("kb_article", slug=article.slug)
    return _render_article(request, article, form, status=400)


@login_required
def kb_article_new(request: HttpRequest, code: str) -> HttpResponse:
    user = _user(request)
    department = selectors.department_for_writing(user=user, code=code)
    form = ArticleForm(request.POST or None, department=department, initial={"owner": user})
    if request.method == "POST" and form.is_valid():
        try:
            article = services.article_create(
                actor=user, department=department, **form.cleaned_data
            )
        except ValidationError as error:
            _add_errors(form, error)
        else:
            messages.success(request, "Article saved.")
            return redirect("kb_article", slug=article.slug)
    status = 400 if form.errors else 200
    context = {"form": form, "department": department, "article": None}
    return render(request, "knowledge/article_form.html", context, status=status)


@login_required
def kb_article_edit(request: HttpRequest, slug: str) -> HttpResponse:
    user = _user(request)
    article = selectors.article_access(user=user, slug=slug)
    if not selectors.can_edit_article(user=user, department_id=article.department_id):
        raise PermissionDenied("Only the department's agents edit its articles.")
    initial = {
        "title": article.title, "body": article.body, "category": article.category_id,
        "status": article.status, "is_internal": article.is_internal, "owner": article.owner_id,
    }  # fmt: skip
    form = ArticleForm(request.POST or None, department=article.department, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.article_update(article=article, actor=user, **form.cleaned_data)
        except ValidationError as error:
            _add_errors(form, error)
        else:
            messages.success(request, "Article saved.")
            return redirect("kb_article", slug=article.slug)
    status = 400 if form.errors else 200
    context = {"form": form, "department": article.department, "article": article}
    return render(request, "knowledge/article_form.html", context, status=status)


def _add_errors(form: ArticleForm, error: ValidationError) -> None:
    for key, errors in error.message_dict.items():
        form.add_error(key if key in form.fields else None, errors)


@login_required
@require_POST
def kb_article_reviewed(request: HttpRequest, slug: str) -> HttpResponse:
    user = _user(request)
    article = selectors.article_access(user=user, slug=slug)
    services.article_mark_reviewed(article=article, actor=user)  # PermissionDenied: 403
    messages.success(request, "Marked reviewed; the next reminder is a review period away.")
    return redirect("kb_article", slug=article.slug)


@login_required
@require_POST
def kb_draft_from_ticket(request: HttpRequest, reference: str) -> HttpResponse:
    user = _user(request)
    ticket = ticket_access(user=user, reference=reference)
    try:
        article = services.article_draft_from_ticket(ticket=ticket, actor=user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("ticket_detail", reference=ticket.reference)
    messages.success(request, f"Draft article made from {ticket.reference}; edit and publish it.")
    return redirect("kb_article_edit", slug=article.slug)


# --- htmx fragments -------------------------------------------------------------------


@login_required
@require_GET
def kb_suggest(request: HttpRequest, code: str) -> HttpResponse:
    """The new-request form's suggestions for the title typed so far."""
    user = _user(request)
    department = department_for_filing(code=code)
    title = request.GET.get("title", "")[:200]
    token = request.GET.get("kb_session", "")
    result = selectors.article_suggestions_for_filing(user=user, department=department, title=title)
    services.filing_suggestions_record(
        token=token, user=user, department=department, query=title, articles=result.articles
    )
    context = {"result": result, "department": department, "token": token, "title": title}
    response = render(request, "knowledge/_suggestions.html", context)
    patch_vary_headers(response, ["HX-Request"])
    return response


@login_required
@require_GET
def kb_pick(request: HttpRequest, reference: str) -> HttpResponse:
    """The reply composer's article picker: linkable articles for the words typed."""
    user = _user(request)
    ticket = ticket_access(user=user, reference=reference)
    if not is_member(user, ticket.department_id):
        raise PermissionDenied("Only the department's agents link articles.")
    result = selectors.article_picker_for(user=user, ticket=ticket, query=request.GET.get("q", ""))
    return render(request, "knowledge/_picker.html", {"result": result, "ticket": ticket})

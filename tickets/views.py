"""Screens for employees and agents. Each view: access check (selectors), form, one
service call, redirect or render."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_POST

from accounts.models import User
from knowledge import selectors as kb_selectors
from knowledge import services as kb_services
from slas import selectors as sla_selectors
from tickets import selectors, services
from tickets.forms import (
    AssignForm,
    MyRequestsFilterForm,
    PriorityForm,
    QueueFilterForm,
    ReplyForm,
    StatusForm,
    TicketCreateForm,
    TransferForm,
    WatcherForm,
)
from tickets.models import Attachment, Ticket


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _cursor(value: str | None) -> int | None:
    """An id cursor from the URL; anything else (letters, huge numbers) is ignored."""
    if value and value.isascii() and value.isdigit() and len(value) <= 18:
        return int(value)
    return None


@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


@login_required
def home(request: HttpRequest) -> HttpResponse:
    if selectors.is_agent(_user(request)):
        return redirect("queue")
    return redirect("my_requests")


# --- Filing ---------------------------------------------------------------------------


@login_required
def request_departments(request: HttpRequest) -> HttpResponse:
    departments = selectors.department_list_for_filing()
    return render(request, "tickets/request_departments.html", {"departments": departments})


@login_required
def request_types(request: HttpRequest, code: str) -> HttpResponse:
    department = selectors.department_for_filing(code=code)
    types = department.request_types.filter(is_active=True)
    return render(
        request, "tickets/request_types.html", {"department": department, "request_types": types}
    )


@login_required
def request_new(request: HttpRequest, code: str, request_type_id: int) -> HttpResponse:
    department = selectors.department_for_filing(code=code)
    request_type = selectors.request_type_for_filing(
        department=department, request_type_id=request_type_id
    )
    form = TicketCreateForm(request.POST or None, request.FILES or None, request_type=request_type)
    # The knowledge base's filing session: which help articles this form suggested.
    kb_session = request.POST.get("kb_session", "") or kb_services.filing_token_new()
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                ticket = services.ticket_create(
                    created_by=_user(request),
                    requester=form.cleaned_data["on_behalf_of"],
                    request_type=request_type,
                    title=form.cleaned_data["title"],
                    description=form.cleaned_data["description"],
                    extra=form.extra_values(),
                    attachments=form.cleaned_data["attachments"],
                )
            except ValidationError as error:
                _add_errors(form, error)
            else:
                kb_services.filing_session_file(
                    token=kb_session, user=_user(request), ticket=ticket
                )
                messages.success(request, f"Request {ticket.reference} filed.")
                return redirect("ticket_detail", reference=ticket.reference)
        status = 400
    context = {
        "department": department,
        "request_type": request_type,
        "form": form,
        "kb_session": kb_session,
    }
    return render(request, "tickets/request_new.html", context, status=status)


def _add_errors(form: TicketCreateForm | ReplyForm, error: ValidationError) -> None:
    for key, errors in error.message_dict.items():
        field = key.replace("extra.", "extra__")
        form.add_error(field if field in form.fields else None, errors)


@login_required
def my_requests(request: HttpRequest) -> HttpResponse:
    form = MyRequestsFilterForm(request.GET or None)
    status = form.cleaned_data["status"] if form.is_valid() else ""
    tickets = selectors.ticket_list_for_requester(user=_user(request), status=status)
    page = selectors.keyset_page(
        tickets, after=_cursor(request.GET.get("after")), before=_cursor(request.GET.get("before"))
    )
    return render(
        request, "tickets/my_requests.html", {"form": form, "page": page, "status": status}
    )


# --- The ticket page ------------------------------------------------------------------


@login_required
def ticket_detail(request: HttpRequest, reference: str) -> HttpResponse:
    ticket = selectors.ticket_access(user=_user(request), reference=reference)
    return _render_detail(request, ticket, ReplyForm())


def _render_detail(
    request: HttpRequest, ticket: Ticket, reply_form: ReplyForm, status: int = 200
) -> HttpResponse:
    user = _user(request)
    can_work = selectors.can_work(user=user, ticket=ticket)
    sla = sla_selectors.ticket_sla_for(user=user, ticket=ticket, now=timezone.now())
    context = {
        "ticket": ticket,
        "can_work": can_work,
        "is_requester": user.pk in (ticket.requester_id, ticket.created_by_id),
        "comments": selectors.ticket_comments_for(user=user, ticket=ticket),
        "events": selectors.ticket_events_for(user=user, ticket=ticket),
        "attachments": selectors.ticket_attachments_for(user=user, ticket=ticket),
        "watchers": ticket.watchers.all(),
        "reply_form": reply_form,
        "sla_clocks": [clock for clock in sla if clock.is_current],
        "sla_earlier": [clock for clock in sla if not clock.is_current],
        "sla_escalations": sla_selectors.ticket_escalations_for(user=user, ticket=ticket),
    }
    if can_work or user.pk == ticket.requester_id:
        context["watcher_form"] = WatcherForm()  # the requester may add colleagues too
    if can_work:
        context |= {
            "assign_form": AssignForm(
                department=ticket.department, initial={"assignee": ticket.assignee_id}
            ),
            "priority_form": PriorityForm(initial={"priority": ticket.priority}),
            "transfer_form": TransferForm(ticket=ticket),
            # In lifecycle order: TRANSITIONS holds sets, whose order changes per process.
            "next_statuses": [s for s in Ticket.Status if s in services.TRANSITIONS[ticket.status]],
            "kb_links": kb_selectors.ticket_article_links_for(user=user, ticket=ticket),
        }
    return render(request, "tickets/ticket_detail.html", context, status=status)


@login_required
@require_POST
def ticket_reply(request: HttpRequest, reference: str) -> HttpResponse:
    ticket = selectors.ticket_access(user=_user(request), reference=reference)
    form = ReplyForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.comment_add(
                ticket=ticket,
                author=_user(request),
                body=form.cleaned_data["body"],
                is_internal=form.cleaned_data["is_internal"],
                then_status=form.cleaned_data["then_status"],
                attachments=form.cleaned_data["attachments"],
            )
        except ValidationError as error:
            _add_errors(form, error)
        except services.TransitionRefused as error:
            form.add_error(None, str(error))
        else:
            note = form.cleaned_data["is_internal"]
            messages.success(request, "Internal note added." if note else "Reply sent.")
            return redirect("ticket_detail", reference=ticket.reference)
    return _render_detail(request, ticket, form, status=400)


def _act(
    request: HttpRequest, ticket: Ticket, action: Callable[[], object], done: str
) -> HttpResponseRedirect:
    """Run one service call; report a refusal as a message. PermissionDenied becomes 403."""
    try:
        action()
    except services.TransitionRefused as error:
        messages.error(request, str(error))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, done)
    return redirect("ticket_detail", reference=ticket.reference)


def _invalid(request: HttpRequest, ticket: Ticket) -> HttpResponseRedirect:
    messages.error(request, "That change was not understood; nothing was changed.")
    return redirect("ticket_detail", reference=ticket.reference)


@login_required
@require_POST
def ticket_status(request: HttpRequest, reference: str) -> HttpResponse:
    user = _user(request)
    ticket = selectors.ticket_access(user=user, reference=reference)
    form = StatusForm(request.POST)
    if not form.is_valid():
        return _invalid(request, ticket)
    status = Ticket.Status(form.cleaned_data["status"])
    return _act(
        request,
        ticket,
        lambda: services.ticket_transition(
            ticket=ticket, actor=user, to_status=status, note=form.cleaned_data["note"]
        ),
        f"Status set to {status.label.lower()}.",
    )


@login_required
@require_POST
def ticket_reopen(request: HttpRequest, reference: str) -> HttpResponse:
    user = _user(request)
    ticket = selectors.ticket_access(user=user, reference=reference)
    return _act(
        request,
        ticket,
        lambda: services.ticket_transition(ticket=ticket, actor=user, to_status=Ticket.Status.OPEN),
        "Request reopened.",
    )


@login_required
@require_POST
def ticket_cancel(request: HttpRequest, reference: str) -> HttpResponse:
    user = _user(request)
    ticket = selectors.ticket_access(user=user, reference=reference)
    return _act(
        request,
        ticket,
        lambda: services.ticket_transition(
            ticket=ticket, actor=user, to_status=Ticket.Status.CANCELLED
        ),
        "Request cancelled.",
    )


@login_required
@require_POST
def ticket_assign(request: HttpRequest, reference: str) -> HttpResponse:
    user = _user(request)
    ticket = selectors.ticket_access(user=user, reference=reference)
    form = AssignForm(request.POST, department=ticket.department)
    if not form.is_valid():
        return _invalid(request, ticket)
    assignee = form.cleaned_data["assignee"]
    return _act(
        request,
        ticket,
        lambda: services.ticket_assign(ticket=ticket, actor=user, assignee=assignee),
        f"Assigned to {assignee}." if assignee else "Ticket unassigned.",
    )


@login_required
@require_POST
def ticket_take(request: HttpRequest, reference: str) -> HttpResponse:
    user = _user(request)
    ticket = selectors.ticket_access(user=user, reference=reference)
    return _act(
        request,
        ticket,
        lambda: services.ticket_assign(ticket=ticket, actor=user, assignee=user),
        "Assigned to you.",
    )


@login_required
@require_POST
def ticket_priority(request: HttpRequest, reference: str) -> HttpResponse:
    user = _user(request)
    ticket = selectors.ticket_access(user=user, reference=reference)
    form = PriorityForm(request.POST)
    if not form.is_valid():
        return _invalid(request, ticket)
    return _act(
        request,
        ticket,
        lambda: services.ticket_set_priority(
            ticket=ticket, actor=user, priority=form.cleaned_data["priority"]
        ),
        "Priority changed.",
    )


@login_required
@require_POST
def ticket_transfer(request: HttpRequest, reference: str) -> HttpResponse:
    user = _user(request)
    ticket = selectors.ticket_access(user=user, reference=reference)
    form = TransferForm(request.POST, ticket=ticket)
    if not form.is_valid():
        messages.error(request, "Choose a request type and give a reason; nothing was changed.")
        return redirect("ticket_detail", reference=ticket.reference)
    target = form.cleaned_data["request_type"]
    response = _act(
        request,
        ticket,
        lambda: services.ticket_transfer(
            ticket=ticket, actor=user, request_type=target, reason=form.cleaned_data["reason"]
        ),
        f"Transferred to {target.department.name}.",
    )
    ticket.refresh_from_db()
    if not selectors.can_view(user=user, ticket=ticket):
        return redirect("queue")
    return response


@login_required
@require_POST
def ticket_watcher_add(request: HttpRequest, reference: str) -> HttpResponse:
    user = _user(request)
    ticket = selectors.ticket_access(user=user, reference=reference)
    form = WatcherForm(request.POST)
    if not form.is_valid():
        return _invalid(request, ticket)
    watcher = form.cleaned_data["watcher"]
    return _act(
        request,
        ticket,
        lambda: services.ticket_add_watcher(ticket=ticket, actor=user, watcher=watcher),
        f"{watcher} is now watching.",
    )


@login_required
@require_POST
def ticket_watcher_remove(request: HttpRequest, reference: str, user_id: int) -> HttpResponse:
    user = _user(request)
    ticket = selectors.ticket_access(user=user, reference=reference)
    watcher = get_object_or_404(User, pk=user_id)
    return _act(
        request,
        ticket,
        lambda: services.ticket_remove_watcher(ticket=ticket, actor=user, watcher=watcher),
        f"{watcher} no longer watches this ticket.",
    )


@login_required
@require_GET
def attachment_download(request: HttpRequest, attachment_id: int) -> FileResponse:
    attachment = selectors.attachment_access(user=_user(request), attachment_id=attachment_id)
    return attachment_file(attachment)


def attachment_file(attachment: Attachment) -> FileResponse:
    """The file as a download (the screens and the API)."""
    return FileResponse(
        attachment.file.open("rb"),
        as_attachment=True,
        filename=attachment.filename,
        content_type=attachment.content_type,
    )


# --- The agent queue ------------------------------------------------------------------


@login_required
def queue_home(request: HttpRequest) -> HttpResponse:
    department = selectors.departments_for_agent(user=_user(request)).first()
    if department is None:
        return redirect("my_requests")
    return redirect("queue_department", code=department.code)


def _queue_page(request: HttpRequest, tickets: QuerySet[Ticket], *, sort: str) -> selectors.Page:
    """The page the URL's cursor points at, in the chosen order; a malformed cursor (or
    one of the other order) shows the first page."""
    after, before = request.GET.get("after"), request.GET.get("before")
    if sort == "due":
        parse = selectors.DueCursor.parse
        return selectors.keyset_page_by_due(tickets, after=parse(after), before=parse(before))
    return selectors.keyset_page(tickets, after=_cursor(after), before=_cursor(before))


@login_required
def queue(request: HttpRequest, code: str) -> HttpResponse:
    user = _user(request)
    department = selectors.department_access_for_agent(user=user, code=code)
    params = request.GET.copy()
    if "status" not in params:
        params["status"] = "active"
    form = QueueFilterForm(params, department=department, user=user)
    filters = form.selector_filters() if form.is_valid() else {"status": "active"}
    now = timezone.now()
    tickets = selectors.ticket_queue_for_agent(
        user=user, department=department, filters=filters, now=now
    )
    sort = filters.get("sort") or ""
    page = _queue_page(request, tickets, sort=sort)
    query = params.copy()
    query.pop("after", None)
    query.pop("before", None)
    context = {
        "department": department,
        "departments": selectors.departments_for_agent(user=user),
        "form": form,
        "page": page,
        "sort": sort,
        "now": now,
        "query": query.urlencode(),
        "queue_url": reverse("queue_department", args=[department.code]),
    }
    # htmx asks for the table alone, except when restoring history (it needs the page).
    partial = request.headers.get("HX-Request") and not request.headers.get(
        "HX-History-Restore-Request"
    )
    template = "tickets/_queue_table.html" if partial else "tickets/queue.html"
    response = render(request, template, context)
    # One URL, two bodies: keep browsers from serving the fragment as the page.
    patch_vary_headers(response, ["HX-Request"])
    return response

"""The survey page (opened by its link, no sign-in), its thank-you page with "reopen my
request", and the leads' follow-up page. Each view: access (selectors), form, one service
call, redirect or render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import User
from surveys import selectors, services
from surveys.forms import FollowUpCloseForm, SurveyAnswerForm
from surveys.models import SurveyInvitation
from tickets.services import TransitionRefused

State = SurveyInvitation.State


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _link_invalid(request: HttpRequest) -> HttpResponse:
    """One page for every token that opens nothing: malformed, guessed or altered."""
    return render(request, "surveys/link_invalid.html", status=404)


def _score_param(request: HttpRequest) -> int | None:
    value = request.GET.get("score", "")
    return int(value) if value in ("1", "2", "3", "4", "5") else None


@never_cache
@require_http_methods(["GET", "POST"])
def survey_answer(request: HttpRequest, token: str) -> HttpResponse:
    try:
        invitation = selectors.invitation_by_token(token=token)
    except Http404:
        return _link_invalid(request)
    now = timezone.now()
    state = invitation.state_at(now)
    if state == State.ANSWERED:
        return _thanks(request, invitation, token)
    if state in (State.EXPIRED, State.WITHDRAWN):
        return render(request, "surveys/closed.html", {"invitation": invitation}, status=410)
    template = selectors.survey_template_of(invitation)
    form = SurveyAnswerForm(
        request.POST or None,
        template=template,
        reasons=selectors.reasons_for(template),
        anonymous=invitation.anonymous,
        initial={"score": _score_param(request)},
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.survey_respond(
                invitation=invitation,
                score=form.cleaned_data["score"],
                reason_ids=form.cleaned_data.get("reasons") or [],
                comment=form.cleaned_data.get("comment") or "",
                nps=form.cleaned_data.get("nps"),
                may_contact=bool(form.cleaned_data.get("may_contact")),
                now=now,
            )
        except ValidationError as error:
            for field, errors in error.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        except (services.AlreadyAnswered, services.SurveyClosed):
            return redirect("survey_answer", token=token)  # the page says which
        else:
            return redirect("survey_answer", token=token)
    context = {"invitation": invitation, "form": form, "token": token}
    status = 400 if form.is_bound else 200
    return render(request, "surveys/answer.html", context, status=status)


def _thanks(request: HttpRequest, invitation: SurveyInvitation, token: str) -> HttpResponse:
    ticket = invitation.ticket
    response = selectors.response_of(invitation)
    context = {
        "invitation": invitation,
        "ticket": ticket,
        "response": response,
        "score_label": (
            selectors.survey_template_of(invitation).label_for(response.score) if response else ""
        ),
        "has_follow_up": response is not None and hasattr(response, "follow_up"),
        "token": token,
        "can_reopen": ticket.status == ticket.Status.RESOLVED
        and ticket.reopen_count + 1 == invitation.resolution,
    }
    return render(request, "surveys/thanks.html", context)


@never_cache
@require_POST
def survey_reopen(request: HttpRequest, token: str) -> HttpResponse:
    try:
        invitation = selectors.invitation_by_token(token=token)
    except Http404:
        return _link_invalid(request)
    try:
        ticket = services.survey_reopen_ticket(invitation=invitation, now=timezone.now())
    except TransitionRefused as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request, f"{ticket.reference} is open again; {ticket.department.name} will pick it up."
        )
    return redirect("survey_answer", token=token)


# --- Follow-ups (department leads) ------------------------------------------------------


@login_required
def follow_ups(request: HttpRequest) -> HttpResponse:
    board = selectors.follow_up_board_for(user=_user(request), now=timezone.now())
    return render(request, "surveys/follow_ups.html", {"board": board})


@login_required
@require_POST
def follow_up_close(request: HttpRequest, follow_up_id: int) -> HttpResponse:
    user = _user(request)
    follow_up = selectors.follow_up_access(user=user, follow_up_id=follow_up_id)
    form = FollowUpCloseForm(request.POST)
    if form.is_valid():
        try:
            services.follow_up_close(
                follow_up=follow_up,
                actor=user,
                notes=form.cleaned_data["notes"],
                now=timezone.now(),
            )
        except ValidationError as error:
            form.add_error("notes", error.message_dict.get("notes", error.messages))
        else:
            messages.success(request, "Follow-up closed.")
            return redirect("survey_follow_ups")
    board = selectors.follow_up_board_for(user=user, now=timezone.now())
    context = {"board": board, "failed_id": follow_up.pk, "failed_form": form}
    return render(request, "surveys/follow_ups.html", context, status=400)

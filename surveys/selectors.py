"""Survey reads, permission-checked where a person asks.

- a survey link (`invitation_by_token`) opens one survey to whoever holds it;
- the requester sees their own surveys on the ticket page and in "My requests";
- the leads of a department (and superusers) see its follow-ups; in an anonymous survey
  without the requester's name or request, unless the requester agreed to be contacted.

Statistics for the dashboards are in surveys/stats.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.urls import reverse

from accounts.models import User
from surveys import tokens
from surveys.models import (
    FollowUp,
    SurveyInvitation,
    SurveyReason,
    SurveyResponse,
    SurveySettings,
    SurveyTemplate,
)
from tickets.models import Department, Ticket
from tickets.selectors import user_lead_department_ids

State = SurveyInvitation.State
RECENTLY_CLOSED_DAYS = 30
RECENTLY_CLOSED_LIMIT = 20
PENDING_LIMIT = 10


# --- Settings and templates -------------------------------------------------------------


def settings_for(*, department_id: int) -> SurveySettings | None:
    return (
        SurveySettings.objects.select_related("template")
        .filter(department_id=department_id)
        .first()
    )


def template_for_department(survey_settings: SurveySettings) -> SurveyTemplate | None:
    """The template chosen in the settings; else the department's newest active one; else
    the newest active global one; None: the built-in questions."""
    if survey_settings.template is not None:
        return survey_settings.template
    active = SurveyTemplate.objects.filter(is_active=True).order_by("-created_at", "-id")
    return (
        active.filter(department_id=survey_settings.department_id).first()
        or active.filter(department__isnull=True).first()
    )


def survey_template_of(invitation: SurveyInvitation) -> SurveyTemplate:
    """The invitation's questions (an unsaved template holds the built-in defaults)."""
    return invitation.template or SurveyTemplate()


def reasons_for(template: SurveyTemplate) -> list[SurveyReason]:
    if template.pk is None:
        return []
    return list(template.reasons.all())


# --- Links ------------------------------------------------------------------------------


def invitation_by_token(*, token: str) -> SurveyInvitation:
    """The invitation a link's token opens. A malformed, guessed or altered token raises
    Http404 and the caller shows one page for all of them (nothing is revealed)."""
    if not tokens.looks_like_token(token):
        raise Http404("No such survey.")
    invitation = (
        SurveyInvitation.objects.select_related(
            "ticket", "department", "requester", "template", "response"
        )
        .filter(token_hash=tokens.token_hash(token))
        .first()
    )
    if invitation is None:
        raise Http404("No such survey.")
    return invitation


def survey_url(invitation: SurveyInvitation, *, score: int | None = None) -> str | None:
    """The survey's link (a path), optionally pre-filled with a score; None when its
    token can no longer be made (SECRET_KEY rotated without a fallback)."""
    token = tokens.token_of(seed=invitation.token_seed, expected_hash=invitation.token_hash)
    if token is None:
        return None
    url = reverse("survey_answer", args=[token])
    return f"{url}?score={score}" if score is not None else url


def response_of(invitation: SurveyInvitation) -> SurveyResponse | None:
    try:
        return invitation.response
    except SurveyResponse.DoesNotExist:
        return None


# --- The requester's view ---------------------------------------------------------------


@dataclass(frozen=True)
class ScoreLink:
    score: int
    label: str
    url: str


@dataclass(frozen=True)
class SurveyCard:
    """The survey on the ticket page: open (score links) or answered (the answer)."""

    invitation: SurveyInvitation
    template: SurveyTemplate
    url: str | None
    scores: list[ScoreLink]
    response: SurveyResponse | None

    @property
    def score_label(self) -> str:
        return self.template.label_for(self.response.score) if self.response else ""


def survey_card_for(*, user: User, ticket: Ticket, now: datetime) -> SurveyCard | None:
    """The latest survey of the ticket, for its requester only, once it has gone out;
    None for everyone else (no query) and when there is nothing to answer or show."""
    if user.pk != ticket.requester_id:
        return None
    invitation = (
        SurveyInvitation.objects.select_related("template", "response")
        .filter(ticket=ticket, requester=user, withdrawn_at__isnull=True)
        .order_by("-resolution")
        .first()
    )
    if invitation is None:
        return None
    state = invitation.state_at(now)
    if state not in (State.OPEN, State.ANSWERED):
        return None
    template = survey_template_of(invitation)
    url = survey_url(invitation) if state == State.OPEN else None
    scores = (
        [ScoreLink(score, label, f"{url}?score={score}") for score, label in template.score_choices]
        if url
        else []
    )
    return SurveyCard(invitation, template, url, scores, response_of(invitation))


@dataclass(frozen=True)
class PendingSurvey:
    invitation: SurveyInvitation
    url: str


def pending_surveys_for(*, user: User, now: datetime) -> list[PendingSurvey]:
    """The user's surveys waiting for an answer, newest first (one query)."""
    invitations = (
        SurveyInvitation.objects.select_related("ticket", "department")
        .filter(
            requester=user,
            answered_at__isnull=True,
            withdrawn_at__isnull=True,
            send_at__lte=now,
            expires_at__gt=now,
        )
        .order_by("-created_at", "-id")[:PENDING_LIMIT]
    )
    pending = []
    for invitation in invitations:
        url = survey_url(invitation)
        if url is not None:
            pending.append(PendingSurvey(invitation, url))
    return pending


# --- The leads' view --------------------------------------------------------------------


def can_lead(*, user: User, department_id: int) -> bool:
    return user.is_superuser or department_id in user_lead_department_ids(user)


@dataclass(frozen=True)
class FollowUpRow:
    follow_up: FollowUp
    response: SurveyResponse
    invitation: SurveyInvitation
    score_label: str
    # False in an anonymous survey unless the requester agreed to be contacted: then the
    # row shows neither the requester nor the ticket.
    identified: bool


@dataclass(frozen=True)
class FollowUpBoard:
    departments: list[Department]
    open: list[FollowUpRow]
    recently_closed: list[FollowUpRow]


def follow_up_board_for(*, user: User, now: datetime) -> FollowUpBoard:
    """Open follow-ups of the departments the user leads, oldest first, and those closed
    in the last 30 days. PermissionDenied for anyone who leads no department."""
    if user.is_superuser:
        departments = list(Department.objects.all())
    else:
        departments = list(Department.objects.filter(pk__in=user_lead_department_ids(user)))
    if not departments:
        raise PermissionDenied("Only department leads see survey follow-ups.")
    follow_ups = FollowUp.objects.select_related(
        "department",
        "closed_by",
        "response__invitation__ticket__request_type",
        "response__invitation__requester",
        "response__invitation__template",
    ).filter(department__in=departments)
    open_rows = follow_ups.filter(closed_at__isnull=True).order_by("created_at", "id")
    closed_rows = follow_ups.filter(
        closed_at__gte=now - timedelta(days=RECENTLY_CLOSED_DAYS)
    ).order_by("-closed_at", "-id")[:RECENTLY_CLOSED_LIMIT]
    return FollowUpBoard(
        departments=departments,
        open=[_row(follow_up) for follow_up in open_rows],
        recently_closed=[_row(follow_up) for follow_up in closed_rows],
    )


def _row(follow_up: FollowUp) -> FollowUpRow:
    response = follow_up.response
    invitation = response.invitation
    return FollowUpRow(
        follow_up=follow_up,
        response=response,
        invitation=invitation,
        score_label=survey_template_of(invitation).label_for(response.score),
        identified=not invitation.anonymous or response.may_contact,
    )


def follow_up_access(*, user: User, follow_up_id: int) -> FollowUp:
    """404 when there is no such follow-up; 403 unless the user leads its department."""
    follow_up = FollowUp.objects.filter(pk=follow_up_id).first()
    if follow_up is None:
        raise Http404("No such follow-up.")
    if not can_lead(user=user, department_id=follow_up.department_id):
        raise PermissionDenied("Only the department's leads can see this follow-up.")
    return follow_up

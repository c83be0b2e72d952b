"""Every survey write, each in one function.

- `survey_invite`: at a resolution (through the ticket hook), one invitation per
  (ticket, resolution) and its emails in the outbox, delivered after the delay;
- `survey_withdraw`: a reopened ticket's unanswered invitation no longer applies;
- `survey_respond`: the answer, once; a low score opens a follow-up and emails the leads;
- `survey_reopen_ticket`: the requester, from the thank-you page, reopens the request;
- `follow_up_close`: a lead records what was done.

Nothing is sent inline: emails are outbox rows written in the same transaction.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse

from accounts.models import User
from outbox.models import Message
from outbox.services import outbox_enqueue
from slas.models import SlaClock
from surveys import tokens
from surveys.hooks import survey_answered
from surveys.models import (
    FollowUp,
    SurveyInvitation,
    SurveyReason,
    SurveyResponse,
    SurveySettings,
    SurveyTemplate,
)
from surveys.selectors import (
    can_lead,
    reasons_for,
    settings_for,
    survey_template_of,
    template_for_department,
)
from tickets import hooks
from tickets.models import Ticket
from tickets.selectors import department_leads
from tickets.services import TransitionRefused, ticket_transition

Status = Ticket.Status
MAX_COMMENT = 5000


class SurveyClosed(Exception):
    """The survey can no longer be answered: expired, or withdrawn by a reopen."""


class AlreadyAnswered(Exception):
    """The survey has its answer (a double submit, a second tab)."""


# --- Inviting ---------------------------------------------------------------------------


def survey_on_ticket_change(change: hooks.TicketChange) -> None:
    """The ticket hook: survey a resolution; withdraw the survey of a reopened ticket."""
    if change.kind != hooks.STATUS_CHANGED:
        return
    if change.new_status == Status.RESOLVED:
        survey_invite(ticket=change.ticket, now=change.now)
    elif change.old_status == Status.RESOLVED and change.new_status == Status.OPEN:
        survey_withdraw(ticket=change.ticket, now=change.now)


def is_sampled(*, ticket_id: int, resolution: int, percent: int) -> bool:
    """Whether this resolution is in the department's sample. A hash, not a die: the same
    resolution always gets the same answer, and tests can count on it."""
    if percent >= 100:
        return True
    digest = hashlib.sha256(f"survey-sample:{ticket_id}:{resolution}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % 100 < percent


def survey_invite(*, ticket: Ticket, now: datetime) -> SurveyInvitation | None:
    """Invite the requester to rate this resolution of the ticket, if its department
    surveys, the resolution is in the sample and the requester has not been surveyed
    (by any department) within the department's per-person cap.

    Called inside the ticket service's transaction, after the SLA hook has met the
    clocks. The invitation email waits in the outbox until `send_at` (the delay), the
    reminder until `reminder_at`; the outbox handler re-checks the invitation at delivery
    time. Returns the invitation, or None when nobody is asked. Never two invitations for
    one resolution (UNIQUE (ticket, resolution)).
    """
    survey_settings = settings_for(department_id=ticket.department_id)
    if survey_settings is None or not survey_settings.enabled:
        return None
    requester = ticket.requester
    resolution = ticket.reopen_count + 1
    if not requester.is_active:
        return None
    if not is_sampled(
        ticket_id=ticket.pk, resolution=resolution, percent=survey_settings.sample_percent
    ):
        return None
    if _surveyed_recently(requester=requester, survey_settings=survey_settings, now=now):
        return None
    send_at = now + timedelta(minutes=survey_settings.delay_minutes)
    expires_at = send_at + timedelta(days=survey_settings.expiry_days)
    reminder_at = None
    if survey_settings.reminder_days:
        reminder_at = send_at + timedelta(days=survey_settings.reminder_days)
        if reminder_at >= expires_at:
            reminder_at = None
    seed = tokens.new_seed()
    with transaction.atomic():
        if SurveyInvitation.objects.filter(ticket=ticket, resolution=resolution).exists():
            return None
        invitation = SurveyInvitation.objects.create(
            ticket=ticket,
            resolution=resolution,
            department_id=ticket.department_id,
            requesting_department_id=ticket.requesting_department_id,
            requester=requester,
            template=template_for_department(survey_settings),
            token_seed=seed,
            token_hash=tokens.token_hash(tokens.token_for(seed)),
            sla_met=_sla_met(ticket),
            anonymous=survey_settings.anonymous,
            created_at=now,
            send_at=send_at,
            reminder_at=reminder_at,
            expires_at=expires_at,
        )
        if requester.email:
            _enqueue_email(invitation, kind="invitation", at=send_at, now=now)
            if reminder_at is not None:
                _enqueue_email(invitation, kind="reminder", at=reminder_at, now=now)
    return invitation


def _surveyed_recently(*, requester: User, survey_settings: SurveySettings, now: datetime) -> bool:
    """Withdrawn invitations do not count: the ticket was reopened before any answer."""
    if not survey_settings.per_person_cap_days:
        return False
    since = now - timedelta(days=survey_settings.per_person_cap_days)
    return SurveyInvitation.objects.filter(
        requester=requester, created_at__gt=since, withdrawn_at__isnull=True
    ).exists()


def _sla_met(ticket: Ticket) -> bool | None:
    """Every SLA clock the providing department ran on this ticket met without breach."""
    breaches = list(
        SlaClock.objects.filter(ticket=ticket, department_id=ticket.department_id).values_list(
            "breached_at", flat=True
        )
    )
    if not breaches:
        return None
    return all(breached_at is None for breached_at in breaches)


def _enqueue_email(invitation: SurveyInvitation, *, kind: str, at: datetime, now: datetime) -> None:
    """The payload names the invitation only: the handler renders the email (and its link)
    at delivery, after checking that the survey is still open."""
    outbox_enqueue(
        topic=Message.Topic.SURVEY,
        dedupe_key=f"survey:{invitation.pk}:{kind}",
        payload={"invitation": invitation.pk, "kind": kind},
        # Due now: deliver right after commit; later: the relay delivers it when due.
        available_at=at if at > now else None,
    )


def survey_withdraw(*, ticket: Ticket, now: datetime) -> int:
    """The ticket was reopened: its unanswered invitations no longer apply (their emails,
    if still waiting in the outbox, are dropped at delivery). Returns how many."""
    return SurveyInvitation.objects.filter(
        ticket=ticket, answered_at__isnull=True, withdrawn_at__isnull=True
    ).update(withdrawn_at=now)


# --- Answering --------------------------------------------------------------------------


def survey_respond(
    *,
    invitation: SurveyInvitation,
    score: int,
    reason_ids: Sequence[int] = (),
    comment: str = "",
    nps: int | None = None,
    may_contact: bool = False,
    now: datetime,
) -> SurveyResponse:
    """Record the answer to an invitation, once.

    Raises ValidationError (per field) for bad input, SurveyClosed when the survey expired
    or was withdrawn, AlreadyAnswered when it has its answer: two submits at once record
    one response (the invitation row is locked, and the response is UNIQUE per
    invitation). A score at or under the department's threshold opens a follow-up and
    emails the department's leads.
    """
    template = survey_template_of(invitation)
    comment = (comment or "").strip()
    reasons = _check_answer(
        template=template,
        score=score,
        reason_ids=reason_ids,
        comment=comment,
        nps=nps,
    )
    with transaction.atomic():
        invitation = (
            SurveyInvitation.objects.select_for_update(of=("self",))
            .select_related("ticket", "department", "requester")
            .get(pk=invitation.pk)
        )
        state = invitation.state_at(now)
        if state == SurveyInvitation.State.ANSWERED:
            raise AlreadyAnswered
        if not invitation.is_answerable_at(now):
            raise SurveyClosed
        try:
            with transaction.atomic():
                response = SurveyResponse.objects.create(
                    invitation=invitation,
                    score=score,
                    reasons=[reason.label for reason in reasons],
                    comment=comment,
                    nps=nps,
                    may_contact=may_contact and invitation.anonymous,
                    created_at=now,
                )
        except IntegrityError:  # SQLite takes no row lock: the UNIQUE constraint decides
            raise AlreadyAnswered from None
        invitation.answered_at = now
        invitation.score, invitation.nps, invitation.commented = score, nps, bool(comment)
        invitation.save(update_fields=["answered_at", "score", "nps", "commented"])
        survey_settings = settings_for(department_id=invitation.department_id)
        if survey_settings is not None and score <= survey_settings.low_score_threshold:
            _open_follow_up(response=response, invitation=invitation, now=now)
        survey_answered(response, now)
    return response


def _check_answer(
    *,
    template: SurveyTemplate,
    score: int,
    reason_ids: Sequence[int],
    comment: str,
    nps: int | None,
) -> list[SurveyReason]:
    errors: dict[str, list[str]] = {}
    if score not in (1, 2, 3, 4, 5):
        errors["score"] = ["Choose a score from 1 to 5."]
    offered = {reason.pk: reason for reason in reasons_for(template)}
    chosen = [offered.get(pk) for pk in dict.fromkeys(reason_ids)]
    if any(reason is None for reason in chosen):
        errors["reasons"] = ["Choose reasons from the list."]
    elif "score" not in errors and any(not r.fits(score) for r in chosen if r is not None):
        errors["reasons"] = [f"Choose reasons that go with a score of {score}."]
    if comment and not template.allow_comment:
        errors["comment"] = ["This survey takes no comment."]
    elif len(comment) > MAX_COMMENT:
        errors["comment"] = [f"Keep the comment under {MAX_COMMENT} characters."]
    if nps is not None and (not template.ask_nps or not 0 <= nps <= 10):
        errors["nps"] = ["Choose a number from 0 to 10."]
    if errors:
        raise ValidationError(errors)
    return [reason for reason in chosen if reason is not None]


def _open_follow_up(
    *, response: SurveyResponse, invitation: SurveyInvitation, now: datetime
) -> None:
    """A follow-up for the department, and an email to each lead (or, with no lead, to
    the department's contact address). In an anonymous survey the email names neither the
    requester nor the request, unless the requester agreed to be contacted."""
    follow_up = FollowUp.objects.create(
        response=response, department_id=invitation.department_id, created_at=now
    )
    leads = department_leads(department_id=invitation.department_id).exclude(email="")
    addresses = sorted({lead.email for lead in leads})
    if not addresses and invitation.department.contact_email:
        addresses = [invitation.department.contact_email]
    ticket = invitation.ticket
    template = survey_template_of(invitation)
    context = {
        "follow_up": follow_up,
        "response": response,
        "invitation": invitation,
        "ticket": ticket,
        "score_label": template.label_for(response.score),
        "identified": not invitation.anonymous or response.may_contact,
        "url": settings.SITE_URL + reverse("survey_follow_ups"),
        "ticket_url": settings.SITE_URL + reverse("ticket_detail", args=[ticket.reference]),
    }
    subject = (
        f"[{ticket.reference}] Low satisfaction score: {response.score}/5"
        if context["identified"]
        else f"Low satisfaction score for {invitation.department.name}: {response.score}/5"
    )
    text = render_to_string("emails/survey_follow_up.txt", context)
    for address in addresses:
        outbox_enqueue(
            topic=Message.Topic.EMAIL,
            dedupe_key=f"survey-follow-up:{follow_up.pk}:to:{address}"[:200],
            payload={"to": address, "subject": subject, "text": text},
        )


def survey_reopen_ticket(*, invitation: SurveyInvitation, now: datetime) -> Ticket:
    """The requester, from the survey's thank-you page (the link is their proof), reopens
    the request this survey is about, while it is still resolved. Raises
    TransitionRefused otherwise (reopened since, closed, or the link expired)."""
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().get(pk=invitation.ticket_id)
        state = invitation.state_at(now)
        if state in (SurveyInvitation.State.EXPIRED, SurveyInvitation.State.WITHDRAWN):
            raise TransitionRefused("This survey link no longer works.")
        if ticket.status != Status.RESOLVED or ticket.reopen_count + 1 != invitation.resolution:
            raise TransitionRefused(
                f"{ticket.reference} is {ticket.get_status_display().lower()} now; "
                "open it from “My requests” to continue."
            )
        return ticket_transition(
            ticket=ticket,
            actor=invitation.requester,
            to_status=Status.OPEN,
            note="Reopened from the satisfaction survey.",
            now=now,
        )


# --- Following up -----------------------------------------------------------------------


def follow_up_close(*, follow_up: FollowUp, actor: User, notes: str, now: datetime) -> FollowUp:
    """A lead of the department records what was done and closes the follow-up.

    Raises PermissionDenied for anyone but the department's leads (and superusers), and
    ValidationError without a note or when it is already closed.
    """
    notes = (notes or "").strip()
    if not notes:
        raise ValidationError({"notes": ["Say what was done."]})
    if len(notes) > MAX_COMMENT:
        raise ValidationError({"notes": [f"Keep the note under {MAX_COMMENT} characters."]})
    with transaction.atomic():
        follow_up = FollowUp.objects.select_for_update().get(pk=follow_up.pk)
        if not can_lead(user=actor, department_id=follow_up.department_id):
            raise PermissionDenied("Only the department's leads can close its follow-ups.")
        if follow_up.closed_at is not None:
            raise ValidationError({"notes": ["This follow-up is already closed."]})
        follow_up.notes = notes
        follow_up.closed_by = actor
        follow_up.closed_at = now
        follow_up.save(update_fields=["notes", "closed_by", "closed_at"])
    return follow_up

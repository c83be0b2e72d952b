"""The survey emails, delivered by the outbox (topic "survey").

The outbox row names the invitation only. The handler runs when the row is due (after the
delay, or at the reminder time), re-reads the invitation and sends nothing when it was
answered, withdrawn by a reopen or has expired meanwhile; otherwise it renders the email
with the survey's link, which is made here and stored nowhere.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone

from outbox.services import send_email
from surveys.models import SurveyInvitation
from surveys.selectors import survey_template_of, survey_url

logger = logging.getLogger(__name__)


def survey_email_deliver(payload: dict[str, Any]) -> None:
    now = timezone.now()
    invitation = (
        SurveyInvitation.objects.select_related("ticket", "department", "requester", "template")
        .filter(pk=payload["invitation"])
        .first()
    )
    if invitation is None or not invitation.is_answerable_at(now):
        return  # deleted with its ticket, answered, withdrawn or expired: nothing to ask
    requester = invitation.requester
    if not requester.is_active or not requester.email:
        return
    url = survey_url(invitation)
    if url is None:
        logger.warning("survey %s: its link cannot be made (SECRET_KEY changed)", invitation.pk)
        return
    reminder = payload.get("kind") == "reminder"
    template = survey_template_of(invitation)
    context = {
        "invitation": invitation,
        "ticket": invitation.ticket,
        "recipient": requester,
        "template": template,
        "reminder": reminder,
        "url": settings.SITE_URL + url,
        "scores": [
            (score, label, f"{settings.SITE_URL}{url}?score={score}")
            for score, label in template.score_choices
        ],
    }
    ticket = invitation.ticket
    subject = f"[{ticket.reference}] How did {invitation.department.name} do?"
    send_email(
        {
            "to": requester.email,
            "subject": ("Reminder: " + subject) if reminder else subject,
            "text": render_to_string("emails/survey_invitation.txt", context),
            "html": render_to_string("emails/survey_invitation.html", context),
            "headers": {
                "X-Servicedesk-Ticket": ticket.reference,
                "Auto-Submitted": "auto-generated",
            },
        }
    )
    field = "reminded_at" if reminder else "sent_at"
    SurveyInvitation.objects.filter(pk=invitation.pk, **{f"{field}__isnull": True}).update(
        **{field: now}
    )

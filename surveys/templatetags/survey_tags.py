"""The survey on the ticket page and the pending surveys in "My requests", as inclusion
tags: one line in each page's template, and the query only where they are shown (none
for agents on the ticket page)."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils import timezone

from surveys.selectors import pending_surveys_for, survey_card_for
from tickets.models import Ticket

register = template.Library()


@register.inclusion_tag("surveys/_ticket_survey.html", takes_context=True)
def ticket_survey(context: template.Context, ticket: Ticket) -> dict[str, Any]:
    user = context.get("user")
    if user is None or not user.is_authenticated:
        return {}
    return {"survey_card": survey_card_for(user=user, ticket=ticket, now=timezone.now())}


@register.inclusion_tag("surveys/_pending_surveys.html", takes_context=True)
def pending_surveys(context: template.Context) -> dict[str, Any]:
    user = context.get("user")
    if user is None or not user.is_authenticated:
        return {}
    return {"pending_surveys": pending_surveys_for(user=user, now=timezone.now())}

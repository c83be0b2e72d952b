"""The demo company's satisfaction surveys: every department asks (one survey per person
per two weeks), and about two thirds of the requesters who were asked answered, mostly
happily, so the follow-ups, the ticket cards and the statistics have something to show."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from surveys.models import SurveyInvitation, SurveyReason, SurveySettings, SurveyTemplate
from surveys.services import AlreadyAnswered, SurveyClosed, survey_respond
from tickets.models import Department

REASONS = [
    ("It took too long", 1, 2),
    ("I had to explain it more than once", 1, 3),
    ("The problem is not really solved", 1, 3),
    ("Quick", 4, 5),
    ("Friendly and clear", 4, 5),
    ("Solved for good", 4, 5),
]
SCORES = [1, 2, 3, 4, 4, 5, 5, 5, 5, 5]
COMMENTS = {
    1: "Nobody answered for days.",
    2: "It works now, but I had to chase it twice.",
    4: "",
    5: "Thank you, that was fast!",
}


def create_demo_surveys(*, departments: list[Department]) -> SurveyTemplate:
    """Before the tickets: resolutions filed afterwards get their invitations."""
    template = SurveyTemplate.objects.create(name="Company survey", ask_nps=True)
    SurveyReason.objects.bulk_create(
        SurveyReason(template=template, label=label, min_score=low, max_score=high, position=n)
        for n, (label, low, high) in enumerate(REASONS)
    )
    SurveySettings.objects.bulk_create(
        SurveySettings(department=department, anonymous=department.code == "HR")
        for department in departments
    )
    return template


def answer_demo_surveys(*, now: datetime, rng: random.Random) -> int:
    """Answer about two thirds of the invitations that had gone out; returns how many."""
    answered = 0
    invitations = SurveyInvitation.objects.filter(send_at__lte=now, withdrawn_at__isnull=True)
    reasons = list(SurveyReason.objects.all())
    for invitation in invitations.select_related("ticket").order_by("pk"):
        if rng.random() > 0.66:
            continue
        score = rng.choice(SCORES)
        at = min(invitation.send_at + timedelta(hours=rng.uniform(0.2, 30)), now)
        try:
            survey_respond(
                invitation=invitation,
                score=score,
                reason_ids=[r.pk for r in reasons if r.fits(score) and rng.random() < 0.4],
                comment=COMMENTS.get(score, ""),
                nps=min(10, max(0, score * 2 + rng.randint(-1, 1))),
                now=at,
            )
        except (SurveyClosed, AlreadyAnswered):
            continue
        answered += 1
    return answered

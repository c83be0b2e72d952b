"""Satisfaction surveys: what is asked (templates and their preset reasons), how each
department surveys (settings), who was asked about which resolution (invitations), what
they answered (responses) and what the department did about a low score (follow-ups).

An invitation's state is derived from its timestamps (`state_at(now)`): answering and
expiry never wait for a Celery task to run on time.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from tickets.models import Department, Ticket

SCORES = (1, 2, 3, 4, 5)
DEFAULT_LABELS = (
    "Very dissatisfied",
    "Dissatisfied",
    "Neither satisfied nor dissatisfied",
    "Satisfied",
    "Very satisfied",
)


class SurveyTemplate(models.Model):
    """The questions. A department's settings may name one; otherwise the department's
    newest active template is used, then the newest active global one, then the defaults."""

    name = models.CharField(max_length=120)
    department = models.ForeignKey(
        Department,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="survey_templates",
        help_text="Empty: a global template any department may use.",
    )
    is_active = models.BooleanField(default=True)
    question = models.CharField(
        max_length=200, default="How satisfied are you with how your request was handled?"
    )
    label_1 = models.CharField("label for 1", max_length=60, default=DEFAULT_LABELS[0])
    label_2 = models.CharField("label for 2", max_length=60, default=DEFAULT_LABELS[1])
    label_3 = models.CharField("label for 3", max_length=60, default=DEFAULT_LABELS[2])
    label_4 = models.CharField("label for 4", max_length=60, default=DEFAULT_LABELS[3])
    label_5 = models.CharField("label for 5", max_length=60, default=DEFAULT_LABELS[4])
    allow_comment = models.BooleanField("ask for a comment", default=True)
    comment_prompt = models.CharField(
        max_length=200, default="Anything you would like to tell us? (optional)"
    )
    ask_nps = models.BooleanField(
        "ask the recommendation question",
        default=False,
        help_text="An optional internal Net Promoter question on a 0-10 scale.",
    )
    nps_question = models.CharField(
        "recommendation question",
        max_length=200,
        default="How likely are you to recommend this department's service to a colleague?",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["department__name", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.department.name if self.department else 'global'})"

    def label_for(self, score: int) -> str:
        return str(getattr(self, f"label_{score}"))

    @property
    def score_choices(self) -> list[tuple[int, str]]:
        return [(score, self.label_for(score)) for score in SCORES]


class SurveyReason(models.Model):
    """A preset reason offered with the scores from `min_score` to `max_score`, such as
    “It took too long” for 1-2 or “Friendly and clear” for 4-5."""

    template = models.ForeignKey(SurveyTemplate, on_delete=models.CASCADE, related_name="reasons")
    label = models.CharField(max_length=100)
    min_score = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    max_score = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(min_score__gte=1, max_score__lte=5)
                & models.Q(min_score__lte=models.F("max_score")),
                name="survey_reason_score_range",
            )
        ]

    def __str__(self) -> str:
        return f"{self.label} ({self.min_score}-{self.max_score})"

    def fits(self, score: int) -> bool:
        return self.min_score <= score <= self.max_score


class SurveySettings(models.Model):
    """How one department surveys. A department without settings (or disabled) sends none."""

    department = models.OneToOneField(
        Department, on_delete=models.CASCADE, related_name="survey_settings"
    )
    enabled = models.BooleanField(default=True)
    template = models.ForeignKey(
        SurveyTemplate,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Empty: the department's newest active template, else the newest global one.",
    )
    delay_minutes = models.PositiveIntegerField(
        default=60,
        help_text="Wait this long after the resolution before the email goes out (a quick "
        "reopen withdraws it unsent).",
    )
    sample_percent = models.PositiveSmallIntegerField(
        "sample (%)",
        default=100,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text="Survey this share of resolutions.",
    )
    per_person_cap_days = models.PositiveSmallIntegerField(
        "at most one survey per person every (days)",
        default=14,
        help_text="Counts surveys from every department. 0: no limit.",
    )
    expiry_days = models.PositiveSmallIntegerField(
        default=14, validators=[MinValueValidator(1)], help_text="The link works this long."
    )
    reminder_days = models.PositiveSmallIntegerField(
        default=3,
        help_text="One reminder this many days after the invitation if unanswered (0: none; "
        "none either if it would come after the expiry).",
    )
    anonymous = models.BooleanField(
        default=False,
        help_text="The department sees answers without the requester's name or request "
        "(unless the requester agrees to be contacted), and no breakdown of fewer answers "
        "than the minimum group size.",
    )
    min_group_size = models.PositiveSmallIntegerField(default=5, validators=[MinValueValidator(2)])
    low_score_threshold = models.PositiveSmallIntegerField(
        default=2,
        validators=[MinValueValidator(0), MaxValueValidator(5)],
        help_text="A score this low or lower creates a follow-up for the leads (0: never).",
    )

    class Meta:
        verbose_name = "department survey settings"
        verbose_name_plural = "department survey settings"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(sample_percent__gte=1, sample_percent__lte=100),
                name="survey_settings_sample_percent",
            ),
            models.CheckConstraint(
                condition=models.Q(expiry_days__gte=1), name="survey_settings_expiry"
            ),
        ]

    def __str__(self) -> str:
        return f"Surveys of {self.department.name}"

    def clean(self) -> None:
        if (
            self.template is not None
            and self.template.department_id is not None
            and self.template.department_id != self.department_id
        ):
            raise ValidationError(
                {"template": "Choose a global template or one of this department."}
            )


class SurveyInvitation(models.Model):
    """One survey of one resolution of a ticket. The token is never stored: see
    surveys/tokens.py."""

    class State(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"  # the email has not gone out yet
        OPEN = "open", "Open"
        ANSWERED = "answered", "Answered"
        EXPIRED = "expired", "Expired"
        WITHDRAWN = "withdrawn", "Withdrawn (reopened)"

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="survey_invitations")
    # 1 for the first resolution, 2 after one reopen, ... (the ticket's reopen_count + 1).
    resolution = models.PositiveSmallIntegerField()
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="+")
    requesting_department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="survey_invitations"
    )
    template = models.ForeignKey(
        SurveyTemplate, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Random per invitation; the link's token is an HMAC of it under SECRET_KEY.
    token_seed = models.CharField(max_length=64, editable=False)
    # SHA-256 of the token: how a link finds its invitation.
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    # Whether every SLA clock the department ran on the ticket was met without a breach,
    # at the resolution; None when the ticket had no SLA there.
    sla_met = models.BooleanField(null=True)
    # The department's anonymity when the requester was asked: what the survey page
    # promised them holds even if the setting changes later.
    anonymous = models.BooleanField(default=False)
    created_at = models.DateTimeField()
    send_at = models.DateTimeField()
    reminder_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    # The answer's figures, copied from the response by `survey_respond` when it is
    # recorded (the response is never edited): the statistics count the invitations
    # alone, index-only (survey_inv_stats), without joining every answer.
    score = models.PositiveSmallIntegerField(null=True, blank=True, editable=False)
    nps = models.PositiveSmallIntegerField(null=True, blank=True, editable=False)
    commented = models.BooleanField(default=False, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["ticket", "resolution"], name="survey_invitation_once_per_resolution"
            ),
            models.CheckConstraint(
                condition=models.Q(resolution__gte=1), name="survey_invitation_resolution"
            ),
            models.CheckConstraint(
                condition=models.Q(expires_at__gt=models.F("send_at")),
                name="survey_invitation_expires_after_sending",
            ),
            models.CheckConstraint(
                condition=models.Q(score__isnull=True)
                | models.Q(score__gte=1, score__lte=5, answered_at__isnull=False),
                name="survey_invitation_score_answered",
            ),
        ]
        indexes = [
            # The per-person cap and "my pending surveys".
            models.Index(fields=["requester", "-created_at"], name="survey_inv_requester"),
            # Statistics over a period.
            models.Index(fields=["department", "created_at"], name="survey_inv_department"),
            # Every survey figure (surveys.stats): what they count and group by, so a
            # period's figures are one index-only range read.
            models.Index(
                fields=["department", "created_at"],
                name="survey_inv_stats",
                include=["requesting_department", "sla_met", "anonymous", "score", "nps"],
                condition=models.Q(withdrawn_at__isnull=True),
            ),
            # The lead dashboard's latest comments: read newest first, index-only (the
            # period's test on created_at included), a few rows.
            models.Index(
                fields=["department", "-answered_at", "-id"],
                name="survey_inv_commented",
                include=["created_at"],
                condition=models.Q(commented=True, withdrawn_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"Survey of {self.ticket.reference} (resolution {self.resolution})"

    def state_at(self, now: datetime) -> str:
        if self.answered_at is not None:
            return self.State.ANSWERED
        if self.withdrawn_at is not None:
            return self.State.WITHDRAWN
        if now >= self.expires_at:
            return self.State.EXPIRED
        if now < self.send_at:
            return self.State.SCHEDULED
        return self.State.OPEN

    def is_answerable_at(self, now: datetime) -> bool:
        return self.state_at(now) in (self.State.SCHEDULED, self.State.OPEN)


class SurveyResponse(models.Model):
    """The answer to one invitation (UNIQUE: a double submit records one)."""

    invitation = models.OneToOneField(
        SurveyInvitation, on_delete=models.CASCADE, related_name="response"
    )
    score = models.PositiveSmallIntegerField()
    # The labels of the preset reasons chosen, as they read when answered.
    reasons = models.JSONField(default=list, blank=True)
    comment = models.TextField(blank=True)
    nps = models.PositiveSmallIntegerField("recommendation (0-10)", null=True, blank=True)
    # In an anonymous department: the requester agreed to be contacted about this answer.
    may_contact = models.BooleanField(default=False)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(score__gte=1, score__lte=5), name="survey_response_score"
            ),
            models.CheckConstraint(
                condition=models.Q(nps__isnull=True) | models.Q(nps__lte=10),
                name="survey_response_nps",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.score}/5 for {self.invitation}"


class FollowUp(models.Model):
    """A low score, for the department's leads to act on and close with a note."""

    response = models.OneToOneField(
        SurveyResponse, on_delete=models.CASCADE, related_name="follow_up"
    )
    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField()
    notes = models.TextField(blank=True, help_text="What was done.")
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "follow-up"
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["department", "-created_at"],
                name="survey_followup_open",
                condition=models.Q(closed_at__isnull=True),
            )
        ]

    def __str__(self) -> str:
        return f"Follow-up of {self.response}"

    @property
    def is_open(self) -> bool:
        return self.closed_at is None

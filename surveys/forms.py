from __future__ import annotations

from typing import Any

from django import forms

from surveys.models import SurveyReason, SurveyTemplate
from surveys.services import MAX_COMMENT


class SurveyAnswerForm(forms.Form):
    """The survey: the questions and reasons come from the invitation's template; the
    comment, recommendation and contact questions only when the survey asks them."""

    score = forms.TypedChoiceField(
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose a score.", "invalid_choice": "Choose a score."},
    )
    reasons = forms.TypedMultipleChoiceField(
        coerce=int, required=False, widget=forms.CheckboxSelectMultiple
    )
    comment = forms.CharField(
        required=False, max_length=MAX_COMMENT, widget=forms.Textarea(attrs={"rows": 4})
    )
    nps = forms.TypedChoiceField(
        coerce=int, required=False, empty_value=None, widget=forms.RadioSelect
    )
    may_contact = forms.BooleanField(
        required=False, label="You may contact me about this answer (this shares my name)."
    )

    def __init__(
        self,
        *args: Any,
        template: SurveyTemplate,
        reasons: list[SurveyReason],
        anonymous: bool,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.template = template
        self.reason_list = reasons
        self.fields["score"].label = template.question
        self.fields["score"].choices = template.score_choices  # type: ignore[attr-defined]
        self.fields["reasons"].choices = [  # type: ignore[attr-defined]
            (reason.pk, reason.label) for reason in reasons
        ]
        self.fields["reasons"].label = "What made the difference?"
        if not reasons:
            del self.fields["reasons"]
        if template.allow_comment:
            self.fields["comment"].label = template.comment_prompt
        else:
            del self.fields["comment"]
        if template.ask_nps:
            self.fields["nps"].label = template.nps_question
            self.fields["nps"].choices = [(n, str(n)) for n in range(11)]  # type: ignore[attr-defined]
        else:
            del self.fields["nps"]
        if not anonymous:
            del self.fields["may_contact"]

    def reason_rows(self) -> list[tuple[SurveyReason, bool, bool]]:
        """Each preset reason, whether it is ticked, and whether it is shown: those that
        fit the chosen score (all before one is chosen); surveys.js follows the choice."""
        ticked = set(self.data.getlist("reasons")) if self.is_bound else set()  # type: ignore[attr-defined]
        score = self.selected_score()
        return [
            (reason, str(reason.pk) in ticked, score is None or reason.fits(score))
            for reason in self.reason_list
        ]

    def selected_score(self) -> int | None:
        """The score to show as chosen: the submitted one, else the one from the link."""
        value = self.data.get("score") if self.is_bound else self.initial.get("score")
        try:
            return int(value) if value not in (None, "") else None
        except (TypeError, ValueError):
            return None


class FollowUpCloseForm(forms.Form):
    notes = forms.CharField(
        label="What was done",
        max_length=MAX_COMMENT,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "Say what was done."},
    )

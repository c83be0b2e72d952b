from __future__ import annotations

from datetime import date, timedelta

from django import forms

DEFAULT_DAYS = 30
MAX_DAYS = 366


class PeriodForm(forms.Form):
    """The dashboard's date range: whole local days, both ends included."""

    first_day = forms.DateField(label="From", widget=forms.DateInput(attrs={"type": "date"}))
    last_day = forms.DateField(label="To", widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        first, last = data.get("first_day"), data.get("last_day")
        if isinstance(first, date) and isinstance(last, date):
            if last < first:
                raise forms.ValidationError("The period ends before it starts.")
            if (last - first).days >= MAX_DAYS:
                raise forms.ValidationError(f"Choose a period of at most {MAX_DAYS} days.")
        return data


def default_period(today: date) -> tuple[date, date]:
    """The last 30 days, today included."""
    return today - timedelta(days=DEFAULT_DAYS - 1), today

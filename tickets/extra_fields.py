"""Extra fields of a request type: one definition of how each kind is rendered and
validated, used by the filing form and the API alike."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from tickets.models import RequestField

YES_NO_CHOICES = [("", "—"), ("yes", "Yes"), ("no", "No")]


def _yes_no(value: Any) -> bool | None:
    if value in (True, "yes", "true", "True", "1", 1):
        return True
    if value in (False, "no", "false", "False", "0", 0):
        return False
    return None


def form_field_for(field: RequestField) -> forms.Field:
    common: dict[str, Any] = {
        "label": field.label,
        "required": field.required,
        "help_text": field.help_text,
    }
    kind = RequestField.Kind
    if field.kind == kind.TEXT:
        return forms.CharField(max_length=500, **common)
    if field.kind == kind.LONG_TEXT:
        return forms.CharField(max_length=5000, widget=forms.Textarea(attrs={"rows": 4}), **common)
    if field.kind == kind.CHOICE:
        options = [(c, c) for c in field.choice_list]
        return forms.ChoiceField(choices=[("", "—"), *options], **common)
    if field.kind == kind.DATE:
        return forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), **common)
    if field.kind == kind.NUMBER:
        return forms.DecimalField(max_digits=18, decimal_places=4, **common)
    if field.kind == kind.YES_NO:
        return forms.TypedChoiceField(
            choices=YES_NO_CHOICES, coerce=_yes_no, empty_value=None, **common
        )
    raise ValueError(f"unknown field kind {field.kind!r}")


def _checker(field: RequestField) -> forms.Field:
    """`form_field_for(field)`, built once per field instance: a filing reads the request
    type's fields from the configuration cache (the same instances until the
    configuration changes), and building Django form fields was most of checking the
    answers. Only `clean` is called on it (no state kept between calls); a form renders
    fields of its own."""
    checker: forms.Field | None = field.__dict__.get("_checker")
    if checker is None:
        checker = field.__dict__["_checker"] = form_field_for(field)
    return checker


def _to_json(value: Any) -> Any:
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def _is_empty(value: Any) -> bool:
    return value in (None, "", [])


def check_extra_fields(
    *, fields: Iterable[RequestField], values: Mapping[str, Any]
) -> dict[str, Any]:
    """Validate answers to a request type's extra fields; return them ready to store.

    Raises ValidationError with a message per field key; unknown keys are refused.
    """
    fields = list(fields)
    known = {f.key for f in fields}
    errors: dict[str, list[str]] = {}
    for key in values:
        if key not in known:
            errors[key] = ["This request type has no such field."]
    cleaned: dict[str, Any] = {}
    for field in fields:
        raw = values.get(field.key)
        if field.kind == RequestField.Kind.YES_NO and isinstance(raw, bool):
            raw = "yes" if raw else "no"
        elif isinstance(raw, int | float) and not isinstance(raw, bool):
            raw = str(raw)
        try:
            value = _checker(field).clean(raw)
        except ValidationError as error:
            errors[field.key] = list(error.messages)
            continue
        if not _is_empty(value):
            cleaned[field.key] = _to_json(value)
    if errors:
        raise ValidationError(errors)
    return cleaned

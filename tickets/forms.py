from __future__ import annotations

from typing import Any

from django import forms

from accounts.models import User
from tickets.extra_fields import form_field_for
from tickets.models import Department, Membership, Priority, RequestType, Ticket
from tickets.selectors import department_time_zone, local_days

EXTRA_PREFIX = "extra__"


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input; validation of size and type is the service's job."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        if not data:
            return []
        files = data if isinstance(data, list | tuple) else [data]
        return [super(MultipleFileField, self).clean(item, initial) for item in files]


class TicketCreateForm(forms.Form):
    title = forms.CharField(max_length=200, help_text="One line that says what you need.")
    description = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text="Markdown is supported.",
    )
    on_behalf_of = forms.ModelChoiceField(
        queryset=User.objects.filter(is_active=True),
        required=False,
        empty_label="Myself",
        label="On behalf of",
        help_text="Filing for a colleague? Choose them here; they become the requester.",
    )
    attachments = MultipleFileField(label="Attachments")

    def __init__(self, *args: Any, request_type: RequestType, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.request_type = request_type
        for field in request_type.fields.all():
            self.fields[EXTRA_PREFIX + field.key] = form_field_for(field)
        # Keep the attachments input last, after the request type's own questions.
        self.fields["attachments"] = self.fields.pop("attachments")

    def extra_values(self) -> dict[str, Any]:
        """The raw answers, keyed by field key, for the service to validate and store."""
        return {
            name.removeprefix(EXTRA_PREFIX): self.data.get(name, "")
            for name in self.fields
            if name.startswith(EXTRA_PREFIX)
        }

    def extra_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.fields if name.startswith(EXTRA_PREFIX)]


class ReplyForm(forms.Form):
    body = forms.CharField(
        label="Message", required=False, widget=forms.Textarea(attrs={"rows": 5})
    )
    is_internal = forms.BooleanField(label="Internal note (only agents see it)", required=False)
    then_status = forms.ChoiceField(
        label="Then set status",
        required=False,
        choices=[
            ("", "Keep status"),
            (Ticket.Status.WAITING, "Waiting on requester"),
            (Ticket.Status.RESOLVED, "Resolved"),
        ],
    )
    attachments = MultipleFileField(label="Attachments")


class StatusForm(forms.Form):
    status = forms.ChoiceField(choices=Ticket.Status.choices)
    note = forms.CharField(required=False, max_length=500)


class AssignForm(forms.Form):
    assignee = forms.ModelChoiceField(queryset=User.objects.none(), required=False)

    def __init__(self, *args: Any, department: Department, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = User.objects.filter(  # type: ignore[attr-defined]
            is_active=True, memberships__department=department
        ).order_by("first_name", "last_name")
        self.fields["assignee"].empty_label = "Unassigned"  # type: ignore[attr-defined]


class PriorityForm(forms.Form):
    priority = forms.TypedChoiceField(choices=Priority.choices, coerce=int)


class TransferForm(forms.Form):
    request_type = forms.ModelChoiceField(
        queryset=RequestType.objects.none(), label="Move to", empty_label="Choose a request type"
    )
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=1000)

    def __init__(self, *args: Any, ticket: Ticket, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["request_type"].queryset = (  # type: ignore[attr-defined]
            RequestType.objects.filter(is_active=True, department__is_active=True)
            .exclude(pk=ticket.request_type_id)
            .select_related("department")
            .order_by("department__name", "position", "name")
        )


class WatcherForm(forms.Form):
    watcher = forms.ModelChoiceField(
        queryset=User.objects.filter(is_active=True), empty_label="Choose a person"
    )


STATUS_FILTER_CHOICES = [
    ("", "All statuses"),
    ("active", "Active (new, open, waiting)"),
    *Ticket.Status.choices,
]


SLA_FILTER_CHOICES = [("", "Any"), ("at_risk", "At risk"), ("breached", "Breached")]
SORT_CHOICES = [("", "Newest"), ("due", "Due soonest")]


class QueueFilterForm(forms.Form):
    """The agent queue's filters and order; cleaned data goes to the selector as it is."""

    q = forms.CharField(required=False, label="Search", max_length=200)
    status = forms.ChoiceField(required=False, choices=STATUS_FILTER_CHOICES)
    priority = forms.TypedChoiceField(
        required=False,
        choices=[("", "Any priority"), *Priority.choices],
        coerce=int,
        empty_value=None,
    )
    assignee = forms.ChoiceField(required=False)
    request_type = forms.ModelChoiceField(
        required=False, queryset=RequestType.objects.none(), empty_label="Any request type"
    )
    requesting_department = forms.ModelChoiceField(
        required=False, queryset=Department.objects.all(), empty_label="Any requesting dept."
    )
    sla = forms.ChoiceField(
        required=False, choices=SLA_FILTER_CHOICES, label="SLA", widget=forms.RadioSelect
    )
    sort = forms.ChoiceField(required=False, choices=SORT_CHOICES, label="Sort")
    # Local days of the department's time zone, both included.
    created_from = forms.DateField(
        required=False, label="Filed from", widget=forms.DateInput(attrs={"type": "date"})
    )
    created_to = forms.DateField(
        required=False, label="Filed to", widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args: Any, department: Department, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.department = department
        members = (
            Membership.objects.filter(department=department, user__is_active=True)
            .select_related("user")
            .order_by("user__first_name", "user__last_name")
        )
        self.fields["assignee"].choices = [  # type: ignore[attr-defined]
            ("", "Anyone"),
            (str(user.pk), "Me"),
            ("none", "Unassigned"),
            *[(str(m.user_id), str(m.user)) for m in members if m.user_id != user.pk],
        ]
        self.fields["request_type"].queryset = department.request_types.all()  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        first, last = cleaned.get("created_from"), cleaned.get("created_to")
        if first and last and last < first:
            self.add_error("created_to", "The last day comes before the first.")
        return cleaned

    def selector_filters(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        for key in ("request_type", "requesting_department"):
            data[key] = data[key].pk if data.get(key) else None
        tz = department_time_zone(self.department)
        first, last = data.pop("created_from", None), data.pop("created_to", None)
        if first:
            data["created_since"] = local_days(first_day=first, last_day=first, tz=tz)[0]
        if last:
            data["created_until"] = local_days(first_day=last, last_day=last, tz=tz)[1]
        return data


class MyRequestsFilterForm(forms.Form):
    status = forms.ChoiceField(required=False, choices=STATUS_FILTER_CHOICES)

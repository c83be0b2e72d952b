from __future__ import annotations

from typing import Any

from django import forms

from accounts.models import User
from knowledge.models import Article, Category
from tickets.models import Department


class ArticleForm(forms.Form):
    title = forms.CharField(max_length=200)
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 16}),
        help_text="Markdown: **bold**, lists, `code`, [links](https://…), tables.",
    )
    category = forms.ModelChoiceField(
        queryset=Category.objects.none(), required=False, empty_label="No category"
    )
    status = forms.ChoiceField(
        choices=Article.Status.choices,
        help_text="Drafts are seen only by the department's agents.",
    )
    is_internal = forms.BooleanField(
        label="Internal only (the department's agents see it, employees never do)",
        required=False,
    )
    owner = forms.ModelChoiceField(
        queryset=User.objects.none(), help_text="Reminded to review the article, gets feedback."
    )

    def __init__(self, *args: Any, department: Department, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        category: forms.ModelChoiceField = self.fields["category"]  # type: ignore[assignment]
        category.queryset = Category.objects.filter(department=department)
        owner: forms.ModelChoiceField = self.fields["owner"]  # type: ignore[assignment]
        owner.queryset = User.objects.filter(
            is_active=True, memberships__department=department
        ).distinct()


class FeedbackForm(forms.Form):
    helpful = forms.TypedChoiceField(
        choices=[("yes", "Yes"), ("no", "No")], coerce=lambda value: value == "yes"
    )
    comment = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        label="Anything to add? (optional, goes to the article's owner)",
    )


class SearchForm(forms.Form):
    q = forms.CharField(label="Search the knowledge base", max_length=200, required=False)
    department = forms.CharField(required=False, max_length=10)

"""Personal API tokens in the browser: list, make (shown once), revoke."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import User
from api.forms import TokenForm
from api.models import ApiToken
from api.services import api_token_create, api_token_revoke

NEW_TOKEN_KEY = "api_new_token"  # noqa: S105 (a session key, not a secret)


@login_required
@require_http_methods(["GET", "POST"])
def tokens(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            token, raw = api_token_create(
                user=user, name=form.cleaned_data["name"], created_by=user
            )
        except ValidationError as error:
            for field, errors in error.message_dict.items():
                for message in errors:
                    form.add_error(field if field in form.fields else None, message)
        else:
            # Shown once, on the page the browser is sent to; never stored.
            request.session[NEW_TOKEN_KEY] = {"name": token.name, "token": raw}
            return redirect("api:tokens")
    new_token = request.session.pop(NEW_TOKEN_KEY, None)
    context = {
        "form": form,
        "new_token": new_token,
        "tokens": ApiToken.objects.filter(user=user).order_by("revoked_at", "-created_at"),
    }
    return render(request, "api/tokens.html", context, status=400 if form.errors else 200)


@login_required
@require_POST
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    token = ApiToken.objects.filter(pk=token_id, user=user).first()
    if token is None:
        raise Http404("No such token.")
    api_token_revoke(token=token, actor=user)
    messages.success(request, f"“{token.name}” is revoked: requests with it are refused.")
    return redirect("api:tokens")

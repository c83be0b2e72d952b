from typing import Any

from django.http import HttpRequest

from tickets.selectors import is_agent


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"nav_is_agent": is_agent(user)}  # type: ignore[arg-type]

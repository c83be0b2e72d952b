from typing import Any

from django.http import HttpRequest

from tickets.selectors import is_agent, user_lead_department_ids


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "nav_is_agent": is_agent(user),  # type: ignore[arg-type]
        "nav_is_lead": bool(user_lead_department_ids(user)),  # type: ignore[arg-type]
    }

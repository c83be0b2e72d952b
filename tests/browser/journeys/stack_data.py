"""What the journeys need that `seed_demo` does not have, configured as an admin would in
Django admin (plain ORM writes, validated with full_clean as admin validates them; the
same approach as tickets/management/demo_org.py). Run against the stack's own database
by stack.py (`manage.py shell -c "...; configure_journeys()"`) before its processes start.

The breach journey: Customer Support works round the clock (the demo's "Round the clock"
calendar, UTC, every day), so a one-minute target runs out one minute after filing, at any
hour. Its "Help-centre article" requests get a policy with a one-minute first response,
and a breach of that target makes the lead take the ticket over and tells the lead.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.db import transaction

from slas.models import EscalationAction, EscalationRule, SlaClock, SlaPolicy
from tickets.models import Department, RequestType

BREACH_DEPARTMENT = "CS"
BREACH_REQUEST_TYPE = "Help-centre article"
BREACH_POLICY = "Journeys: one-minute first response"
BREACH_RULE = "Lead takes over a late first response"
BREACH_NOTE = "The first answer is late: please take this one over now."


def signed_in_sessions(*, path: str) -> None:
    """A signed-in session for every demo person, their keys written to `path` as JSON.

    A shortcut, for speed: checking a password costs a PBKDF2 hash (about a second of CPU
    on CI's machine), and a journey signs a dozen people in. The journeys still sign in
    through the login form where the sign-in is part of the story (conftest.Journey)."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    from accounts.models import User

    keys = {}
    for user in User.objects.filter(is_active=True):
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        keys[user.username] = session.session_key
    Path(path).write_text(json.dumps(keys))


@transaction.atomic
def configure_journeys() -> None:
    department = Department.objects.select_related("calendar").get(code=BREACH_DEPARTMENT)
    assert department.calendar is not None and department.calendar.name == "Round the clock"
    request_type = RequestType.objects.get(department=department, name=BREACH_REQUEST_TYPE)
    policy = SlaPolicy(
        name=BREACH_POLICY,
        department=department,
        request_type=request_type,
        first_response_minutes=1,
        resolution_minutes=600,
    )
    policy.full_clean()
    policy.save()
    rule = EscalationRule(
        department=department,
        level=1,
        name=BREACH_RULE,
        trigger=EscalationRule.Trigger.BREACH,
        clock_kind=SlaClock.Kind.FIRST_RESPONSE,
    )
    rule.full_clean()
    rule.save()
    rule.request_types.set([request_type])
    actions = [
        EscalationAction(
            rule=rule,
            position=0,
            kind=EscalationAction.Kind.REASSIGN,
            target=EscalationAction.Target.LEADS,
        ),
        EscalationAction(
            rule=rule,
            position=1,
            kind=EscalationAction.Kind.NOTIFY,
            target=EscalationAction.Target.LEADS,
            text=BREACH_NOTE,
        ),
    ]
    for action in actions:
        action.full_clean()
        action.save()
    print(f"Configured for the journeys: {policy.name!r} and rule {rule}.")

"""`seed_scale --history`: the SLA clocks and surveys of a bulk-loaded history.

seed_scale lays tickets only; the dashboards read what their lives left behind: the
department's finished SLA clocks, the survey invitations sent at resolution, the answers
and the low-score follow-ups. For every ticket that has no SLA clock yet this lays, with
COPY and batch by batch (PostgreSQL only):

- resolved or closed: a first-response clock met at `first_response_at` and a
  resolution clock met at `resolved_at`, their business seconds counted in the
  department's calendar with the same function as the services (a third of them paused
  a while, waiting on the requester), breached when that is over the policy's target
  (then `breached_at` is when the target ran out, as the sweep records it);
- cancelled: both clocks stopped at the cancellation (breached if it came too late);
- open or waiting: the first-response clock met, the resolution clock running (paused
  while waiting), and new ones both running, their soonest deadline and at-risk instant
  copied onto the ticket as the services do (`sla_due_at`, `sla_at_risk_at`), so the
  live "at risk now" and "breached now" figures have something to count;
- about 30 % of the resolved or closed tickets get a survey invitation at their last
  resolution (after the default delay), about 40 % of those an answer (scores leaning
  high, some with a comment and a recommendation score), and every answer of 2 or less
  a follow-up, closed by a lead within days unless it is recent.

No segments, SLA events or outbox rows: the dashboards read none of them. Tickets of a
department without working time or without a policy get no clocks (as in the services).
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from datetime import datetime, timedelta
from typing import Any

from django.core.management.base import OutputWrapper
from django.db import connection, transaction

from slas.clock import add_business_time, business_seconds_between
from tickets.management.commands.seed_scale import _copy_table
from tickets.models import Department, Membership, RequestType, Ticket

BATCH = 20_000
INVITED = 0.30  # of the resolved or closed tickets
ANSWERED = 0.40  # of the invitations
PAUSED = 0.33  # of the resolution clocks: waited on the requester a while
SCORES = (1, 2, 3, 4, 5)
SCORE_WEIGHTS = (5, 6, 12, 32, 45)
LOW_SCORE = 2
COMMENTS = {
    1: ("Nobody told me anything for days.", "Closed without fixing it."),
    2: ("Took far too long.", "Had to explain it three times."),
    3: ("OK in the end.", "Fine, a bit slow."),
    4: ("Quick and friendly, thanks.", "Sorted out, thank you."),
    5: ("Excellent, thank you!", "Fixed within the hour, great."),
}
SURVEY_DELAY = timedelta(minutes=60)
SURVEY_EXPIRY = timedelta(days=14)

# A clock as _clocks builds it; the next check and the warning recorded (positions 12
# and 13) belong to the sweep's schedule rows, which this history does not lay: its
# open clocks are there for the dashboards' live counts, not for the sweep (the sweep's
# benchmarks lay their own desks with `seed_scale --open --clocks`).
CLOCK_COLUMNS = (
    "ticket_id", "department_id", "policy_id", "kind", "state", "target_seconds",
    "warning_percents", "started_at", "consumed_seconds", "running_since", "due_at",
    "at_risk_at", "met_at", "breached_at", "stopped_at", "stop_reason", "updated_at",
    "finished_requesting_department_id", "finished_request_type_id", "finished_assignee_id",
    "finished_priority",
)  # fmt: skip
SCHEDULE_FIELDS = slice(12, 14)
INVITATION_COLUMNS = (
    "id", "ticket_id", "resolution", "department_id", "requesting_department_id",
    "requester_id", "token_seed", "token_hash", "sla_met", "anonymous", "created_at",
    "send_at", "reminder_at", "expires_at", "sent_at", "reminded_at", "answered_at", "score",
    "nps", "commented",
)  # fmt: skip
RESPONSE_COLUMNS = (
    "id", "invitation_id", "score", "reasons", "comment", "nps", "may_contact", "created_at",
)  # fmt: skip
FOLLOW_UP_COLUMNS = (
    "response_id",
    "department_id",
    "created_at",
    "notes",
    "closed_by_id",
    "closed_at",
)


def lay_history(*, now: datetime, rng: random.Random, out: OutputWrapper) -> None:
    if connection.vendor != "postgresql":
        raise ValueError("--history needs PostgreSQL (it writes with COPY).")
    from slas.models import SlaClock
    from slas.services import calendars_for
    from surveys.models import FollowUp, SurveyInvitation, SurveyResponse

    calendars = calendars_for(Department.objects.values_list("pk", flat=True))
    leads: dict[int, list[int]] = {}
    for department_id, user_id in Membership.objects.filter(role=Membership.Role.LEAD).values_list(
        "department_id", "user_id"
    ):
        leads.setdefault(department_id, []).append(user_id)
    policies = PolicyLookup(now=now)
    sql = f"""
        SELECT t.id, t.department_id, t.request_type_id, t.requesting_department_id,
               t.requester_id, t.priority, t.status, t.created_at, t.first_response_at,
               t.resolved_at, t.closed_at, t.reopen_count, t.assignee_id
        FROM {Ticket._meta.db_table} t
        WHERE t.id > %s
          AND NOT EXISTS (SELECT 1 FROM {SlaClock._meta.db_table} c WHERE c.ticket_id = t.id)
        ORDER BY t.id LIMIT {BATCH}
    """  # noqa: S608
    started = time.monotonic()
    after_id = 0
    laid = {"clocks": 0, "invitations": 0, "responses": 0, "follow-ups": 0, "live": 0}
    while True:
        with connection.cursor() as cursor:
            cursor.execute(sql, [after_id])
            tickets = cursor.fetchall()
        if not tickets:
            break
        after_id = tickets[-1][0]
        clocks: list[tuple] = []
        invited: list[tuple] = []
        live: list[tuple[int, datetime | None, datetime | None]] = []
        for row in tickets:
            (pk, department_id, type_id, requesting_id, requester_id, priority, status,
             created, first_response, resolved, closed, reopens, assignee_id) = row  # fmt: skip
            calendar = calendars.get(department_id)
            if calendar is None or not calendar.has_working_time:
                continue
            policy = policies.find(department_id, type_id, requesting_id, priority)
            if policy is None:
                continue
            ticket_clocks = _clocks(
                pk=pk, department_id=department_id, policy=policy, status=status,
                created=created, first_response=first_response, resolved=resolved,
                closed=closed, now=now, calendar=calendar, rng=rng,
            )  # fmt: skip
            # A finished clock records the ticket as it was (SlaClock.finished_*): here
            # as it is, nothing having changed since.
            finished = (requesting_id, type_id, assignee_id, priority)
            ticket_clocks = [
                (*c, *(finished if c[4] in ("met", "stopped") else (None,) * 4))
                for c in ticket_clocks
            ]
            clocks += ticket_clocks
            if status in (Ticket.Status.NEW, Ticket.Status.OPEN, Ticket.Status.WAITING):
                running = [c for c in ticket_clocks if c[4] == "running"]
                live.append(
                    (
                        pk,
                        min((c[10] for c in running), default=None),
                        min((c[11] for c in running), default=None),
                    )
                )
            elif resolved is not None and rng.random() < INVITED:
                sla_met = all(c[15] is None for c in ticket_clocks)
                invited.append((pk, department_id, requesting_id, requester_id, resolved,
                                reopens, sla_met))  # fmt: skip
        invitations, responses, follow_ups = _surveys(invited, now=now, leads=leads, rng=rng)
        with transaction.atomic():
            _copy_table(
                SlaClock._meta.db_table,
                CLOCK_COLUMNS,
                [row[: SCHEDULE_FIELDS.start] + row[SCHEDULE_FIELDS.stop :] for row in clocks],
            )
            _copy_table(SurveyInvitation._meta.db_table, INVITATION_COLUMNS, invitations)
            _copy_table(SurveyResponse._meta.db_table, RESPONSE_COLUMNS, responses)
            _copy_table(FollowUp._meta.db_table, FOLLOW_UP_COLUMNS, follow_ups)
            _copy_live(live)
        laid["clocks"] += len(clocks)
        laid["invitations"] += len(invitations)
        laid["responses"] += len(responses)
        laid["follow-ups"] += len(follow_ups)
        laid["live"] += len(live)
        summary = ", ".join(f"{name} {n:,}" for name, n in laid.items())
        if any(laid.values()):
            out.write(
                f"  up to ticket {after_id:,}: {summary} ({time.monotonic() - started:.0f} s)"
            )
        out.flush()
    if not any(laid.values()):
        out.write("Every ticket has its history already.")
        return
    # Statistics and the visibility map (index-only scans) for the planner.
    for model in (SlaClock, SurveyInvitation, SurveyResponse, FollowUp, Ticket):
        with connection.cursor() as cursor:
            cursor.execute(f"VACUUM ANALYZE {model._meta.db_table}")
    out.write(f"History laid in {time.monotonic() - started:.0f} s: {summary}.")


class PolicyLookup:
    """The SLA policy of a ticket with these values, as `slas.services.policy_for` picks
    it, once per distinct combination (the seeders lay millions of tickets over a few
    hundred combinations)."""

    def __init__(self, *, now: datetime) -> None:

        self.now = now
        self.request_types = {rt.pk: rt for rt in RequestType.objects.all()}
        self.found: dict[tuple[int, int, int | None, int], Any] = {}

    def find(
        self, department_id: int, type_id: int, requesting_id: int | None, priority: int
    ) -> Any:
        from slas.services import policy_for

        key = (department_id, type_id, requesting_id, priority)
        if key not in self.found:
            ticket = Ticket(
                department_id=department_id,
                request_type=self.request_types[type_id],
                requesting_department_id=requesting_id,
                priority=priority,
            )
            self.found[key] = policy_for(ticket=ticket, now=self.now)
        return self.found[key]


def _clocks(
    *, pk: int, department_id: int, policy: Any, status: str, created: datetime,
    first_response: datetime | None, resolved: datetime | None, closed: datetime | None,
    now: datetime, calendar: Any, rng: random.Random,
) -> list[tuple]:  # fmt: skip
    """The ticket's clocks in CLOCK_COLUMNS order, with the schedule's next check and
    warning recorded at SCHEDULE_FIELDS."""
    warnings = policy.warning_list
    last_warning = max(warnings, default=100)
    warnings_json = json.dumps(warnings)
    rows: list[tuple[Any, ...]] = []
    for kind, target, finished in (
        ("first_response", policy.first_response_minutes * 60, first_response or resolved),
        ("resolution", policy.resolution_minutes * 60, resolved),
    ):
        if status == Ticket.Status.CANCELLED:
            end, state = closed, "stopped"
        elif finished is not None and (
            kind == "first_response" or status in ("resolved", "closed")
        ):
            end, state = finished, "met"
        else:
            end, state = None, "paused" if status == Ticket.Status.WAITING else "running"
        if end is not None:
            used = business_seconds_between(created, end, calendar)
            if kind == "resolution" and rng.random() < PAUSED:
                used = int(used * rng.uniform(0.4, 0.95))  # waited on the requester
            breached = add_business_time(created, target, calendar) if used > target else None
            if breached is not None and breached > end:
                breached = end
            warned = last_warning if used * 100 >= target * last_warning else 0
            rows.append(
                (
                    pk, department_id, policy.pk, kind, state, target, warnings_json, created,
                    used, None, None, None, None, warned,
                    end if state == "met" else None, breached,
                    end if state == "stopped" else None,
                    "Cancelled" if state == "stopped" else "", end,
                )
            )  # fmt: skip
            continue
        if state == "paused":
            used = business_seconds_between(created, now, calendar) // 2
            breached = add_business_time(created, target, calendar) if used > target else None
            rows.append(
                (pk, department_id, policy.pk, kind, state, target, warnings_json, created, used,
                 None, None, None, None, 0, None, breached, None, "", now)
            )  # fmt: skip
            continue
        due = add_business_time(created, target, calendar)
        at_risk = add_business_time(created, target * last_warning // 100, calendar)
        upcoming = [instant for instant in (at_risk, due) if instant > now]
        rows.append(
            (
                pk, department_id, policy.pk, kind, state, target, warnings_json, created, 0,
                created, due, at_risk, min(upcoming, default=None),
                last_warning if at_risk <= now else 0, None, due if due <= now else None, None,
                "", created,
            )
        )  # fmt: skip
    return rows


def _surveys(
    invited: list[tuple], *, now: datetime, leads: dict[int, list[int]], rng: random.Random
) -> tuple[list[tuple], list[tuple], list[tuple]]:
    """Invitations, responses and follow-ups for the invited tickets, with ids reserved
    from the tables' sequences (a response names its invitation, a follow-up its
    response)."""
    from surveys.models import SurveyInvitation, SurveyResponse

    if not invited:
        return [], [], []
    invitation_ids = _reserve_ids(SurveyInvitation._meta.db_table, len(invited))
    invitations: list[tuple[Any, ...]] = []
    answered = []
    for invitation_id, ticket in zip(invitation_ids, invited, strict=True):
        pk, department_id, requesting_id, requester_id, resolved, reopens, sla_met = ticket
        send_at = resolved + SURVEY_DELAY
        expires_at = send_at + SURVEY_EXPIRY
        answered_at = None
        if rng.random() < ANSWERED:
            answered_at = send_at + timedelta(hours=rng.expovariate(1 / 20))
            if answered_at >= min(expires_at, now):
                answered_at = None
        seed = f"{rng.getrandbits(256):064x}"
        invitations.append(
            (
                invitation_id, pk, reopens + 1, department_id, requesting_id, requester_id, seed,
                hashlib.sha256(seed.encode()).hexdigest(), sla_met, False, resolved, send_at,
                send_at + timedelta(days=3), expires_at, send_at if send_at <= now else None,
                None, answered_at, None, None, False,
            )
        )  # fmt: skip
        if answered_at is not None:
            answered.append((invitation_id, department_id, answered_at, sla_met))
    response_ids = _reserve_ids(SurveyResponse._meta.db_table, len(answered))
    positions = {invitation_id: i for i, invitation_id in enumerate(invitation_ids)}
    responses: list[tuple[Any, ...]] = []
    follow_ups: list[tuple[Any, ...]] = []
    for response_id, (invitation_id, department_id, answered_at, sla_met) in zip(
        response_ids, answered, strict=True
    ):
        weights = SCORE_WEIGHTS if sla_met else (12, 12, 18, 30, 28)
        score = rng.choices(SCORES, weights)[0]
        comment = rng.choice(COMMENTS[score]) if rng.random() < 0.3 else ""
        nps = min(10, max(0, round(score * 2 + rng.gauss(0, 1.5)))) if rng.random() < 0.6 else None
        responses.append(
            (response_id, invitation_id, score, "[]", comment, nps, False, answered_at)
        )
        # The invitation carries its answer's figures (as surveys.services.survey_respond
        # copies them).
        position = positions[invitation_id]
        invitations[position] = (*invitations[position][:-3], score, nps, bool(comment))
        if score <= LOW_SCORE:
            closed_at = answered_at + timedelta(days=rng.uniform(0.5, 6))
            lead = rng.choice(leads.get(department_id) or [None])
            if closed_at > now or lead is None:
                follow_ups.append((response_id, department_id, answered_at, "", None, None))
            else:
                notes = "Called the requester; explained what happened."
                follow_ups.append((response_id, department_id, answered_at, notes, lead, closed_at))
    return invitations, responses, follow_ups


def _reserve_ids(table: str, count: int) -> list[int]:
    if not count:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [table, count],
        )
        return [row[0] for row in cursor.fetchall()]


def _copy_live(live: list[tuple[int, datetime | None, datetime | None]]) -> None:
    """The open tickets' soonest running deadline and at-risk instant, as the services
    copy them onto the ticket for the queue."""
    if not live:
        return
    table = Ticket._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMPORARY TABLE seed_live (id bigint, due timestamptz, risk timestamptz) "
            "ON COMMIT DROP"
        )

        _copy_table("seed_live", ("id", "due", "risk"), live)
        cursor.execute(
            f"UPDATE {table} t SET sla_due_at = l.due, sla_at_risk_at = l.risk "  # noqa: S608
            "FROM seed_live l WHERE t.id = l.id"
        )

"""Every change to a ticket, each in one function.

Each service checks who may do it, locks the ticket row, writes the change, records the
audit event and queues notifications in the outbox, all in one transaction. A refused
change raises before anything is written. Views, the API, admin actions and Celery
tasks call these; none of them writes ticket models itself.
"""

from __future__ import annotations

import functools
import mimetypes
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.db.models import Field, Q
from django.template.defaultfilters import filesizeformat
from django.utils import timezone

from accounts.models import User
from outbox.services import outbox_enqueue_many
from servicedesk.db import execute_prepared, pg_array
from tickets import hooks
from tickets.extra_fields import check_extra_fields
from tickets.markdown import render_markdown
from tickets.models import (
    Attachment,
    Comment,
    Department,
    Membership,
    Priority,
    RequestType,
    Ticket,
    TicketEvent,
)
from tickets.notifications import notification_messages, notify
from tickets.selectors import can_view, can_work, user_memberships_known, user_memberships_sql

Status = Ticket.Status
MAX_BODY = 20_000


class TransitionRefused(Exception):
    """A status change that the lifecycle does not allow; nothing was changed."""


# Which statuses each status may move to. Who may make each move is in _check_transition.
TRANSITIONS: dict[str, set[str]] = {
    Status.NEW: {Status.OPEN, Status.WAITING, Status.RESOLVED, Status.CANCELLED},
    Status.OPEN: {Status.WAITING, Status.RESOLVED},
    Status.WAITING: {Status.OPEN, Status.RESOLVED},
    Status.RESOLVED: {Status.OPEN, Status.CLOSED},
    Status.CLOSED: set(),
    Status.CANCELLED: set(),
}


# --- Filing -------------------------------------------------------------------------


def ticket_create(
    *,
    created_by: User,
    request_type: RequestType,
    title: str,
    description: str,
    requester: User | None = None,
    priority: int | None = None,
    extra: Mapping[str, Any] | None = None,
    attachments: Sequence[UploadedFile] = (),
    now: datetime | None = None,
) -> Ticket:
    """File a request to the request type's department.

    `requester` defaults to `created_by`; filing on behalf of someone else makes the filer
    a watcher. The requesting department is a snapshot of the requester's home department.
    Raises ValidationError (per field) for bad input; nothing is written then.
    """
    now = now or timezone.now()
    requester = requester or created_by
    department = request_type.department
    errors: dict[str, list[str]] = {}
    title = (title or "").strip()
    description = (description or "").strip()
    if not title:
        errors["title"] = ["Give your request a short title."]
    elif len(title) > 200:
        errors["title"] = ["Keep the title under 200 characters."]
    if not description:
        errors["description"] = ["Describe what you need."]
    elif len(description) > MAX_BODY:
        errors["description"] = [f"Keep the description under {MAX_BODY} characters."]
    if not (department.is_active and request_type.is_active):
        errors["request_type"] = ["This request type is not accepting requests."]
    if priority is not None and priority not in Priority.values:
        errors["priority"] = ["Choose a priority from the list."]
    if not requester.is_active:
        errors["requester"] = ["This person's account is inactive."]
    try:
        cleaned_extra = check_extra_fields(fields=request_type.fields.all(), values=extra or {})
    except ValidationError as error:
        cleaned_extra = {}
        errors.update({f"extra.{key}": msgs for key, msgs in error.message_dict.items()})
    try:
        check_attachments(attachments)
    except ValidationError as error:
        errors["attachments"] = error.messages
    if errors:
        raise ValidationError(errors)

    with transaction.atomic():
        # The number, the round-robin agent and the department's row lock in one
        # statement; the agent is chosen before the ticket is written, so the ticket is
        # inserted with its assignee (one write instead of an insert and an update).
        department, assignee = _take_turn(department_id=department.pk, take_number=True)
        if department.assignment == Department.Assignment.FEWEST_OPEN:
            assignee = pick_agent(department=department)
        ticket = Ticket(
            reference=f"{department.code}-{department.ticket_sequence}",
            department=department,
            request_type=request_type,
            requesting_department_id=requester.home_department_id,
            requester=requester,
            created_by=created_by,
            assignee=assignee,
            title=title,
            description=description,
            description_html=render_markdown(description),
            extra=cleaned_extra,
            priority=priority or request_type.default_priority,
            status=Status.NEW,
            created_at=now,
            updated_at=now,
            status_changed_at=now,
        )
        # What other apps keep on the ticket row (its SLA deadlines) before it is
        # written; the ticket and its audit events in one statement, their emails (the
        # receipt, the assignee's) in another, then what other apps derive, in the order
        # of the events.
        hooks.ticket_filing(ticket=ticket, now=now)
        event = _event(ticket, created_by, TicketEvent.Action.CREATED, now=now)
        assigned = _assignment_event(ticket=ticket, actor=None, old=None, now=now)
        _insert_filed(ticket, [event, *([assigned] if assignee else [])])
        if created_by.pk != requester.pk:
            ticket.watchers.add(created_by)
        _save_attachments(ticket=ticket, comment=None, user=created_by, files=attachments, now=now)
        messages = notification_messages(
            event=event,
            recipients=[requester],
            headline=f"Your request to {department.name} was received.",
            include_actor=True,
        )
        if assignee is not None:
            messages += _assignment_messages(assigned)
        outbox_enqueue_many(messages=messages)
        if assignee is not None:
            _assignment_hook(ticket=ticket, actor=None, old=None, event=assigned, now=now)
        hooks.ticket_changed(
            hooks.TicketChange(
                kind=hooks.CREATED, ticket=ticket, now=now, actor=created_by, event_id=event.pk
            )
        )
    return ticket


def _insert_filed(ticket: Ticket, events: list[TicketEvent]) -> None:
    """Insert a new ticket and its audit events (of distinct actions), setting their ids.

    On PostgreSQL one statement (the events' INSERT selects the ticket's id from the
    ticket's, a data-modifying CTE): the ORM's insert and bulk_create were more Python to
    build than to run. Elsewhere those two.
    """
    # The connection itself, not django.db.connection: each attribute of that proxy is
    # looked up through a context-local (asgiref), and the fields' get_db_prep_save ask
    # it several times each (measured: half of this function's Python).
    db = connections[DEFAULT_DB_ALIAS]
    if db.vendor != "postgresql":
        ticket.save(force_insert=True)
        for event in events:
            event.ticket = ticket
        TicketEvent.objects.bulk_create(events)
        return
    fields, sql = _filed_statement()
    values = [f.get_db_prep_save(f.pre_save(ticket, add=True), db) for f in fields]
    columns: list[list[Any]] = [
        [e.actor_id for e in events],
        [e.action for e in events],
        [e.old_value for e in events],
        [e.new_value for e in events],
        [e.message for e in events],
        [e.created_at for e in events],
    ]
    with db.cursor() as cursor:
        params = [*values, *(pg_array(column) for column in columns)]
        execute_prepared(cursor, label="ticket_filed", sql=sql, params=params)
        rows = cursor.fetchall()
    ticket.pk = rows[0][0]
    ticket._state.adding, ticket._state.db = False, db.alias
    ids = {action: pk for _, pk, action in rows}
    for event in events:
        event.ticket = ticket
        event.pk = ids[event.action]
        event._state.adding, event._state.db = False, db.alias


@functools.cache
def _filed_statement() -> tuple[list[Field[Any, Any]], str]:
    """`_insert_filed`'s ticket fields (all but the id) and its PostgreSQL statement."""
    q = connections[DEFAULT_DB_ALIAS].ops.quote_name
    fields = [f for f in Ticket._meta.concrete_fields if not f.primary_key]
    sql = (
        f"WITH t AS (INSERT INTO {q(Ticket._meta.db_table)} "  # noqa: S608 (names from the models)
        f"({', '.join(q(str(f.column)) for f in fields)}) "
        f"VALUES ({', '.join(['%s'] * len(fields))}) "
        f"RETURNING id), e AS (INSERT INTO {q(TicketEvent._meta.db_table)} (ticket_id, "
        "actor_id, action, old_value, new_value, message, created_at) SELECT t.id, v.* "
        "FROM t, unnest(%s::bigint[], %s::text[], %s::text[], %s::text[], %s::text[], "
        "%s::timestamptz[]) AS v RETURNING id, action) SELECT t.id, e.id, e.action FROM t, e"
    )
    return fields, sql


def _take_turn(*, department_id: int, take_number: bool) -> tuple[Department, User | None]:
    """The department row updated in one UPDATE … RETURNING: its next ticket number taken
    (`take_number`) and, if it assigns by round robin, its next agent chosen and its
    pointer moved; returned with that agent (None: nobody available, or another rule).

    The UPDATE locks the row until commit (FOR NO KEY UPDATE: the number is not a key, so
    the requesting-department foreign-key checks of other filings do not wait for it), so
    numbers stay unique and gapless per department. A filing that waited for the lock has
    its SET evaluated again on the row the other one committed (PostgreSQL's re-check of
    an updated row), so round robin moves on from the agent that one got. On PostgreSQL
    the agent's row comes back in the same statement; on SQLite in one more query.
    """
    d = Department._meta.db_table
    u = User._meta.db_table
    m = Membership._meta.db_table
    agents = (
        f"FROM {u} JOIN {m} ON {m}.user_id = {u}.id WHERE {m}.department_id = {d}.id "
        f"AND {m}.role = %(agent)s AND {m}.is_available AND {u}.is_active"
    )
    columns = [str(f.column) for f in Department._meta.concrete_fields]
    update = (
        f"UPDATE {d} SET ticket_sequence = ticket_sequence + %(step)s, "  # noqa: S608
        "last_assigned_to_id = CASE WHEN assignment = %(round_robin)s THEN COALESCE("
        f"(SELECT MIN({u}.id) {agents} AND {u}.id > {d}.last_assigned_to_id), "
        f"(SELECT MIN({u}.id) {agents}), last_assigned_to_id) ELSE last_assigned_to_id END "
        f"WHERE id = %(department)s RETURNING {', '.join(columns)}, "
        f"CASE WHEN assignment = %(round_robin)s AND EXISTS (SELECT 1 {agents}) "
        "THEN last_assigned_to_id END AS picked"
    )
    params = {
        "step": 1 if take_number else 0,
        "round_robin": Department.Assignment.ROUND_ROBIN,
        "agent": Membership.Role.AGENT,
        "department": department_id,
    }
    db = connections[DEFAULT_DB_ALIAS]  # the connection itself (see _insert_filed)
    if db.vendor != "postgresql":
        department = next(iter(Department.objects.raw(update, params)))
        picked = department.picked  # type: ignore[attr-defined]
        return department, User.objects.filter(pk=picked).first() if picked else None
    # With the agent: their memberships (department ids, roles), which the email to them
    # checks (can_view) and would otherwise load in a query of their own.
    select = (
        f"WITH d AS ({update}) SELECT d.*, {_AGENT_COLUMNS} "  # noqa: S608
        f"FROM d LEFT JOIN {u} AS u ON u.id = d.picked"
    )
    with db.cursor() as cursor:
        execute_prepared(cursor, label="department_turn", sql=select, params=params)
        row = cursor.fetchone()
    department = Department.from_db(
        db.alias, [f.attname for f in Department._meta.concrete_fields], row[: len(columns)]
    )
    if row[len(columns)] is None:
        return department, None
    return department, _agent_from_row(row[len(columns) + 1 :])


# PostgreSQL: a user's columns and their memberships, read with the agent a statement
# picks (`_agent_from_row` builds the User).
_AGENT_COLUMNS = ", ".join(
    [*(f"u.{f.column}" for f in User._meta.concrete_fields), user_memberships_sql("u.id")]
)


def _agent_from_row(row: Sequence[Any]) -> User:
    user = User.from_db(DEFAULT_DB_ALIAS, [f.attname for f in User._meta.concrete_fields], row[:-1])
    user_memberships_known(user, row[-1])
    return user


def _fewest_open_agent(*, department_id: int) -> User | None:
    """The available agent with the fewest open tickets of the department (the lowest id
    among equals), or None; on PostgreSQL with their memberships (see `_take_turn`).

    Counted per agent and open status through the (assignee, status, department) index:
    each count an equality on its three columns, so it reads only that agent's tickets of
    that status and department (from the index alone once the table is vacuumed), never
    their resolved and closed ones. (One `status IN (...)` count let the planner read
    status as a filter instead, walking every ticket the agent ever had in the department:
    its plan on default estimates, the generic plan of the prepared statement.) The open
    statuses, constants of the code, are written into the statement: as parameters, once
    the table was analysed, PostgreSQL planned it afresh at every execution (custom plans
    priced lower than the generic one: 0.35 ms of planning each)."""
    u = User._meta.db_table
    m = Membership._meta.db_table
    t = Ticket._meta.db_table
    params: dict[str, Any] = {"agent": Membership.Role.AGENT, "department": department_id}
    open_tickets = " + ".join(
        f"(SELECT COUNT(*) FROM {t} WHERE {t}.assignee_id = u.id "  # noqa: S608
        f"AND {t}.status = '{status}' AND {t}.department_id = %(department)s)"
        for status in Ticket.OPEN_STATUSES
    )
    columns = _AGENT_COLUMNS if connection.vendor == "postgresql" else "u.id"
    sql = (
        f"SELECT {columns} FROM {u} AS u JOIN {m} ON {m}.user_id = u.id "  # noqa: S608
        f"WHERE {m}.department_id = %(department)s AND {m}.role = %(agent)s "
        f"AND {m}.is_available AND u.is_active ORDER BY {open_tickets}, u.id LIMIT 1"
    )
    with connection.cursor() as cursor:
        execute_prepared(cursor, label="fewest_open_agent", sql=sql, params=params)
        row = cursor.fetchone()
    if row is None:
        return None
    if connection.vendor != "postgresql":
        return User.objects.get(pk=row[0])
    return _agent_from_row(row)


# --- Assignment -----------------------------------------------------------------------


def pick_agent(*, department: Department) -> User | None:
    """The department's next agent by its automatic assignment rule, or None.

    Only available agents with active accounts are candidates. Call inside a transaction
    that holds the department row lock (round robin moves the department's pointer).
    """
    if department.assignment == Department.Assignment.MANUAL:
        return None
    if department.assignment == Department.Assignment.ROUND_ROBIN:
        updated, chosen = _take_turn(department_id=department.pk, take_number=False)
        department.last_assigned_to_id = updated.last_assigned_to_id
        return chosen
    # Fewest open: counted after the department's row lock was taken (a statement of its
    # own, so it sees the tickets of filings that held the lock before).
    return _fewest_open_agent(department_id=department.pk)


def ticket_assign(
    *, ticket: Ticket, actor: User | None, assignee: User | None, now: datetime | None = None
) -> Ticket:
    """Assign the ticket to a member of its department (or unassign with None).

    `actor` None is the service desk itself (an escalation rule): no permission check.
    """
    now = now or timezone.now()
    with transaction.atomic():
        ticket = _lock(ticket)
        _require_worker(actor, ticket)
        _require_open(ticket, "assign")
        if (
            assignee is not None
            and not Membership.objects.filter(
                user=assignee, department_id=ticket.department_id, user__is_active=True
            ).exists()
        ):
            raise ValidationError(
                {"assignee": [f"{assignee} is not an agent of {ticket.department.name}."]}
            )
        if assignee == ticket.assignee:
            return ticket
        _set_assignee(ticket=ticket, actor=actor, assignee=assignee, now=now)
    return ticket


def ticket_assign_automatically(
    *, ticket: Ticket, actor: User | None, now: datetime | None = None
) -> Ticket:
    """Give the ticket to whoever the department's automatic assignment picks next, or
    back to the unassigned queue when the department assigns by hand."""
    now = now or timezone.now()
    with transaction.atomic():
        ticket = _lock(ticket)
        _require_worker(actor, ticket)
        _require_open(ticket, "assign")
        department = Department.objects.select_for_update(no_key=True).get(pk=ticket.department_id)
        assignee = pick_agent(department=department)
        if assignee != ticket.assignee:
            _set_assignee(ticket=ticket, actor=actor, assignee=assignee, now=now)
    return ticket


def ticket_escalation_record(
    *, ticket: Ticket, summary: str, details: str, now: datetime
) -> TicketEvent:
    """Write an escalation rule's firing into the audit trail (members only), and return
    the event its notifications are sent for. Called by slas inside its transaction."""
    return _record(
        ticket, None, TicketEvent.Action.ESCALATED, new=summary, message=details, now=now
    )


def _set_assignee(
    *, ticket: Ticket, actor: User | None, assignee: User | None, now: datetime
) -> None:
    old = ticket.assignee
    ticket.assignee = assignee
    ticket.updated_at = now
    ticket.save(update_fields=["assignee", "updated_at"])
    _assigned(ticket=ticket, actor=actor, old=old, now=now)


def _assigned(*, ticket: Ticket, actor: User | None, old: User | None, now: datetime) -> None:
    """What follows a change of assignee already written: the audit event, the email to
    the new assignee, the hook."""
    event = _assignment_event(ticket=ticket, actor=actor, old=old, now=now)
    event.save()
    outbox_enqueue_many(messages=_assignment_messages(event))
    _assignment_hook(ticket=ticket, actor=actor, old=old, event=event, now=now)


def _assignment_event(
    *, ticket: Ticket, actor: User | None, old: User | None, now: datetime
) -> TicketEvent:
    return _event(
        ticket,
        actor,
        TicketEvent.Action.ASSIGNED,
        old=str(old or ""),
        new=str(ticket.assignee or ""),
        now=now,
    )


def _assignment_messages(event: TicketEvent) -> list[dict[str, Any]]:
    """The email to the new assignee (none when unassigned)."""
    assignee = event.ticket.assignee
    if assignee is None:
        return []
    return notification_messages(
        event=event, recipients=[assignee], headline="This ticket was assigned to you."
    )


def _assignment_hook(
    *, ticket: Ticket, actor: User | None, old: User | None, event: TicketEvent, now: datetime
) -> None:
    hooks.ticket_changed(
        hooks.TicketChange(
            kind=hooks.ASSIGNED,
            ticket=ticket,
            now=now,
            actor=actor,
            event_id=event.pk,
            details={"old_assignee_id": old.pk if old is not None else None},
        )
    )


# --- Lifecycle ------------------------------------------------------------------------


def ticket_transition(
    *,
    ticket: Ticket,
    actor: User | None,
    to_status: str,
    note: str = "",
    now: datetime | None = None,
) -> Ticket:
    """Move the ticket to another status, if the lifecycle and the actor's role allow it.

    `actor` None is the system (auto-close). Raises TransitionRefused or PermissionDenied
    and changes nothing when refused.
    """
    now = now or timezone.now()
    with transaction.atomic():
        ticket = _lock(ticket)
        _check_transition(ticket=ticket, actor=actor, to_status=to_status)
        _apply_status(ticket=ticket, actor=actor, to_status=to_status, note=note, now=now)
    return ticket


def _check_transition(*, ticket: Ticket, actor: User | None, to_status: str) -> None:
    if to_status not in Status.values:
        raise TransitionRefused(f"“{to_status}” is not a ticket status.")
    current = Status(ticket.status)
    target = Status(to_status)
    if current == target:
        raise TransitionRefused(f"The ticket is already {target.label.lower()}.")
    if target not in TRANSITIONS[current]:
        if current == Status.CLOSED:
            raise TransitionRefused("This ticket is closed; file a new request instead.")
        if current == Status.CANCELLED:
            raise TransitionRefused("This ticket was cancelled; file a new request instead.")
        if target == Status.CANCELLED:
            raise TransitionRefused("Only a new request can be cancelled, before work starts.")
        raise TransitionRefused(
            f"A ticket that is {current.label.lower()} cannot become {target.label.lower()}."
        )
    if actor is None:
        return
    if can_work(user=actor, ticket=ticket):
        return
    is_requester = actor.pk in (ticket.requester_id, ticket.created_by_id)
    requester_moves = {(Status.RESOLVED, Status.OPEN), (Status.NEW, Status.CANCELLED)}
    if is_requester and (current, target) in requester_moves:
        return
    raise PermissionDenied("Only the department's agents can change this ticket's status.")


def _apply_status(
    *, ticket: Ticket, actor: User | None, to_status: str, note: str, now: datetime
) -> None:
    old = Status(ticket.status)
    new = Status(to_status)
    ticket.status = new
    ticket.status_changed_at = now
    ticket.updated_at = now
    fields = ["status", "status_changed_at", "updated_at"]
    if new == Status.RESOLVED:
        ticket.resolved_at = now
        fields.append("resolved_at")
    elif new in (Status.CLOSED, Status.CANCELLED):
        ticket.closed_at = now
        fields.append("closed_at")
    elif old == Status.RESOLVED and new == Status.OPEN:
        ticket.reopen_count += 1
        fields.append("reopen_count")
    ticket.save(update_fields=fields)
    event = _record(
        ticket,
        actor,
        TicketEvent.Action.STATUS,
        old=old.value,
        new=new.value,
        message=note,
        now=now,
    )
    hooks.ticket_changed(
        hooks.TicketChange(
            kind=hooks.STATUS_CHANGED,
            ticket=ticket,
            now=now,
            actor=actor,
            old_status=old.value,
            new_status=new.value,
            event_id=event.pk,
        )
    )
    requester_side = [ticket.requester, *_watchers_outside(ticket)]
    if new == Status.WAITING:
        notify(event=event, recipients=requester_side, headline="We need your answer to go on.")
    elif new == Status.RESOLVED:
        notify(event=event, recipients=requester_side, headline="Your request was resolved.")
    elif old == Status.RESOLVED and new == Status.OPEN:
        notify(event=event, recipients=[ticket.assignee], headline="The ticket was reopened.")
    elif new == Status.CANCELLED:
        notify(event=event, recipients=[ticket.assignee], headline="The requester cancelled it.")


def ticket_autoclose(*, now: datetime, batch_size: int = 500) -> int:
    """Close resolved tickets whose department's waiting period has passed. Returns the count."""
    closed = 0
    for department in Department.objects.filter(auto_close_days__gt=0):
        cutoff = now - timedelta(days=department.auto_close_days)
        while True:
            due = list(
                Ticket.objects.filter(
                    department=department, status=Status.RESOLVED, resolved_at__lte=cutoff
                ).order_by("resolved_at")[:batch_size]
            )
            for ticket in due:
                try:
                    ticket_transition(
                        ticket=ticket,
                        actor=None,
                        to_status=Status.CLOSED,
                        note=f"Closed automatically {department.auto_close_days} days "
                        "after resolution.",
                        now=now,
                    )
                    closed += 1
                except TransitionRefused:
                    continue  # reopened meanwhile
            if len(due) < batch_size:
                break
    return closed


# --- Conversation ---------------------------------------------------------------------


def comment_add(
    *,
    ticket: Ticket,
    author: User | None,
    body: str,
    is_internal: bool = False,
    attachments: Sequence[UploadedFile] = (),
    then_status: str = "",
    now: datetime | None = None,
) -> Comment:
    """Add a public reply or an internal note, and the status changes a reply implies.

    - an agent's first public reply sets the first response time and opens a new ticket;
    - the requester's reply takes a ticket out of "waiting on requester", and reopens a
      resolved one;
    - `then_status` lets an agent reply and, in the same step, set waiting or resolved;
    - `author` None is the service desk itself (an escalation rule): internal notes only.
    """
    now = now or timezone.now()
    if author is None and (not is_internal or then_status or attachments):
        raise ValueError("The service desk itself posts internal notes only.")
    body = (body or "").strip()
    errors: dict[str, list[str]] = {}
    if not body and not attachments:
        errors["body"] = ["Write a message or attach a file."]
    elif len(body) > MAX_BODY:
        errors["body"] = [f"Keep messages under {MAX_BODY} characters."]
    try:
        check_attachments(attachments)
    except ValidationError as error:
        errors["attachments"] = error.messages
    if errors:
        raise ValidationError(errors)

    with transaction.atomic():
        ticket = _lock(ticket)
        is_worker = author is None or can_work(user=author, ticket=ticket)
        if author is not None and not can_view(user=author, ticket=ticket):
            raise PermissionDenied("You cannot see this ticket.")
        if is_internal and not is_worker:
            raise PermissionDenied("Only the department's agents can add internal notes.")
        if then_status and not is_worker:
            raise PermissionDenied("Only the department's agents can change the status.")
        if ticket.is_finished:
            raise TransitionRefused(
                "This ticket is closed; file a new request to continue the conversation."
            )
        if then_status and author is not None:
            _check_then_status(ticket=ticket, author=author, then_status=then_status)

        comment = Comment.objects.create(
            ticket=ticket,
            author=author,
            body=body,
            body_html=render_markdown(body),
            is_internal=is_internal,
            created_at=now,
        )
        if author is not None:
            _save_attachments(
                ticket=ticket, comment=comment, user=author, files=attachments, now=now
            )
        ticket.updated_at = now
        ticket.save(update_fields=["updated_at"])
        action = TicketEvent.Action.NOTE if is_internal else TicketEvent.Action.REPLIED
        event = _record(ticket, author, action, now=now)
        _notify_comment(ticket=ticket, event=event, comment=comment, by_worker=is_worker)

        if author is None:
            return comment
        if not is_internal:
            _after_public_reply(
                ticket=ticket, comment=comment, author=author, is_worker=is_worker, now=now
            )
        if then_status and then_status != ticket.status:
            _check_transition(ticket=ticket, actor=author, to_status=then_status)
            _apply_status(ticket=ticket, actor=author, to_status=then_status, note="", now=now)
    return comment


def _check_then_status(*, ticket: Ticket, author: User, then_status: str) -> None:
    if then_status not in (Status.WAITING, Status.RESOLVED, Status.OPEN):
        raise TransitionRefused("A reply can set the ticket to open, waiting or resolved only.")


def _after_public_reply(
    *, ticket: Ticket, comment: Comment, author: User, is_worker: bool, now: datetime
) -> None:
    is_requester_side = author.pk in (ticket.requester_id, ticket.created_by_id)
    if is_worker and not is_requester_side:
        if ticket.first_response_at is None:
            ticket.first_response_at = now
            ticket.save(update_fields=["first_response_at"])
        if ticket.status == Status.NEW:
            _apply_status(ticket=ticket, actor=author, to_status=Status.OPEN, note="", now=now)
        kind = hooks.AGENT_REPLIED
    else:
        if ticket.status in (Status.WAITING, Status.RESOLVED):
            note = (
                "The requester replied."
                if ticket.status == Status.WAITING
                else "Reopened by reply."
            )
            _apply_status(ticket=ticket, actor=author, to_status=Status.OPEN, note=note, now=now)
        kind = hooks.REQUESTER_REPLIED
    hooks.ticket_changed(
        hooks.TicketChange(
            kind=kind, ticket=ticket, now=now, actor=author, details={"comment_id": comment.pk}
        )
    )


def _notify_comment(
    *, ticket: Ticket, event: TicketEvent, comment: Comment, by_worker: bool
) -> None:
    if comment.is_internal:
        notify(
            event=event,
            recipients=[ticket.assignee],
            headline="New internal note.",
            comment=comment,
        )
    elif by_worker:
        notify(
            event=event,
            recipients=[ticket.requester, *_watchers_outside(ticket), ticket.assignee],
            headline=f"{ticket.department.name} replied to your request.",
            comment=comment,
        )
    else:
        notify(
            event=event,
            recipients=[ticket.assignee, *ticket.watchers.all()],
            headline=f"{comment.author_name} replied.",
            comment=comment,
        )


# --- Other changes --------------------------------------------------------------------


def ticket_set_priority(
    *, ticket: Ticket, actor: User | None, priority: int, now: datetime | None = None
) -> Ticket:
    """Change the priority (SLA targets follow). `actor` None: an escalation rule."""
    now = now or timezone.now()
    if priority not in Priority.values:
        raise ValidationError({"priority": ["Choose a priority from the list."]})
    with transaction.atomic():
        ticket = _lock(ticket)
        _require_worker(actor, ticket)
        _require_open(ticket, "change the priority of")
        if ticket.priority == priority:
            return ticket
        old = Priority(ticket.priority)
        ticket.priority = priority
        ticket.updated_at = now
        ticket.save(update_fields=["priority", "updated_at"])
        hooks.ticket_changed(
            hooks.TicketChange(kind=hooks.PRIORITY_CHANGED, ticket=ticket, now=now, actor=actor)
        )
        _record(
            ticket,
            actor,
            TicketEvent.Action.PRIORITY,
            old=old.label,
            new=Priority(priority).label,
            now=now,
        )
    return ticket


def ticket_transfer(
    *,
    ticket: Ticket,
    actor: User,
    request_type: RequestType,
    reason: str,
    now: datetime | None = None,
) -> Ticket:
    """Move the ticket to another department's request type, with a reason.

    The reference, conversation and history stay; the assignee is cleared and the new
    department's automatic assignment runs.
    """
    now = now or timezone.now()
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": ["Say why the ticket is being transferred."]})
    if not (request_type.is_active and request_type.department.is_active):
        raise ValidationError({"request_type": ["This request type is not accepting requests."]})
    with transaction.atomic():
        ticket = _lock(ticket)
        _require_worker(actor, ticket)
        _require_open(ticket, "transfer")
        if request_type.pk == ticket.request_type_id:
            raise ValidationError({"request_type": ["The ticket already has this request type."]})
        old_department, old_type = ticket.department, ticket.request_type
        old_assignee_id = ticket.assignee_id
        new_department = Department.objects.select_for_update(no_key=True).get(
            pk=request_type.department_id
        )
        ticket.department = new_department
        ticket.request_type = request_type
        ticket.assignee = None
        ticket.updated_at = now
        ticket.save(update_fields=["department", "request_type", "assignee", "updated_at"])
        hooks.ticket_changed(
            hooks.TicketChange(
                kind=hooks.TRANSFERRED,
                ticket=ticket,
                now=now,
                actor=actor,
                old_department_id=old_department.pk,
                # The ticket as the old department held it (the SLA clocks it stops
                # record it).
                details={"old_request_type_id": old_type.pk, "old_assignee_id": old_assignee_id},
            )
        )
        event = _record(
            ticket,
            actor,
            TicketEvent.Action.TRANSFERRED,
            old=f"{old_department.name}: {old_type.name}",
            new=f"{new_department.name}: {request_type.name}",
            message=reason,
            now=now,
        )
        if old_department != new_department:
            notify(
                event=event,
                recipients=[ticket.requester],
                headline=f"Your request was passed from {old_department.name} "
                f"to {new_department.name}.",
            )
        assignee = pick_agent(department=new_department)
        if assignee is not None:
            _set_assignee(ticket=ticket, actor=None, assignee=assignee, now=now)
    return ticket


def ticket_add_watcher(
    *, ticket: Ticket, actor: User | None, watcher: User, now: datetime | None = None
) -> None:
    """Agents add anyone; the requester may add colleagues to follow the request;
    `actor` None is an escalation rule."""
    now = now or timezone.now()
    with transaction.atomic():
        ticket = _lock(ticket)
        allowed = actor is None or can_work(user=actor, ticket=ticket)
        if not (allowed or (actor is not None and actor.pk == ticket.requester_id)):
            raise PermissionDenied(
                "Only the requester and the department's agents can add watchers."
            )
        if not watcher.is_active:
            raise ValidationError({"watcher": ["This person's account is inactive."]})
        if ticket.watchers.filter(pk=watcher.pk).exists():
            return
        ticket.watchers.add(watcher)
        _record(ticket, actor, TicketEvent.Action.WATCHER_ADDED, new=str(watcher), now=now)


def ticket_remove_watcher(
    *, ticket: Ticket, actor: User, watcher: User, now: datetime | None = None
) -> None:
    """Agents and the requester remove anyone; a watcher may stop watching."""
    now = now or timezone.now()
    with transaction.atomic():
        ticket = _lock(ticket)
        allowed = can_work(user=actor, ticket=ticket) or actor.pk in (
            ticket.requester_id,
            watcher.pk,
        )
        if not allowed:
            raise PermissionDenied("You cannot remove this watcher.")
        if not ticket.watchers.filter(pk=watcher.pk).exists():
            return
        ticket.watchers.remove(watcher)
        _record(ticket, actor, TicketEvent.Action.WATCHER_REMOVED, old=str(watcher), now=now)


# --- Attachments ----------------------------------------------------------------------


def check_attachments(files: Sequence[UploadedFile]) -> None:
    allowed = {ext.lower().lstrip(".") for ext in settings.ATTACHMENT_ALLOWED_EXTENSIONS}
    limit = settings.ATTACHMENT_MAX_BYTES
    problems = []
    for upload in files:
        name = Path(upload.name or "").name
        extension = Path(name).suffix.lower().lstrip(".")
        if extension not in allowed:
            problems.append(f"{name}: files of type .{extension or '?'} are not accepted.")
        elif upload.size is not None and upload.size > limit:
            problems.append(f"{name}: larger than the {filesizeformat(limit)} limit.")
        elif not upload.size:
            problems.append(f"{name}: the file is empty.")
    if problems:
        raise ValidationError(problems)


def _save_attachments(
    *,
    ticket: Ticket,
    comment: Comment | None,
    user: User,
    files: Sequence[UploadedFile],
    now: datetime,
) -> None:
    for upload in files:
        name = Path(upload.name or "file").name[:200]
        Attachment.objects.create(
            ticket=ticket,
            comment=comment,
            uploaded_by=user,
            file=upload,
            filename=name,
            size=upload.size or 0,
            content_type=mimetypes.guess_type(name)[0] or "application/octet-stream",
            created_at=now,
        )


# --- Helpers --------------------------------------------------------------------------


def _lock(ticket: Ticket) -> Ticket:
    """Re-read the ticket under a row lock, so two agents acting at once serialise."""
    return (
        Ticket.objects.select_for_update(of=("self",))
        .select_related("department", "request_type", "requester", "assignee", "created_by")
        .get(pk=ticket.pk)
    )


def _require_worker(actor: User | None, ticket: Ticket) -> None:
    """`actor` None is the service desk itself, acting on an escalation rule."""
    if actor is not None and not can_work(user=actor, ticket=ticket):
        raise PermissionDenied(f"Only agents of {ticket.department.name} can do this.")


def _require_open(ticket: Ticket, verb: str) -> None:
    if not ticket.is_open:
        raise TransitionRefused(
            f"You cannot {verb} a ticket that is {ticket.get_status_display().lower()}."
        )


def _watchers_outside(ticket: Ticket) -> list[User]:
    """Watchers who are not members of the department (they get requester-side emails)."""
    return list(
        ticket.watchers.exclude(memberships__department_id=ticket.department_id).filter(
            Q(is_active=True)
        )
    )


def _record(
    ticket: Ticket,
    actor: User | None,
    action: str,
    *,
    old: str = "",
    new: str = "",
    message: str = "",
    now: datetime,
) -> TicketEvent:
    event = _event(ticket, actor, action, old=old, new=new, message=message, now=now)
    event.save()
    return event


def _event(
    ticket: Ticket,
    actor: User | None,
    action: str,
    *,
    old: str = "",
    new: str = "",
    message: str = "",
    now: datetime,
) -> TicketEvent:
    """An audit event, not yet written."""
    return TicketEvent(
        ticket=ticket,
        actor=actor,
        action=action,
        old_value=old[:200],
        new_value=new[:200],
        message=message,
        created_at=now,
    )

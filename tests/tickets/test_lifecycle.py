"""The ticket lifecycle: which moves the TRANSITIONS table allows, who may make them,
and the timestamps they set. A refused move changes nothing at all."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import PermissionDenied

from outbox.models import Message
from tests.factories import PATH_TO, TicketFactory, move_to
from tickets import services
from tickets.models import Ticket, TicketEvent
from tickets.services import TRANSITIONS, TransitionRefused

Status = Ticket.Status
ALL_PAIRS = list(itertools.product(Status.values, Status.values))
TABLE_MOVES = [(a, b) for a, b in ALL_PAIRS if b in TRANSITIONS[a]]
REQUESTER_MOVES = {(Status.RESOLVED, Status.OPEN), (Status.NEW, Status.CANCELLED)}
T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


def pair_id(pair: tuple[str, str]) -> str:
    return f"{pair[0]}->{pair[1]}"


def snapshot(ticket: Ticket) -> dict:
    """Everything a refused change must leave as it was."""
    return {
        "row": Ticket.objects.filter(pk=ticket.pk).values().get(),
        "events": list(TicketEvent.objects.filter(ticket=ticket).values_list("pk", flat=True)),
        "outbox": list(Message.objects.values_list("pk", flat=True)),
    }


def ticket_in(status: str, *, request_type, requester, agent) -> Ticket:
    ticket = TicketFactory(request_type=request_type, created_by=requester, now=T0)
    return move_to(ticket, status, agent=agent, now=T0)


def test_transition_table_covers_every_status():
    assert set(TRANSITIONS) == set(Status.values)
    # Closed and cancelled are final.
    assert TRANSITIONS[Status.CLOSED] == set()
    assert TRANSITIONS[Status.CANCELLED] == set()


@pytest.mark.parametrize("pair", ALL_PAIRS, ids=pair_id)
def test_agent_transition_allowed_iff_in_table(pair, it_type, requester, it_agent):
    from_status, to_status = pair
    ticket = ticket_in(from_status, request_type=it_type, requester=requester, agent=it_agent)
    later = T0 + timedelta(hours=1)
    if to_status in TRANSITIONS[from_status]:
        services.ticket_transition(ticket=ticket, actor=it_agent, to_status=to_status, now=later)
        ticket.refresh_from_db()
        assert ticket.status == to_status
        assert ticket.status_changed_at == later
        event = TicketEvent.objects.filter(ticket=ticket).latest("id")
        assert (event.action, event.actor, event.old_value, event.new_value) == (
            TicketEvent.Action.STATUS,
            it_agent,
            from_status,
            to_status,
        )
    else:
        before = snapshot(ticket)
        with pytest.raises(TransitionRefused):
            services.ticket_transition(
                ticket=ticket, actor=it_agent, to_status=to_status, now=later
            )
        assert snapshot(ticket) == before


def test_unknown_status_is_refused_and_changes_nothing(ticket, it_agent):
    before = snapshot(ticket)
    with pytest.raises(TransitionRefused, match="not a ticket status"):
        services.ticket_transition(ticket=ticket, actor=it_agent, to_status="archived")
    assert snapshot(ticket) == before


@pytest.mark.parametrize("pair", TABLE_MOVES, ids=pair_id)
def test_requester_may_only_reopen_resolved_and_cancel_new(pair, it_type, requester, it_agent):
    from_status, to_status = pair
    ticket = ticket_in(from_status, request_type=it_type, requester=requester, agent=it_agent)
    if pair in REQUESTER_MOVES:
        services.ticket_transition(ticket=ticket, actor=requester, to_status=to_status)
        ticket.refresh_from_db()
        assert ticket.status == to_status
    else:
        before = snapshot(ticket)
        with pytest.raises(PermissionDenied):
            services.ticket_transition(ticket=ticket, actor=requester, to_status=to_status)
        assert snapshot(ticket) == before


@pytest.mark.parametrize("pair", sorted(REQUESTER_MOVES), ids=pair_id)
def test_filer_on_behalf_has_the_requesters_moves(pair, it_type, requester, colleague, it_agent):
    from_status, to_status = pair
    ticket = TicketFactory(request_type=it_type, created_by=colleague, requester=requester)
    ticket = move_to(ticket, from_status, agent=it_agent)
    services.ticket_transition(ticket=ticket, actor=colleague, to_status=to_status)
    ticket.refresh_from_db()
    assert ticket.status == to_status


@pytest.mark.parametrize("pair", TABLE_MOVES, ids=pair_id)
def test_department_lead_may_make_every_table_move(pair, it_type, requester, it_agent, it_lead):
    from_status, to_status = pair
    ticket = ticket_in(from_status, request_type=it_type, requester=requester, agent=it_agent)
    services.ticket_transition(ticket=ticket, actor=it_lead, to_status=to_status)
    ticket.refresh_from_db()
    assert ticket.status == to_status


@pytest.mark.parametrize("pair", TABLE_MOVES, ids=pair_id)
def test_agent_of_another_department_is_denied_every_move(
    pair, it_type, requester, it_agent, hr_agent
):
    from_status, to_status = pair
    ticket = ticket_in(from_status, request_type=it_type, requester=requester, agent=it_agent)
    before = snapshot(ticket)
    with pytest.raises(PermissionDenied):
        services.ticket_transition(ticket=ticket, actor=hr_agent, to_status=to_status)
    assert snapshot(ticket) == before


@pytest.mark.parametrize("pair", TABLE_MOVES, ids=pair_id)
def test_superuser_may_make_every_table_move(pair, it_type, requester, it_agent, superuser):
    from_status, to_status = pair
    ticket = ticket_in(from_status, request_type=it_type, requester=requester, agent=it_agent)
    services.ticket_transition(ticket=ticket, actor=superuser, to_status=to_status)
    ticket.refresh_from_db()
    assert ticket.status == to_status


def test_watcher_cannot_reopen_or_cancel(ticket, it_agent, colleague):
    services.ticket_add_watcher(ticket=ticket, actor=ticket.requester, watcher=colleague)
    with pytest.raises(PermissionDenied):
        services.ticket_transition(ticket=ticket, actor=colleague, to_status=Status.CANCELLED)
    services.ticket_transition(ticket=ticket, actor=it_agent, to_status=Status.RESOLVED)
    with pytest.raises(PermissionDenied):
        services.ticket_transition(ticket=ticket, actor=colleague, to_status=Status.OPEN)


def test_system_may_close_a_resolved_ticket(ticket, it_agent):
    move_to(ticket, Status.RESOLVED, agent=it_agent)
    services.ticket_transition(ticket=ticket, actor=None, to_status=Status.CLOSED)
    ticket.refresh_from_db()
    assert ticket.status == Status.CLOSED
    event = TicketEvent.objects.filter(ticket=ticket).latest("id")
    assert event.actor is None
    assert event.new_value == Status.CLOSED


def test_system_is_still_bound_by_the_table(ticket):
    with pytest.raises(TransitionRefused):
        services.ticket_transition(ticket=ticket, actor=None, to_status=Status.CLOSED)


# --- Timestamps -----------------------------------------------------------------------


def test_resolving_sets_resolved_at(ticket, it_agent):
    services.ticket_transition(ticket=ticket, actor=it_agent, to_status=Status.RESOLVED, now=T0)
    ticket.refresh_from_db()
    assert ticket.resolved_at == T0
    assert ticket.closed_at is None


def test_closing_sets_closed_at_and_keeps_resolved_at(ticket, it_agent):
    resolved, closed = T0, T0 + timedelta(days=1)
    services.ticket_transition(
        ticket=ticket, actor=it_agent, to_status=Status.RESOLVED, now=resolved
    )
    services.ticket_transition(ticket=ticket, actor=it_agent, to_status=Status.CLOSED, now=closed)
    ticket.refresh_from_db()
    assert (ticket.resolved_at, ticket.closed_at) == (resolved, closed)


def test_cancelling_sets_closed_at_not_resolved_at(ticket):
    services.ticket_transition(
        ticket=ticket, actor=ticket.requester, to_status=Status.CANCELLED, now=T0
    )
    ticket.refresh_from_db()
    assert ticket.closed_at == T0
    assert ticket.resolved_at is None


def test_reopening_counts_each_reopen(ticket, it_agent):
    for _ in range(2):
        services.ticket_transition(ticket=ticket, actor=it_agent, to_status=Status.RESOLVED)
        services.ticket_transition(ticket=ticket, actor=ticket.requester, to_status=Status.OPEN)
    ticket.refresh_from_db()
    assert ticket.reopen_count == 2


def test_leaving_waiting_is_not_a_reopen(ticket, it_agent):
    services.ticket_transition(ticket=ticket, actor=it_agent, to_status=Status.WAITING)
    services.ticket_transition(ticket=ticket, actor=it_agent, to_status=Status.OPEN)
    ticket.refresh_from_db()
    assert ticket.reopen_count == 0


def test_status_change_alone_does_not_count_as_first_response(ticket, it_agent):
    services.ticket_transition(ticket=ticket, actor=it_agent, to_status=Status.OPEN)
    ticket.refresh_from_db()
    assert ticket.first_response_at is None


def test_transition_note_is_kept_in_the_audit_event(ticket, it_agent):
    services.ticket_transition(
        ticket=ticket, actor=it_agent, to_status=Status.WAITING, note="Which floor?"
    )
    event = TicketEvent.objects.filter(ticket=ticket, action=TicketEvent.Action.STATUS).get()
    assert event.message == "Which floor?"


def test_path_helper_reaches_every_status(it_type, requester, it_agent):
    # Guards the fixtures the matrix above relies on.
    for status in PATH_TO:
        ticket = ticket_in(status, request_type=it_type, requester=requester, agent=it_agent)
        assert Ticket.objects.get(pk=ticket.pk).status == status

"""comment_add: public replies, internal notes and the status changes a reply implies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from outbox.models import Message
from tests.factories import TicketFactory, move_to
from tickets import services
from tickets.models import Comment, Ticket, TicketEvent
from tickets.services import TransitionRefused

Status = Ticket.Status
T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


def reload(ticket: Ticket) -> Ticket:
    return Ticket.objects.get(pk=ticket.pk)


def status_events(ticket: Ticket) -> list[tuple[str, str]]:
    return list(
        TicketEvent.objects.filter(ticket=ticket, action=TicketEvent.Action.STATUS)
        .order_by("id")
        .values_list("old_value", "new_value")
    )


# --- First response -------------------------------------------------------------------


def test_first_public_agent_reply_sets_first_response_at(ticket, it_agent):
    services.comment_add(ticket=ticket, author=it_agent, body="On my way.", now=T0)
    assert reload(ticket).first_response_at == T0


def test_later_agent_replies_keep_the_first_response_time(ticket, it_agent, it_agent2):
    services.comment_add(ticket=ticket, author=it_agent, body="On my way.", now=T0)
    services.comment_add(
        ticket=ticket, author=it_agent2, body="Me too.", now=T0 + timedelta(hours=1)
    )
    assert reload(ticket).first_response_at == T0


def test_internal_note_is_not_a_first_response(ticket, it_agent):
    services.comment_add(
        ticket=ticket, author=it_agent, body="Probably the fuser.", is_internal=True
    )
    ticket = reload(ticket)
    assert ticket.first_response_at is None
    assert ticket.status == Status.NEW


def test_requester_reply_is_not_a_first_response(ticket):
    services.comment_add(ticket=ticket, author=ticket.requester, body="Any news?")
    assert reload(ticket).first_response_at is None


def test_lead_reply_counts_as_first_response(ticket, it_lead):
    services.comment_add(ticket=ticket, author=it_lead, body="Looking.", now=T0)
    assert reload(ticket).first_response_at == T0


# --- Status side effects --------------------------------------------------------------


def test_agent_public_reply_opens_a_new_ticket(ticket, it_agent):
    services.comment_add(ticket=ticket, author=it_agent, body="Looking into it.")
    assert reload(ticket).status == Status.OPEN
    assert status_events(ticket) == [(Status.NEW, Status.OPEN)]


def test_agent_internal_note_leaves_a_new_ticket_new(ticket, it_agent):
    services.comment_add(ticket=ticket, author=it_agent, body="Hmm.", is_internal=True)
    assert reload(ticket).status == Status.NEW
    assert status_events(ticket) == []


def test_requester_reply_takes_ticket_out_of_waiting(ticket, it_agent):
    move_to(ticket, Status.WAITING, agent=it_agent)
    services.comment_add(ticket=ticket, author=ticket.requester, body="Third floor.")
    ticket = reload(ticket)
    assert ticket.status == Status.OPEN
    assert ticket.reopen_count == 0
    assert status_events(ticket)[-1] == (Status.WAITING, Status.OPEN)


def test_agent_reply_leaves_waiting_ticket_waiting(ticket, it_agent):
    move_to(ticket, Status.WAITING, agent=it_agent)
    services.comment_add(ticket=ticket, author=it_agent, body="Reminder: which floor?")
    assert reload(ticket).status == Status.WAITING


def test_requester_reply_reopens_a_resolved_ticket(ticket, it_agent):
    move_to(ticket, Status.RESOLVED, agent=it_agent)
    services.comment_add(ticket=ticket, author=ticket.requester, body="Still broken.")
    ticket = reload(ticket)
    assert ticket.status == Status.OPEN
    assert ticket.reopen_count == 1
    event = TicketEvent.objects.filter(ticket=ticket, action=TicketEvent.Action.STATUS).last()
    assert (event.old_value, event.new_value, event.message) == (
        Status.RESOLVED,
        Status.OPEN,
        "Reopened by reply.",
    )


def test_watcher_reply_on_waiting_ticket_opens_it(ticket, it_agent, colleague):
    services.ticket_add_watcher(ticket=ticket, actor=ticket.requester, watcher=colleague)
    move_to(ticket, Status.WAITING, agent=it_agent)
    services.comment_add(ticket=ticket, author=colleague, body="Rita is away; third floor.")
    assert reload(ticket).status == Status.OPEN


@pytest.mark.parametrize(
    ("start", "then_status", "expected"),
    [
        (Status.NEW, Status.WAITING, [(Status.NEW, Status.OPEN), (Status.OPEN, Status.WAITING)]),
        (Status.NEW, Status.RESOLVED, [(Status.NEW, Status.OPEN), (Status.OPEN, Status.RESOLVED)]),
        (Status.OPEN, Status.WAITING, [(Status.NEW, Status.OPEN), (Status.OPEN, Status.WAITING)]),
        (
            Status.WAITING,
            Status.OPEN,
            [(Status.NEW, Status.WAITING), (Status.WAITING, Status.OPEN)],
        ),
        (Status.NEW, Status.OPEN, [(Status.NEW, Status.OPEN)]),
    ],
)
def test_agent_reply_with_then_status(ticket, it_agent, start, then_status, expected):
    move_to(ticket, start, agent=it_agent)
    services.comment_add(
        ticket=ticket, author=it_agent, body="Done, please check.", then_status=then_status, now=T0
    )
    ticket = reload(ticket)
    assert ticket.status == then_status
    assert status_events(ticket) == expected
    assert ticket.first_response_at == T0
    if then_status == Status.RESOLVED:
        assert ticket.resolved_at == T0


def test_internal_note_with_then_status_changes_status(ticket, it_agent):
    services.comment_add(
        ticket=ticket, author=it_agent, body="Vendor call booked.", is_internal=True,
        then_status=Status.WAITING,
    )  # fmt: skip
    assert reload(ticket).status == Status.WAITING


def test_then_status_not_allowed_from_current_status_writes_nothing(ticket, it_agent):
    move_to(ticket, Status.RESOLVED, agent=it_agent)
    comments, events, messages = (
        Comment.objects.count(),
        TicketEvent.objects.count(),
        Message.objects.count(),
    )
    with pytest.raises(TransitionRefused):
        services.comment_add(
            ticket=ticket, author=it_agent, body="Waiting on you.", then_status=Status.WAITING
        )
    assert (Comment.objects.count(), TicketEvent.objects.count(), Message.objects.count()) == (
        comments,
        events,
        messages,
    )
    assert reload(ticket).status == Status.RESOLVED


@pytest.mark.parametrize("then_status", [Status.CLOSED, Status.CANCELLED, Status.NEW, "bogus"])
def test_reply_cannot_set_other_statuses(ticket, it_agent, then_status):
    with pytest.raises(TransitionRefused):
        services.comment_add(ticket=ticket, author=it_agent, body="x", then_status=then_status)
    assert Comment.objects.count() == 0


def test_requester_cannot_set_status_with_a_reply(ticket):
    with pytest.raises(PermissionDenied):
        services.comment_add(
            ticket=ticket, author=ticket.requester, body="Fixed it.", then_status=Status.RESOLVED
        )
    assert Comment.objects.count() == 0


# --- Refusals -------------------------------------------------------------------------


@pytest.mark.parametrize("final", [Status.CLOSED, Status.CANCELLED])
@pytest.mark.parametrize("who", ["requester", "agent"])
def test_replies_refused_on_finished_tickets(ticket, it_agent, final, who):
    move_to(ticket, final, agent=it_agent)
    author = ticket.requester if who == "requester" else it_agent
    before = Ticket.objects.filter(pk=ticket.pk).values().get()
    events = TicketEvent.objects.count()
    with pytest.raises(TransitionRefused):
        services.comment_add(ticket=ticket, author=author, body="Hello?")
    assert Comment.objects.count() == 0
    assert TicketEvent.objects.count() == events
    assert Ticket.objects.filter(pk=ticket.pk).values().get() == before


def test_requester_cannot_add_internal_note(ticket):
    with pytest.raises(PermissionDenied):
        services.comment_add(ticket=ticket, author=ticket.requester, body="psst", is_internal=True)
    assert Comment.objects.count() == 0


def test_stranger_cannot_reply(ticket, colleague):
    with pytest.raises(PermissionDenied):
        services.comment_add(ticket=ticket, author=colleague, body="Me too!")
    assert Comment.objects.count() == 0


def test_agent_of_another_department_cannot_reply(ticket, hr_agent):
    with pytest.raises(PermissionDenied):
        services.comment_add(ticket=ticket, author=hr_agent, body="Try turning it off.")
    assert Comment.objects.count() == 0


def test_watcher_outside_department_cannot_reply_to_confidential_ticket(
    confidential_ticket, colleague
):
    services.ticket_add_watcher(
        ticket=confidential_ticket, actor=confidential_ticket.requester, watcher=colleague
    )
    with pytest.raises(PermissionDenied):
        services.comment_add(ticket=confidential_ticket, author=colleague, body="Hi")


@pytest.mark.parametrize("body", ["", "   \n "])
def test_empty_reply_is_refused(ticket, it_agent, body):
    with pytest.raises(ValidationError) as error:
        services.comment_add(ticket=ticket, author=it_agent, body=body)
    assert "body" in error.value.message_dict
    assert Comment.objects.count() == 0


def test_overlong_reply_is_refused(ticket, it_agent):
    with pytest.raises(ValidationError) as error:
        services.comment_add(ticket=ticket, author=it_agent, body="x" * (services.MAX_BODY + 1))
    assert "body" in error.value.message_dict
    assert reload(ticket).status == Status.NEW


def test_reply_is_stored_with_rendered_markdown_and_audit_event(ticket, it_agent):
    comment = services.comment_add(
        ticket=ticket, author=it_agent, body="**Fixed** <script>alert(1)</script>", now=T0
    )
    assert "<strong>Fixed</strong>" in comment.body_html
    assert "<script>" not in comment.body_html
    assert reload(ticket).updated_at == T0
    assert TicketEvent.objects.filter(
        ticket=ticket, action=TicketEvent.Action.REPLIED, actor=it_agent
    ).exists()


def test_internal_note_is_recorded_as_note_event(ticket, it_agent):
    services.comment_add(ticket=ticket, author=it_agent, body="Hmm.", is_internal=True)
    assert TicketEvent.objects.filter(ticket=ticket, action=TicketEvent.Action.NOTE).count() == 1
    assert not TicketEvent.objects.filter(ticket=ticket, action=TicketEvent.Action.REPLIED).exists()


def test_agent_filing_own_ticket_does_not_first_respond_to_themself(it_type, it_agent):
    own = TicketFactory(request_type=it_type, created_by=it_agent)
    services.comment_add(ticket=own, author=it_agent, body="Adding detail.")
    own = reload(own)
    assert own.first_response_at is None
    assert own.status == Status.NEW

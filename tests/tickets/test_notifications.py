"""Who gets which email. Emails go through the outbox; on_commit hooks are run here so
the (eager) delivery task sends them to Django's test mailbox."""

from __future__ import annotations

import pytest
from django.core import mail

from outbox.models import Message
from tests.factories import RequestTypeFactory, TicketFactory, UserFactory, agent_of, move_to
from tickets import services
from tickets.models import Department, Ticket

Status = Ticket.Status


@pytest.fixture
def deliver(db, django_capture_on_commit_callbacks):
    """`with deliver():` runs the block; `.sent` then holds the emails it caused.

    mail.outbox is read at use time: the db fixture's test setup replaces the list.
    """

    class Deliver:
        sent: list = []

        def __call__(self):
            return self

        def __enter__(self):
            mail.outbox.clear()
            self._capture = django_capture_on_commit_callbacks(execute=True)
            self._capture.__enter__()
            return self

        def __exit__(self, *exc):
            self._capture.__exit__(*exc)
            self.sent = list(mail.outbox)
            return False

        @property
        def to(self) -> list[str]:
            return sorted(address for message in self.sent for address in message.to)

    return Deliver()


@pytest.fixture
def assigned(ticket, it_agent, it_lead):
    services.ticket_assign(ticket=ticket, actor=it_lead, assignee=it_agent)
    return ticket


# --- Filing ---------------------------------------------------------------------------


def test_filing_for_yourself_sends_a_receipt_with_the_reference(deliver, it_type, requester):
    with deliver():
        ticket = TicketFactory(request_type=it_type, created_by=requester)
    assert deliver.to == ["rita@example.com"]
    assert "Your request to IT was received." in deliver.sent[0].body
    assert ticket.reference in deliver.sent[0].subject


def test_filing_on_behalf_tells_the_requester_not_the_filer(deliver, it_type, requester, colleague):
    with deliver():
        ticket = TicketFactory(request_type=it_type, created_by=colleague, requester=requester)
    assert deliver.to == ["rita@example.com"]
    message = deliver.sent[0]
    assert message.subject == f"[{ticket.reference}] {ticket.title}"
    assert "Your request to IT was received." in message.body
    assert f"http://desk.test/tickets/{ticket.reference}/" in message.body
    assert message.extra_headers["X-Servicedesk-Ticket"] == ticket.reference


def test_automatic_assignment_at_filing_tells_the_assignee(
    deliver, it, it_type, requester, it_agent
):
    it.assignment = Department.Assignment.ROUND_ROBIN
    it.save(update_fields=["assignment"])
    with deliver():
        TicketFactory(request_type=it_type, created_by=requester)
    assert deliver.to == ["alice@example.com", "rita@example.com"]  # assignee, receipt
    to_alice = next(m for m in deliver.sent if m.to == ["alice@example.com"])
    assert "This ticket was assigned to you." in to_alice.body


# --- Assignment -----------------------------------------------------------------------


def test_assignment_tells_the_assignee(deliver, ticket, it_agent, it_lead):
    with deliver():
        services.ticket_assign(ticket=ticket, actor=it_lead, assignee=it_agent)
    assert deliver.to == ["alice@example.com"]


def test_taking_a_ticket_sends_nothing(deliver, ticket, it_agent):
    with deliver():
        services.ticket_assign(ticket=ticket, actor=it_agent, assignee=it_agent)
    assert deliver.to == []


def test_unassigning_sends_nothing(deliver, assigned, it_lead):
    with deliver():
        services.ticket_assign(ticket=assigned, actor=it_lead, assignee=None)
    assert deliver.to == []


# --- Status ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "headline"),
    [(Status.WAITING, "We need your answer"), (Status.RESOLVED, "Your request was resolved.")],
)
def test_waiting_and_resolved_tell_the_requester_and_outside_watchers(
    deliver, assigned, it_agent, it_agent2, colleague, status, headline
):
    services.ticket_add_watcher(ticket=assigned, actor=it_agent, watcher=colleague)
    services.ticket_add_watcher(ticket=assigned, actor=it_agent, watcher=it_agent2)
    with deliver():
        services.ticket_transition(ticket=assigned, actor=it_agent, to_status=status)
    # Not the acting assignee, not the watching colleague agent.
    assert deliver.to == ["carl@example.com", "rita@example.com"]
    assert all(headline in message.body for message in deliver.sent)


def test_opening_a_ticket_sends_nothing(deliver, assigned, it_agent):
    with deliver():
        services.ticket_transition(ticket=assigned, actor=it_agent, to_status=Status.OPEN)
    assert deliver.to == []


def test_reopen_by_requester_tells_the_assignee(deliver, assigned, it_agent):
    move_to(assigned, Status.RESOLVED, agent=it_agent)
    with deliver():
        services.ticket_transition(ticket=assigned, actor=assigned.requester, to_status=Status.OPEN)
    assert deliver.to == ["alice@example.com"]
    assert "reopened" in deliver.sent[0].body


def test_cancel_by_requester_tells_the_assignee(deliver, assigned):
    with deliver():
        services.ticket_transition(
            ticket=assigned, actor=assigned.requester, to_status=Status.CANCELLED
        )
    assert deliver.to == ["alice@example.com"]


def test_autoclose_sends_nothing(deliver, assigned, it_agent):
    move_to(assigned, Status.RESOLVED, agent=it_agent)
    with deliver():
        services.ticket_transition(ticket=assigned, actor=None, to_status=Status.CLOSED)
    assert deliver.to == []


# --- Conversation ---------------------------------------------------------------------


def test_agent_reply_tells_requester_outside_watchers_and_assignee(
    deliver, assigned, it_agent2, colleague
):
    services.ticket_add_watcher(ticket=assigned, actor=assigned.requester, watcher=colleague)
    with deliver():
        services.comment_add(ticket=assigned, author=it_agent2, body="Toner replaced.")
    assert deliver.to == ["alice@example.com", "carl@example.com", "rita@example.com"]
    to_requester = next(m for m in deliver.sent if m.to == ["rita@example.com"])
    assert "IT replied to your request." in to_requester.body
    assert "Toner replaced." in to_requester.body


def test_assignee_replying_is_not_emailed_their_own_reply(deliver, assigned, it_agent):
    with deliver():
        services.comment_add(ticket=assigned, author=it_agent, body="Toner replaced.")
    assert deliver.to == ["rita@example.com"]


def test_requester_reply_tells_assignee_and_watchers(deliver, assigned, it_agent2, colleague):
    services.ticket_add_watcher(ticket=assigned, actor=assigned.requester, watcher=colleague)
    services.ticket_add_watcher(ticket=assigned, actor=it_agent2, watcher=it_agent2)
    with deliver():
        services.comment_add(ticket=assigned, author=assigned.requester, body="Thanks!")
    assert deliver.to == ["alice@example.com", "bob@example.com", "carl@example.com"]


def test_internal_note_goes_to_the_assignee_only(deliver, assigned, it_agent2, colleague):
    services.ticket_add_watcher(ticket=assigned, actor=assigned.requester, watcher=colleague)
    with deliver():
        services.comment_add(
            ticket=assigned, author=it_agent2, body="Requester is a VIP.", is_internal=True
        )
    assert deliver.to == ["alice@example.com"]
    assert "Requester is a VIP." in deliver.sent[0].body


def test_internal_note_by_the_assignee_emails_nobody(deliver, assigned, it_agent):
    with deliver():
        services.comment_add(ticket=assigned, author=it_agent, body="note", is_internal=True)
    assert deliver.to == []


def test_internal_note_text_never_reaches_requester_side_mail(
    deliver, assigned, it_agent, it_agent2, colleague
):
    """A whole conversation: no email to the requester or a watcher carries the note."""
    services.ticket_add_watcher(ticket=assigned, actor=assigned.requester, watcher=colleague)
    with deliver():
        services.comment_add(
            ticket=assigned, author=it_agent2, body="SECRET-NOTE", is_internal=True
        )
        services.comment_add(ticket=assigned, author=it_agent, body="Working on it.")
        services.ticket_transition(ticket=assigned, actor=it_agent, to_status=Status.RESOLVED)
    outside = [m for m in deliver.sent if m.to[0] in ("rita@example.com", "carl@example.com")]
    assert len(outside) == 4
    assert not any("SECRET-NOTE" in m.body for m in outside)


# --- Transfer -------------------------------------------------------------------------


def test_transfer_to_another_department_tells_the_requester(deliver, ticket, it_agent, hr_type):
    with deliver():
        services.ticket_transfer(ticket=ticket, actor=it_agent, request_type=hr_type, reason="HR")
    assert deliver.to == ["rita@example.com"]
    assert "passed from IT to Human Resources" in deliver.sent[0].body


def test_transfer_within_the_department_sends_nothing(deliver, ticket, it, it_agent):
    with deliver():
        services.ticket_transfer(
            ticket=ticket, actor=it_agent, request_type=RequestTypeFactory(department=it),
            reason="Wrong type",
        )  # fmt: skip
    assert deliver.to == []


# --- Who is never emailed -------------------------------------------------------------


def test_inactive_users_and_users_without_address_are_skipped(deliver, ticket, it_agent):
    gone = UserFactory(username="gone", is_active=False)
    silent = UserFactory(username="silent", email="")
    for user in (gone, silent):
        ticket.watchers.add(user)
    with deliver():
        services.ticket_transition(ticket=ticket, actor=it_agent, to_status=Status.RESOLVED)
    assert deliver.to == ["rita@example.com"]


def test_watcher_who_cannot_see_a_confidential_ticket_gets_no_email(
    deliver, confidential_ticket, it_agent, colleague
):
    services.ticket_add_watcher(
        ticket=confidential_ticket, actor=confidential_ticket.requester, watcher=colleague
    )
    with deliver():
        services.comment_add(ticket=confidential_ticket, author=it_agent, body="Password reset.")
        services.ticket_transition(
            ticket=confidential_ticket, actor=it_agent, to_status=Status.RESOLVED
        )
        services.comment_add(
            ticket=confidential_ticket, author=confidential_ticket.requester, body="Thanks"
        )
    assert "carl@example.com" not in deliver.to
    assert "rita@example.com" in deliver.to


def test_each_recipient_gets_one_email_per_event(deliver, assigned, it_agent2):
    assigned.watchers.add(assigned.requester)  # listed twice: requester and watcher
    before = Message.objects.filter(payload__to="rita@example.com").count()
    with deliver():
        services.comment_add(ticket=assigned, author=it_agent2, body="Done.")
    assert deliver.to == ["alice@example.com", "rita@example.com"]
    assert Message.objects.filter(payload__to="rita@example.com").count() == before + 1


def test_every_email_queued_after_commit_is_delivered_once(deliver, assigned, it_agent):
    already = set(Message.objects.values_list("pk", flat=True))
    with deliver():
        services.comment_add(ticket=assigned, author=it_agent, body="Done.")
        services.ticket_transition(ticket=assigned, actor=it_agent, to_status=Status.RESOLVED)
    new = Message.objects.exclude(pk__in=already)
    assert new.count() == len(deliver.sent) == 2
    assert all(message.delivered_at is not None for message in new)


def test_other_department_agent_watching_gets_requester_side_mail(deliver, ticket, it_agent, hr):
    outsider = agent_of(hr, username="olga")
    services.ticket_add_watcher(ticket=ticket, actor=it_agent, watcher=outsider)
    with deliver():
        services.ticket_transition(ticket=ticket, actor=it_agent, to_status=Status.WAITING)
    assert deliver.to == ["olga@example.com", "rita@example.com"]


# --- Rendered by the worker -----------------------------------------------------------


def test_the_change_queues_what_to_send_and_the_worker_renders_it(
    it_type, requester, django_capture_on_commit_callbacks
):
    """The outbox row names the event, the person and the headline; no email text is
    rendered in the request that filed the ticket."""
    mail.outbox.clear()
    with django_capture_on_commit_callbacks() as callbacks:
        ticket = TicketFactory(request_type=it_type, created_by=requester, title="Printer")
    (message,) = Message.objects.filter(dedupe_key__startswith="ticket-event:")
    assert message.topic == Message.Topic.TICKET_EMAIL
    assert "text" not in message.payload and "subject" not in message.payload
    assert message.payload["to"] == "rita@example.com"

    for callback in callbacks:
        callback()

    (sent,) = mail.outbox
    assert sent.subject == f"[{ticket.reference}] Printer"
    assert "Your request to IT was received." in sent.body
    assert f"http://desk.test/tickets/{ticket.reference}/" in sent.body


def test_a_watcher_who_lost_access_before_delivery_gets_nothing(
    confidential_ticket, it, it_agent, django_capture_on_commit_callbacks
):
    """can_view is checked again when the worker sends: an agent who left the department
    between the reply and the delivery does not get a confidential ticket's email."""
    watcher = agent_of(it, username="wendy")
    services.ticket_add_watcher(ticket=confidential_ticket, actor=it_agent, watcher=watcher)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks() as callbacks:
        services.comment_add(
            ticket=confidential_ticket, author=confidential_ticket.requester, body="Any news?"
        )
    queued = Message.objects.filter(payload__user=watcher.pk)
    assert queued.count() == 1
    watcher.memberships.all().delete()

    for callback in callbacks:
        callback()

    assert "wendy@example.com" not in [address for m in mail.outbox for address in m.to]
    assert queued.get().delivered_at is not None  # done: nothing left to send

"""The read-side permission rules, checked directly: the query form (visible_tickets_q)
must agree with the per-ticket rule (can_view) for every kind of user."""

from __future__ import annotations

import pytest

from tests.factories import TicketFactory, UserFactory
from tickets import selectors, services
from tickets.models import Ticket


@pytest.fixture
def tickets(it_type, it_confidential_type, hr_type, requester, colleague, it_agent2):
    """A mix: plain, confidential, another department's; several watchers on each."""
    plain = TicketFactory(request_type=it_type, created_by=requester)
    secret = TicketFactory(request_type=it_confidential_type, created_by=requester)
    payroll = TicketFactory(request_type=hr_type, created_by=colleague)
    for ticket in (plain, secret, payroll):
        ticket.watchers.add(colleague, it_agent2, UserFactory())
    return [plain, secret, payroll]


@pytest.mark.parametrize(
    "role", ["requester", "colleague", "it_agent", "it_lead", "hr_agent", "superuser"]
)
def test_visible_tickets_q_agrees_with_can_view(request, tickets, role):
    user = request.getfixturevalue(role)
    visible = list(
        Ticket.objects.filter(selectors.visible_tickets_q(user)).values_list("reference", flat=True)
    )
    expected = [t.reference for t in tickets if selectors.can_view(user=user, ticket=t)]
    assert sorted(visible) == sorted(expected)  # and no ticket twice


def test_can_view_rules(tickets, requester, colleague, it_agent, hr_agent, superuser):
    plain, secret, payroll = tickets
    assert selectors.can_view(user=colleague, ticket=plain)  # watcher
    assert not selectors.can_view(user=colleague, ticket=secret)  # watcher, confidential
    assert selectors.can_view(user=colleague, ticket=payroll)  # requester
    assert selectors.can_view(user=it_agent, ticket=secret)
    assert not selectors.can_view(user=hr_agent, ticket=plain)
    assert selectors.can_view(user=hr_agent, ticket=payroll)
    assert all(selectors.can_view(user=superuser, ticket=t) for t in tickets)
    assert not selectors.can_view(user=requester, ticket=payroll)


def test_can_work_is_membership_of_the_tickets_department(tickets, it_agent, it_lead, hr_agent):
    plain, _secret, payroll = tickets
    assert selectors.can_work(user=it_agent, ticket=plain)
    assert selectors.can_work(user=it_lead, ticket=plain)
    assert not selectors.can_work(user=it_agent, ticket=payroll)
    assert selectors.can_work(user=hr_agent, ticket=payroll)


def test_member_of_the_department_sees_confidential_tickets_without_watching(
    it_confidential_type, requester, it_agent
):
    secret = TicketFactory(request_type=it_confidential_type, created_by=requester)
    assert selectors.can_view(user=it_agent, ticket=secret)


def test_comments_for_requester_exclude_internal_notes(ticket, it_agent):
    services.comment_add(ticket=ticket, author=it_agent, body="public")
    services.comment_add(ticket=ticket, author=it_agent, body="internal", is_internal=True)
    requester_view = selectors.ticket_comments_for(user=ticket.requester, ticket=ticket)
    agent_view = selectors.ticket_comments_for(user=it_agent, ticket=ticket)
    assert [c.body for c in requester_view] == ["public"]
    assert [c.body for c in agent_view] == ["public", "internal"]


def test_department_ids_are_cached_on_the_user(it_agent, django_assert_num_queries):
    selectors.user_department_ids(it_agent)
    with django_assert_num_queries(0):
        assert selectors.is_agent(it_agent)

"""Watchers: who may add and remove them, and what it records."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from tests.factories import UserFactory
from tickets import services
from tickets.models import TicketEvent

Action = TicketEvent.Action


def watcher_events(ticket):
    return list(
        TicketEvent.objects.filter(
            ticket=ticket, action__in=[Action.WATCHER_ADDED, Action.WATCHER_REMOVED]
        ).values_list("action", "actor__username", "old_value", "new_value")
    )


def test_requester_adds_a_colleague(ticket, colleague):
    services.ticket_add_watcher(ticket=ticket, actor=ticket.requester, watcher=colleague)
    assert list(ticket.watchers.all()) == [colleague]
    assert watcher_events(ticket) == [(Action.WATCHER_ADDED, "rita", "", "Carl")]


def test_agent_adds_anyone(ticket, it_agent, hr_agent):
    services.ticket_add_watcher(ticket=ticket, actor=it_agent, watcher=hr_agent)
    assert list(ticket.watchers.all()) == [hr_agent]


@pytest.mark.parametrize("who", ["colleague", "hr_agent"])
def test_others_cannot_add_watchers(request, ticket, who):
    actor = request.getfixturevalue(who)
    with pytest.raises(PermissionDenied):
        services.ticket_add_watcher(ticket=ticket, actor=actor, watcher=actor)
    assert not ticket.watchers.exists()


def test_a_watcher_cannot_add_more_watchers(ticket, colleague):
    services.ticket_add_watcher(ticket=ticket, actor=ticket.requester, watcher=colleague)
    with pytest.raises(PermissionDenied):
        services.ticket_add_watcher(ticket=ticket, actor=colleague, watcher=UserFactory())


def test_adding_twice_records_once(ticket, colleague):
    for _ in range(2):
        services.ticket_add_watcher(ticket=ticket, actor=ticket.requester, watcher=colleague)
    assert len(watcher_events(ticket)) == 1


def test_inactive_user_cannot_be_added(ticket):
    gone = UserFactory(is_active=False)
    with pytest.raises(ValidationError):
        services.ticket_add_watcher(ticket=ticket, actor=ticket.requester, watcher=gone)
    assert not ticket.watchers.exists()


def test_watcher_may_stop_watching(ticket, colleague):
    services.ticket_add_watcher(ticket=ticket, actor=ticket.requester, watcher=colleague)
    services.ticket_remove_watcher(ticket=ticket, actor=colleague, watcher=colleague)
    assert not ticket.watchers.exists()
    assert watcher_events(ticket)[-1] == (Action.WATCHER_REMOVED, "carl", "Carl", "")


@pytest.mark.parametrize("who", ["requester", "it_agent"])
def test_requester_and_agents_remove_any_watcher(request, ticket, colleague, who):
    services.ticket_add_watcher(ticket=ticket, actor=ticket.requester, watcher=colleague)
    services.ticket_remove_watcher(
        ticket=ticket, actor=request.getfixturevalue(who), watcher=colleague
    )
    assert not ticket.watchers.exists()


def test_a_watcher_cannot_remove_another(ticket, colleague):
    other = UserFactory(username="olive")
    for user in (colleague, other):
        services.ticket_add_watcher(ticket=ticket, actor=ticket.requester, watcher=user)
    with pytest.raises(PermissionDenied):
        services.ticket_remove_watcher(ticket=ticket, actor=colleague, watcher=other)
    assert ticket.watchers.count() == 2


def test_removing_a_non_watcher_records_nothing(ticket, colleague):
    services.ticket_remove_watcher(ticket=ticket, actor=ticket.requester, watcher=colleague)
    assert watcher_events(ticket) == []

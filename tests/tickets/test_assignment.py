"""Automatic assignment at filing and transfer: round robin, fewest open, manual."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from tests.factories import (
    DepartmentFactory,
    MembershipFactory,
    RequestTypeFactory,
    TicketFactory,
    UserFactory,
    agent_of,
    lead_of,
    move_to,
)
from tickets import services
from tickets.models import Department, Membership, Ticket, TicketEvent

Assignment = Department.Assignment
Status = Ticket.Status


@pytest.fixture
def ops(db):
    return DepartmentFactory(code="OPS", name="Operations")


@pytest.fixture
def ops_type(ops):
    return RequestTypeFactory(department=ops)


@pytest.fixture
def agents(ops):
    """Three available agents, created in id order."""
    return [agent_of(ops, username=name) for name in ("ann", "ben", "cat")]


def use_rule(department: Department, rule: str) -> None:
    # update_fields: a full save() would write back a stale ticket_sequence.
    department.assignment = rule
    department.save(update_fields=["assignment"])


def file(request_type, requester) -> Ticket:
    return TicketFactory(request_type=request_type, created_by=requester)


def assignees(request_type, requester, count: int) -> list[str]:
    return [str(file(request_type, requester).assignee or "") for _ in range(count)]


# --- Round robin ----------------------------------------------------------------------


def test_round_robin_cycles_in_order_and_wraps(ops, ops_type, agents, requester):
    use_rule(ops, Assignment.ROUND_ROBIN)
    assert assignees(ops_type, requester, 7) == ["Ann", "Ben", "Cat", "Ann", "Ben", "Cat", "Ann"]


def test_round_robin_skips_unavailable_agents(ops, ops_type, agents, requester):
    use_rule(ops, Assignment.ROUND_ROBIN)
    Membership.objects.filter(user=agents[1]).update(is_available=False)
    assert assignees(ops_type, requester, 4) == ["Ann", "Cat", "Ann", "Cat"]


def test_round_robin_skips_inactive_accounts(ops, ops_type, agents, requester):
    use_rule(ops, Assignment.ROUND_ROBIN)
    agents[0].is_active = False
    agents[0].save()
    assert assignees(ops_type, requester, 3) == ["Ben", "Cat", "Ben"]


def test_round_robin_skips_leads(ops, ops_type, agents, requester):
    use_rule(ops, Assignment.ROUND_ROBIN)
    lead_of(ops, username="lou")  # created last: would come after Cat
    assert assignees(ops_type, requester, 4) == ["Ann", "Ben", "Cat", "Ann"]


def test_round_robin_ignores_agents_of_other_departments(ops, ops_type, agents, requester, it):
    use_rule(ops, Assignment.ROUND_ROBIN)
    agent_of(it, username="zed")
    assert assignees(ops_type, requester, 4) == ["Ann", "Ben", "Cat", "Ann"]


def test_round_robin_continues_after_the_last_agent_leaves(ops, ops_type, agents, requester):
    use_rule(ops, Assignment.ROUND_ROBIN)
    assert assignees(ops_type, requester, 2) == ["Ann", "Ben"]
    Membership.objects.filter(user=agents[1]).delete()
    assert assignees(ops_type, requester, 2) == ["Cat", "Ann"]


def test_round_robin_moves_the_departments_pointer(ops, ops_type, agents, requester):
    use_rule(ops, Assignment.ROUND_ROBIN)
    file(ops_type, requester)
    ops.refresh_from_db()
    assert ops.last_assigned_to == agents[0]


def test_round_robin_with_nobody_available_leaves_ticket_unassigned(ops, ops_type, requester):
    use_rule(ops, Assignment.ROUND_ROBIN)
    lead_of(ops)
    MembershipFactory(department=ops, is_available=False)
    assert file(ops_type, requester).assignee is None


def test_automatic_assignment_is_recorded_as_a_system_event(ops, ops_type, agents, requester):
    use_rule(ops, Assignment.ROUND_ROBIN)
    ticket = file(ops_type, requester)
    event = TicketEvent.objects.get(ticket=ticket, action=TicketEvent.Action.ASSIGNED)
    assert (event.actor, event.old_value, event.new_value) == (None, "", "Ann")


# --- Fewest open ----------------------------------------------------------------------


def test_fewest_open_picks_the_agent_with_fewest_open_tickets(ops, ops_type, agents, requester):
    ann, ben, cat = agents
    for assignee in (ann, ann, ben):
        ticket = file(ops_type, requester)
        services.ticket_assign(ticket=ticket, actor=assignee, assignee=assignee)
    use_rule(ops, Assignment.FEWEST_OPEN)
    assert file(ops_type, requester).assignee == cat
    # Now Ben and Cat have one each: the tie goes to the first by id.
    assert file(ops_type, requester).assignee == ben


def test_fewest_open_ignores_finished_tickets(ops, ops_type, agents, requester):
    ann, ben, cat = agents
    for _ in range(3):
        ticket = file(ops_type, requester)
        services.ticket_assign(ticket=ticket, actor=ann, assignee=ann)
        move_to(ticket, Status.CLOSED, agent=ann)
    resolved = file(ops_type, requester)
    services.ticket_assign(ticket=resolved, actor=ann, assignee=ann)
    move_to(resolved, Status.RESOLVED, agent=ann)
    for other in (ben, cat):
        ticket = file(ops_type, requester)
        services.ticket_assign(ticket=ticket, actor=other, assignee=other)
    use_rule(ops, Assignment.FEWEST_OPEN)
    assert file(ops_type, requester).assignee == ann


def test_fewest_open_counts_only_this_departments_tickets(ops, ops_type, agents, requester, it):
    ann, ben, cat = agents
    MembershipFactory(department=it, user=ann)
    it_type = RequestTypeFactory(department=it)
    for _ in range(3):
        ticket = file(it_type, requester)
        services.ticket_assign(ticket=ticket, actor=ann, assignee=ann)
    for other in (ben, cat):
        ticket = file(ops_type, requester)
        services.ticket_assign(ticket=ticket, actor=other, assignee=other)
    use_rule(ops, Assignment.FEWEST_OPEN)
    assert file(ops_type, requester).assignee == ann


def test_fewest_open_skips_unavailable_inactive_and_leads(ops, ops_type, agents, requester):
    ann, ben, _cat = agents
    lead_of(ops, username="lou")
    Membership.objects.filter(user=ann).update(is_available=False)
    ben.is_active = False
    ben.save()
    use_rule(ops, Assignment.FEWEST_OPEN)
    assert assignees(ops_type, requester, 3) == ["Cat", "Cat", "Cat"]


# --- Manual ---------------------------------------------------------------------------


def test_manual_assigns_nobody(ops, ops_type, agents, requester):
    assert ops.assignment == Assignment.MANUAL
    ticket = file(ops_type, requester)
    assert ticket.assignee is None
    assert not TicketEvent.objects.filter(action=TicketEvent.Action.ASSIGNED).exists()


# --- ticket_assign --------------------------------------------------------------------


def test_agent_assigns_a_colleague_with_audit_event(ticket, it_agent, it_agent2):
    services.ticket_assign(ticket=ticket, actor=it_agent, assignee=it_agent2)
    services.ticket_assign(ticket=ticket, actor=it_agent, assignee=None)
    events = TicketEvent.objects.filter(ticket=ticket, action=TicketEvent.Action.ASSIGNED)
    assert list(events.values_list("actor__username", "old_value", "new_value")) == [
        ("alice", "", "Bob"),
        ("alice", "Bob", ""),
    ]
    assert Ticket.objects.get(pk=ticket.pk).assignee is None


def test_assigning_the_current_assignee_records_nothing(ticket, it_agent):
    services.ticket_assign(ticket=ticket, actor=it_agent, assignee=it_agent)
    services.ticket_assign(ticket=ticket, actor=it_agent, assignee=it_agent)
    assert TicketEvent.objects.filter(action=TicketEvent.Action.ASSIGNED).count() == 1


def test_cannot_assign_someone_outside_the_department(ticket, it_agent, hr_agent):
    with pytest.raises(ValidationError) as error:
        services.ticket_assign(ticket=ticket, actor=it_agent, assignee=hr_agent)
    assert "assignee" in error.value.message_dict
    assert Ticket.objects.get(pk=ticket.pk).assignee is None


def test_cannot_assign_an_inactive_member(ticket, it, it_agent):
    gone = agent_of(it, username="gone", is_active=False)
    with pytest.raises(ValidationError):
        services.ticket_assign(ticket=ticket, actor=it_agent, assignee=gone)


@pytest.mark.parametrize("who", ["requester", "hr_agent"])
def test_only_department_members_assign(request, ticket, it_agent, who):
    with pytest.raises(PermissionDenied):
        services.ticket_assign(ticket=ticket, actor=request.getfixturevalue(who), assignee=it_agent)
    assert Ticket.objects.get(pk=ticket.pk).assignee is None


@pytest.mark.parametrize("final", [Status.RESOLVED, Status.CLOSED, Status.CANCELLED])
def test_cannot_assign_a_ticket_that_is_not_open(ticket, it_agent, final):
    move_to(ticket, final, agent=it_agent)
    with pytest.raises(services.TransitionRefused):
        services.ticket_assign(ticket=ticket, actor=it_agent, assignee=it_agent)


def test_superuser_may_assign(ticket, superuser, it_agent):
    services.ticket_assign(ticket=ticket, actor=superuser, assignee=it_agent)
    assert Ticket.objects.get(pk=ticket.pk).assignee == it_agent


def test_lead_can_be_assigned_by_hand(ticket, it_agent, it_lead):
    services.ticket_assign(ticket=ticket, actor=it_agent, assignee=it_lead)
    assert Ticket.objects.get(pk=ticket.pk).assignee == it_lead


def test_user_without_membership_is_not_a_candidate(ops, ops_type, requester):
    use_rule(ops, Assignment.ROUND_ROBIN)
    UserFactory(username="nobody")
    assert file(ops_type, requester).assignee is None

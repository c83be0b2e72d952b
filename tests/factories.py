"""Factories for the test suite. Tickets are filed through the service, as in production,
so references, sequences, audit events and outbox rows are real."""

from __future__ import annotations

from typing import Any

import factory

from accounts.models import User
from tickets import services
from tickets.models import Department, Membership, RequestField, RequestType, Ticket

Status = Ticket.Status


class DepartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Department
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"D{n}")
    name = factory.LazyAttribute(lambda o: f"Department {o.code}")
    auto_close_days = 7


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.LazyAttribute(lambda o: o.username.capitalize())
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    home_department = None


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    department = factory.SubFactory(DepartmentFactory)
    role = Membership.Role.AGENT
    is_available = True


def agent_of(department: Department, **user_fields: Any) -> User:
    """A new user who is an available agent of `department`."""
    return MembershipFactory(department=department, user=UserFactory(**user_fields)).user


def lead_of(department: Department, **user_fields: Any) -> User:
    return MembershipFactory(
        department=department, user=UserFactory(**user_fields), role=Membership.Role.LEAD
    ).user


class RequestTypeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RequestType

    department = factory.SubFactory(DepartmentFactory)
    name = factory.Sequence(lambda n: f"Request type {n}")
    is_confidential = False


class RequestFieldFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RequestField

    request_type = factory.SubFactory(RequestTypeFactory)
    key = factory.Sequence(lambda n: f"field_{n}")
    label = factory.LazyAttribute(lambda o: o.key.replace("_", " ").capitalize())
    kind = RequestField.Kind.TEXT
    required = False


class TicketFactory(factory.Factory):
    """Files a ticket with services.ticket_create (never a bare INSERT)."""

    class Meta:
        model = Ticket

    request_type = factory.SubFactory(RequestTypeFactory)
    created_by = factory.SubFactory(UserFactory)
    title = factory.Sequence(lambda n: f"Printer {n} is jammed")
    description = "It makes a grinding noise and nothing comes out."

    @classmethod
    def _create(cls, model_class: type[Ticket], **kwargs: Any) -> Ticket:
        return services.ticket_create(**kwargs)


# The shortest path of service calls from NEW to each status, made by an agent.
PATH_TO: dict[str, list[str]] = {
    Status.NEW: [],
    Status.OPEN: [Status.OPEN],
    Status.WAITING: [Status.WAITING],
    Status.RESOLVED: [Status.RESOLVED],
    Status.CLOSED: [Status.RESOLVED, Status.CLOSED],
    Status.CANCELLED: [Status.CANCELLED],
}


def move_to(ticket: Ticket, status: str, *, agent: User, **kwargs: Any) -> Ticket:
    """Walk a NEW ticket to `status` through ticket_transition."""
    for step in PATH_TO[status]:
        ticket = services.ticket_transition(ticket=ticket, actor=agent, to_status=step, **kwargs)
    return ticket

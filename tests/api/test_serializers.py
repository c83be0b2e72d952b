"""Output serializers build their fields once per class (api/serializers.py
FieldsBuiltOnce): each instance must still answer for its own object and context. The
ticket and clock serializers write their representation by hand: it must be what DRF
makes of their declared fields (the OpenAPI schema's description of them)."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from rest_framework import serializers

from api.serializers import ClockSerializer, TicketDetailSerializer, TicketSerializer
from slas.models import SlaPolicy
from slas.selectors import ticket_sla_for
from tests.factories import TicketFactory, UserFactory, move_to
from tickets import services
from tickets.models import Priority


def test_each_serializer_answers_for_its_own_ticket_and_context(it_type, requester):
    first = TicketFactory(request_type=it_type, created_by=requester, title="First")
    second = TicketFactory(request_type=it_type, created_by=requester, title="Second")
    now = timezone.now()
    due = now + timedelta(hours=1)
    first.sla_due_at, first.sla_at_risk_at = due, now + timedelta(minutes=30)

    def detail(ticket, at):
        context = {"now": at, "clocks": [], "attachments": []}
        return TicketDetailSerializer(ticket, context=context).data

    early, late = detail(first, now), detail(first, due + timedelta(seconds=1))
    assert (early["sla"]["state"], late["sla"]["state"]) == ("on_track", "breached")
    # Two serializers alive at once (their fields bound before either answers): each
    # field must be bound to its own serializer, not to the one built last.
    serializers = [
        TicketDetailSerializer(first, context={"now": at, "clocks": [], "attachments": []})
        for at in (now, due + timedelta(seconds=1))
    ]
    for serializer in serializers:
        assert serializer.fields
    assert [s.data["sla"]["state"] for s in serializers] == ["on_track", "breached"]
    assert detail(second, now)["title"] == "Second"
    assert detail(second, now)["sla"]["state"] is None
    rows = TicketSerializer([first, second], many=True, context={"now": now}).data
    assert [r["title"] for r in rows] == ["First", "Second"]
    assert rows[0]["requester"]["username"] == requester.username
    assert rows[0]["url"].endswith(f"/{first.reference}/")


def _as_drf_writes_it(serializer: serializers.Serializer, instance: object) -> dict:  # type: ignore[type-arg]
    """DRF's generic representation from the declared fields (what the hand-written
    to_representation replaces)."""
    return dict(serializers.Serializer.to_representation(serializer, instance))


def test_hand_written_representations_are_what_drf_makes_of_the_declared_fields(
    it, it_type, requester, it_agent, hr_type
):
    SlaPolicy.objects.create(
        department=it, name="IT", first_response_minutes=60, resolution_minutes=480
    )
    worked = TicketFactory(request_type=it_type, created_by=requester, priority=Priority.HIGH)
    services.ticket_assign(ticket=worked, actor=it_agent, assignee=it_agent)
    worked = move_to(worked, "closed", agent=it_agent)
    homeless = UserFactory(username="nomad")  # no home department: none requesting
    plain = TicketFactory(request_type=hr_type, created_by=homeless)
    running = TicketFactory(request_type=it_type, created_by=requester)
    now = timezone.now()
    for ticket in (worked, plain, running):
        clocks = ticket_sla_for(user=it_agent, ticket=ticket, now=now)
        context = {"now": now, "clocks": clocks, "attachments": []}
        for serializer_class in (TicketSerializer, TicketDetailSerializer):
            serializer = serializer_class(ticket, context=context)
            mine, drf = serializer.to_representation(ticket), _as_drf_writes_it(serializer, ticket)
            assert list(mine) == list(drf) and mine == drf
        for view in clocks:
            mine, drf = (
                ClockSerializer().to_representation(view),
                _as_drf_writes_it(ClockSerializer(), view),
            )
            assert list(mine) == list(drf) and mine == drf
    assert worked.assignee and worked.closed_at and plain.requesting_department is None
    assert {c.state for c in ticket_sla_for(user=it_agent, ticket=worked, now=now)} >= {"met"}
    assert all(c.due_at for c in ticket_sla_for(user=it_agent, ticket=running, now=now))


def test_ticket_urls_are_what_reverse_gives_without_matching_the_patterns_per_row(
    it_type, requester, monkeypatch
):
    from django.urls import reverse, set_script_prefix

    from api import serializers as api_serializers

    tickets = [TicketFactory(request_type=it_type, created_by=requester) for _ in range(3)]
    expected = [reverse("api:ticket-detail", args=[t.reference]) for t in tickets]
    calls = []

    def counted_reverse(*args, **kwargs):
        calls.append(args)
        return reverse(*args, **kwargs)

    monkeypatch.setattr(api_serializers, "reverse", counted_reverse)
    rows = TicketSerializer(tickets, many=True, context={"now": timezone.now()}).data
    assert [row["url"] for row in rows] == expected
    assert len(calls) <= 1  # the parts around a mark, once
    # Behind a script prefix (SCRIPT_NAME), and a reference reverse() would quote.
    set_script_prefix("/desk/")
    try:
        assert api_serializers.ticket_url(tickets[0].reference) == reverse(
            "api:ticket-detail", args=[tickets[0].reference]
        )
        assert api_serializers.ticket_url(tickets[0].reference).startswith("/desk/api/")
        assert api_serializers.ticket_url("IT 7") == reverse("api:ticket-detail", args=["IT 7"])
    finally:
        set_script_prefix("/")

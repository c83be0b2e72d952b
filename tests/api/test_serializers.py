"""Output serializers build their fields once per class (api/serializers.py
FieldsBuiltOnce): each instance must still answer for its own object and context."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from api.serializers import TicketDetailSerializer, TicketSerializer
from tests.factories import TicketFactory


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

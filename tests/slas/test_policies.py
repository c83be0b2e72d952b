"""Which SLA policy applies to a ticket, and how warning thresholds are written."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from django.core.exceptions import ValidationError

from slas.models import SlaClock, SlaPolicy, parse_percents, validate_percents
from slas.services import policy_for
from tests.factories import RequestTypeFactory
from tickets import services
from tickets.models import Priority

MONDAY = datetime(2026, 6, 1, 12, tzinfo=UTC)
URGENT = Priority.URGENT


@pytest.fixture
def urgent_ticket(it_type, requester):
    """Filed by Sales (the requester's department) to IT, Hardware, urgent."""
    return services.ticket_create(
        created_by=requester,
        request_type=it_type,
        title="Server room is flooding",
        description="Water under the racks.",
        priority=Priority.URGENT,
        now=MONDAY,
    )


# --- The most specific active policy wins ---------------------------------------------


def test_most_specific_policy_wins_and_each_dimension_narrows_it(
    it, sales, it_type, urgent_ticket, make_policy
):
    ladder = [
        make_policy(it, name="Department-wide"),
        make_policy(it, name="Urgent", priority=URGENT),
        make_policy(it, name="From Sales", requesting_department=sales),
        make_policy(it, name="From Sales, urgent", requesting_department=sales, priority=URGENT),
        make_policy(it, name="Hardware", request_type=it_type),
        make_policy(it, name="Hardware, urgent", request_type=it_type, priority=URGENT),
        make_policy(
            it, name="Hardware from Sales", request_type=it_type, requesting_department=sales
        ),
        make_policy(
            it,
            name="Hardware from Sales, urgent",
            request_type=it_type,
            requesting_department=sales,
            priority=URGENT,
        ),
    ]
    # Each is more specific than the one before: request type, then requesting department,
    # then priority. Switch them off from the top and the next one down takes over.
    for expected in reversed(ladder):
        assert policy_for(ticket=urgent_ticket, now=MONDAY) == expected
        expected.is_active = False  # as admin does: save() (policies are cached per process)
        expected.save(update_fields=["is_active"])
    assert policy_for(ticket=urgent_ticket, now=MONDAY) is None


def test_specific_policies_for_something_else_do_not_apply(
    it, hr, it_type, urgent_ticket, make_policy
):
    wide = make_policy(it, name="Department-wide")
    make_policy(it, name="Low", priority=Priority.LOW)
    make_policy(it, name="From HR", requesting_department=hr)
    make_policy(it, name="Software", request_type=RequestTypeFactory(department=it))
    make_policy(hr, name="HR's own", priority=Priority.URGENT)

    assert policy_for(ticket=urgent_ticket, now=MONDAY) == wide


def test_only_another_departments_policy_means_no_sla(hr, urgent_ticket, make_policy):
    make_policy(hr, name="HR-wide")

    assert policy_for(ticket=urgent_ticket, now=MONDAY) is None


def test_equally_specific_policies_the_newest_wins(it, urgent_ticket, make_policy):
    make_policy(it, name="Old", priority=Priority.URGENT)
    newest = make_policy(it, name="New", priority=Priority.URGENT)

    assert policy_for(ticket=urgent_ticket, now=MONDAY) == newest


def test_inactive_policy_is_ignored(it, it_type, urgent_ticket, make_policy):
    wide = make_policy(it, name="Department-wide")
    make_policy(it, name="Hardware (retired)", request_type=it_type, is_active=False)

    assert policy_for(ticket=urgent_ticket, now=MONDAY) == wide


@pytest.mark.parametrize(
    ("active_from", "active_until", "applies"),
    [
        (date(2026, 6, 1), None, True),  # from today
        (date(2026, 6, 2), None, False),  # from tomorrow
        (None, date(2026, 6, 1), True),  # until today, inclusive
        (None, date(2026, 5, 31), False),  # ended yesterday
        (date(2026, 5, 1), date(2026, 6, 30), True),
        (date(2026, 7, 1), date(2026, 7, 31), False),
    ],
)
def test_policy_applies_only_between_its_dates(
    it, it_type, urgent_ticket, make_policy, active_from, active_until, applies
):
    wide = make_policy(it, name="Department-wide")
    dated = make_policy(
        it,
        name="Hardware, this season",
        request_type=it_type,
        active_from=active_from,
        active_until=active_until,
    )

    assert policy_for(ticket=urgent_ticket, now=MONDAY) == (dated if applies else wide)


def test_request_type_without_sla_has_no_policy_even_a_specific_one(it, requester, make_policy):
    exempt = RequestTypeFactory(department=it, name="Feedback", sla_exempt=True)
    make_policy(it, name="Department-wide")
    make_policy(it, name="Feedback", request_type=exempt)
    ticket = services.ticket_create(
        created_by=requester,
        request_type=exempt,
        title="Nice new portal",
        description="Thanks.",
        now=MONDAY,
    )

    assert policy_for(ticket=ticket, now=MONDAY) is None


def test_filing_uses_the_winning_policy_for_its_clocks(it, sales, it_type, requester, make_policy):
    make_policy(it, name="Department-wide")
    winner = make_policy(
        it,
        name="Hardware from Sales",
        request_type=it_type,
        requesting_department=sales,
        first_response_minutes=15,
        resolution_minutes=120,
        next_response_minutes=30,
        warning_percents="60, 90",
    )

    ticket = services.ticket_create(
        created_by=requester,
        request_type=it_type,
        title="Laptop",
        description="Broken hinge.",
        now=MONDAY,
    )

    clocks = {c.kind: c for c in SlaClock.objects.filter(ticket=ticket)}
    assert set(clocks) == {SlaClock.Kind.FIRST_RESPONSE, SlaClock.Kind.RESOLUTION}
    assert {c.policy for c in clocks.values()} == {winner}
    assert clocks[SlaClock.Kind.FIRST_RESPONSE].target_seconds == 15 * 60
    assert clocks[SlaClock.Kind.RESOLUTION].target_seconds == 120 * 60
    assert clocks[SlaClock.Kind.RESOLUTION].warning_percents == [60, 90]


# --- Warning thresholds ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "parsed"),
    [
        ("50, 75", [50, 75]),
        ("50,75", [50, 75]),
        (" 25 , 50 , 90 ", [25, 50, 90]),
        ("80", [80]),
        ("1, 99", [1, 99]),
        ("50, 75,", [50, 75]),
        ("", []),
        ("   ", []),
    ],
)
def test_warning_thresholds_parse(written, parsed):
    assert parse_percents(written) == parsed
    validate_percents(written)  # no error


@pytest.mark.parametrize(
    ("written", "message"),
    [
        ("fifty", "whole percentages"),
        ("50.5", "whole percentages"),
        ("50; 75", "whole percentages"),
        ("0, 50", "between 1 and 99"),
        ("50, 100", "between 1 and 99"),
        ("-10", "between 1 and 99"),
        ("75, 50", "smallest first"),
        ("50, 50", "once each"),
    ],
)
def test_warning_thresholds_refused_with_a_clear_message(written, message):
    with pytest.raises(ValueError, match=message):
        parse_percents(written)
    with pytest.raises(ValidationError) as error:
        validate_percents(written)
    assert message in error.value.messages[0]


def test_policy_validation_reports_bad_thresholds_on_the_field(it):
    policy = SlaPolicy(
        name="Broken",
        department=it,
        first_response_minutes=60,
        resolution_minutes=480,
        warning_percents="75, 50",
    )
    with pytest.raises(ValidationError) as error:
        policy.full_clean()
    assert list(error.value.message_dict) == ["warning_percents"]

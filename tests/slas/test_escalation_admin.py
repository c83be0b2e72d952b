"""Django admin for escalations: rules with their actions (validation on the right field,
nothing half saved, “no update” timers scheduled again after a change), SLA events
(read-only), the department's chat channel with its test message, and the outbox list
where a failing webhook shows up."""

from __future__ import annotations

import html
import json
import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import time_machine

from outbox.models import Message
from outbox.services import outbox_relay
from slas.escalations import sla_event_handle
from slas.models import EscalationAction, EscalationRule, IdleTimer, SlaEvent
from slas.sweep import sla_sweep
from tests.factories import RequestTypeFactory, UserFactory
from tickets import services
from tickets.models import Department, Priority, Ticket

RULES = "/admin/slas/escalationrule/"
EVENTS = "/admin/slas/slaevent/"
DEPARTMENTS = "/admin/tickets/department/"
MESSAGES = "/admin/outbox/message/"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday; the departments work round the clock
H = timedelta(hours=1)
Trigger = EscalationRule.Trigger
Do = EscalationAction.Kind
To = EscalationAction.Target


@pytest.fixture
def admin_client(client, superuser):
    client.force_login(superuser)
    return client


def text_of(response) -> str:
    without_tags = re.sub(r"<[^>]+>", " ", response.content.decode())
    return re.sub(r"\s+", " ", html.unescape(without_tags))


def rule_form(
    department: Department,
    *,
    actions: list[dict[str, Any]] | tuple[dict[str, Any], ...] = (),
    initial_actions: int = 0,
    **fields: Any,
) -> dict[str, Any]:
    """POST data for the rule add or change page, with its actions inline."""
    data: dict[str, Any] = {
        "department": str(department.pk),
        "level": "1",
        "name": "Nudge the assignee",
        "is_active": "on",
        "trigger": Trigger.WARNING,
        "clock_kind": "",
        "warning_percent": "",
        "idle_hours": "",
        "actions-TOTAL_FORMS": str(len(actions)),
        "actions-INITIAL_FORMS": str(initial_actions),
        "actions-MIN_NUM_FORMS": "0",
        "actions-MAX_NUM_FORMS": "1000",
        **fields,
    }
    for index, action in enumerate(actions):
        row = {"position": str(index), "kind": "", "target": "", "person": "", "text": ""}
        row.update(action)
        data.update({f"actions-{index}-{key}": value for key, value in row.items()})
    return data


def errors_of(response) -> dict[str, list[str]]:
    """The rule form's field errors and each action row's errors, by field name."""
    assert response.status_code == 200, "expected the form again, with errors"
    found = {
        name: list(errors) for name, errors in response.context["adminform"].form.errors.items()
    }
    for formset in response.context["inline_admin_formsets"]:
        for index, form_errors in enumerate(formset.formset.errors):
            for name, errors in form_errors.items():
                found[f"actions-{index}-{name}"] = list(errors)
    return found


def make_rule(department: Department, trigger: str, **fields: Any) -> EscalationRule:
    rule = EscalationRule.objects.create(
        department=department, name=fields.pop("name", "Rule"), trigger=trigger, **fields
    )
    EscalationAction.objects.create(rule=rule, kind=Do.NOTIFY, target=To.ASSIGNEE)
    return rule


def file_ticket(request_type, requester, now=T0) -> Ticket:
    with time_machine.travel(now, tick=False):
        return services.ticket_create(
            created_by=requester,
            request_type=request_type,
            title="The printer is jammed",
            description="Paper everywhere.",
            now=now,
        )


# --- Rule pages -----------------------------------------------------------------------


def test_add_page_renders_priorities_as_checkboxes_and_an_action_row(admin_client, it):
    response = admin_client.get(f"{RULES}add/")

    assert response.status_code == 200
    page = response.content.decode()
    for value in Priority.values:
        assert f'type="checkbox" name="priorities" value="{value}"' in page
    assert 'name="actions-TOTAL_FORMS" value="1"' in page  # room for the first action
    assert "None ticked: every priority." in text_of(response)


def test_change_page_offers_only_the_departments_request_types(admin_client, it, it_type, hr_type):
    rule = make_rule(it, Trigger.BREACH, priorities=[3, 4])

    response = admin_client.get(f"{RULES}{rule.pk}/change/")

    assert response.status_code == 200
    field = response.context["adminform"].form.fields["request_types"]
    assert list(field.queryset) == [it_type]
    page = response.content.decode()
    assert re.search(r'name="priorities" value="3"[^>]*checked', page)
    assert not re.search(r'name="priorities" value="1"[^>]*checked', page)
    assert re.search(r'<option value="notify" selected>', page)  # the action's row


def test_add_page_for_a_department_offers_its_request_types(admin_client, it, it_type, hr_type):
    response = admin_client.get(f"{RULES}add/?department={it.pk}")

    assert list(response.context["adminform"].form.fields["request_types"].queryset) == [it_type]


def test_adding_a_rule_with_actions_in_order(admin_client, it, it_type, it_agent, sales):
    data = rule_form(
        it,
        name="Tell the lead",
        level="2",
        trigger=Trigger.BREACH,
        clock_kind="resolution",
        priorities=["3", "4"],
        request_types=[str(it_type.pk)],
        requesting_departments=[str(sales.pk)],
        actions=[
            {"kind": Do.NOTIFY, "target": To.LEADS, "text": "Please look at this."},
            {"kind": Do.ADD_WATCHER, "person": str(it_agent.pk)},
            {"kind": Do.RAISE_PRIORITY},
        ],
    )

    response = admin_client.post(f"{RULES}add/", data)

    assert response.status_code == 302, errors_of(response)
    rule = EscalationRule.objects.get()
    assert (rule.name, rule.level, rule.trigger, rule.clock_kind) == (
        "Tell the lead", 2, "breach", "resolution"
    )  # fmt: skip
    assert rule.priorities == [3, 4]  # the JSON list of Priority values
    assert list(rule.request_types.all()) == [it_type]
    assert list(rule.requesting_departments.all()) == [sales]
    assert [(a.position, a.kind, a.target) for a in rule.actions.all()] == [
        (0, "notify", "leads"),
        (1, "add_watcher", ""),
        (2, "raise_priority", ""),
    ]


def test_list_shows_trigger_target_and_action_summary(admin_client, it, hr, it_agent):
    warning = make_rule(it, Trigger.WARNING, name="Nudge", warning_percent=75)
    make_rule(hr, Trigger.NO_UPDATE, name="Quiet", idle_hours=8, level=1)
    breach = make_rule(it, Trigger.BREACH, name="Lead takes over", level=3, clock_kind="resolution")
    EscalationAction.objects.create(
        rule=breach, position=1, kind=Do.REASSIGN, target=To.PERSON, person=it_agent
    )

    response = admin_client.get(RULES)

    assert response.status_code == 200
    text = text_of(response)
    assert "Warning at 75 % Any target" in text
    assert "No update for 8 business hours —" in text
    assert "Breach Resolution" in text
    assert f"Notify the assignee; Reassign to a named person ({it_agent})" in text
    names = [rule.name for rule in response.context["cl"].result_list]
    assert names == ["Quiet", "Nudge", "Lead takes over"]  # department, then level
    assert warning.pk


# --- Bad input: a clear error on the field, nothing saved -----------------------------


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        (
            {"trigger": Trigger.NO_UPDATE},
            "idle_hours",
            "Say after how many business hours without an update.",
        ),
        (
            {"trigger": Trigger.NO_UPDATE, "idle_hours": "8", "clock_kind": "resolution"},
            "clock_kind",
            "“No update” does not watch an SLA target; leave it empty.",
        ),
        (
            {"trigger": Trigger.BREACH, "idle_hours": "8"},
            "idle_hours",
            "Only “no update” rules count hours without an update.",
        ),
        (
            {"trigger": Trigger.BREACH, "warning_percent": "75"},
            "warning_percent",
            "Only warning rules have a threshold.",
        ),
        (
            {"trigger": Trigger.WARNING, "warning_percent": "100"},
            "warning_percent",
            "A threshold is between 1 and 99 percent.",
        ),
        (
            {"priorities": ["9"]},
            "priorities",
            "Select a valid choice. 9 is not one of the available choices.",
        ),
    ],
)
def test_invalid_rules_show_the_error_on_the_field_and_save_nothing(
    admin_client, it, fields, field, message
):
    data = rule_form(it, actions=[{"kind": Do.NOTIFY, "target": To.ASSIGNEE}], **fields)

    response = admin_client.post(f"{RULES}add/", data)

    assert errors_of(response) == {field: [message]}
    assert not EscalationRule.objects.exists()
    assert not EscalationAction.objects.exists()


def test_a_request_type_of_another_department_is_refused(admin_client, it, it_type, hr_type):
    data = rule_form(it, request_types=[str(it_type.pk), str(hr_type.pk)])

    response = admin_client.post(f"{RULES}add/", data)

    errors = errors_of(response)
    assert list(errors) == ["request_types"]
    assert errors["request_types"][0].startswith(
        "Human Resources · Payslip question: not a request type of IT."
    )
    assert not EscalationRule.objects.exists()


def test_moving_a_rule_to_another_department_checks_its_request_types(
    admin_client, it, hr, it_type
):
    rule = make_rule(it, Trigger.BREACH)
    rule.request_types.set([it_type])
    action = rule.actions.get()
    data = rule_form(
        hr,
        trigger=Trigger.BREACH,
        request_types=[str(it_type.pk)],
        initial_actions=1,
        actions=[
            {"id": str(action.pk), "rule": str(rule.pk), "kind": Do.NOTIFY, "target": "assignee"}
        ],
    )

    response = admin_client.post(f"{RULES}{rule.pk}/change/", data)

    assert "not a request type of Human Resources" in errors_of(response)["request_types"][0]
    rule.refresh_from_db()
    assert rule.department == it


@pytest.mark.parametrize(
    ("action", "field", "message"),
    [
        ({"kind": Do.NOTIFY}, "target", "Choose who is notified."),
        (
            {"kind": Do.REASSIGN, "target": To.REQUESTER},
            "target",
            "Reassign to a named person, the lead or automatic assignment.",
        ),
        (
            {"kind": Do.RAISE_PRIORITY, "target": To.LEADS},
            "target",
            "This action has no target; leave it empty.",
        ),
        ({"kind": Do.REASSIGN, "target": To.PERSON}, "person", "Choose the person."),
        ({"kind": Do.ADD_WATCHER}, "person", "Choose the person."),
        ({"kind": Do.INTERNAL_NOTE, "text": "   "}, "text", "Write the note."),
    ],
)
def test_invalid_actions_show_the_error_on_their_row_and_save_nothing(
    admin_client, it, action, field, message
):
    data = rule_form(it, actions=[{"kind": Do.NOTIFY, "target": To.ASSIGNEE}, action])

    response = admin_client.post(f"{RULES}add/", data)

    assert errors_of(response) == {f"actions-1-{field}": [message]}
    assert not EscalationRule.objects.exists()
    assert not EscalationAction.objects.exists()


# --- “No update” rules: open tickets get their timers ---------------------------------


def next_checks(*tickets: Ticket) -> list[datetime | None]:
    timers = {t.pk: t.next_check_at for t in IdleTimer.objects.filter(ticket__in=tickets)}
    return [timers.get(ticket.pk) for ticket in tickets]


@pytest.fixture
def open_tickets(it_type, hr_type, requester) -> list[Ticket]:
    """Two IT tickets (one filed an hour later) and an HR one, filed before any rule."""
    return [
        file_ticket(it_type, requester),
        file_ticket(it_type, requester, now=T0 + H),
        file_ticket(hr_type, requester),
    ]


def test_adding_a_no_update_rule_schedules_the_departments_open_tickets(
    admin_client, it, open_tickets, django_capture_on_commit_callbacks
):
    assert next_checks(*open_tickets) == [None, None, None]
    data = rule_form(
        it,
        name="Quiet",
        trigger=Trigger.NO_UPDATE,
        idle_hours="8",
        actions=[{"kind": Do.INTERNAL_NOTE, "text": "Give the requester news."}],
    )

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = admin_client.post(f"{RULES}add/", data)

    assert response.status_code == 302, errors_of(response)
    assert len(callbacks) == 1  # after commit: the rule and its actions are all saved
    # Round the clock: 8 business hours after each ticket's last update; HR is untouched.
    assert next_checks(*open_tickets) == [T0 + 8 * H, T0 + 9 * H, None]


@pytest.mark.django_db(transaction=True)
def test_the_reschedule_runs_after_the_commit_and_says_so(client, it, it_type, requester):
    """With real commits (no test transaction around the request): the timers are
    scheduled when the admin's transaction commits, and the page says how many."""
    client.force_login(UserFactory(username="root", is_superuser=True, is_staff=True))
    ticket = file_ticket(it_type, requester)
    data = rule_form(
        it,
        name="Quiet",
        trigger=Trigger.NO_UPDATE,
        idle_hours="8",
        actions=[{"kind": Do.INTERNAL_NOTE, "text": "Give the requester news."}],
    )

    response = client.post(f"{RULES}add/", data, follow=True)

    assert next_checks(ticket) == [T0 + 8 * H]
    assert "The “no update” timers of 1 open ticket(s) of IT were scheduled again." in text_of(
        response
    )


def test_changing_the_hours_deactivating_and_deleting_reschedule(
    admin_client, it, open_tickets, django_capture_on_commit_callbacks
):
    rule = make_rule(it, Trigger.NO_UPDATE, idle_hours=8)
    action = rule.actions.get()
    url = f"{RULES}{rule.pk}/change/"
    row = {"id": str(action.pk), "rule": str(rule.pk), "kind": Do.NOTIFY, "target": To.ASSIGNEE}

    def change(**fields: Any) -> None:
        data = rule_form(
            it, name="Rule", trigger=Trigger.NO_UPDATE, initial_actions=1, actions=[row], **fields
        )
        with django_capture_on_commit_callbacks(execute=True):
            response = admin_client.post(url, data)
        assert response.status_code == 302, errors_of(response)

    change(idle_hours="4")
    assert next_checks(*open_tickets[:2]) == [T0 + 4 * H, T0 + 5 * H]

    change(idle_hours="4", is_active="")  # unticked
    assert next_checks(*open_tickets[:2]) == [None, None]

    change(idle_hours="4", is_active="on")
    assert next_checks(*open_tickets[:2]) == [T0 + 4 * H, T0 + 5 * H]

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(f"{RULES}{rule.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not EscalationRule.objects.exists()
    assert next_checks(*open_tickets[:2]) == [None, None]


def test_turning_a_no_update_rule_into_a_breach_rule_stops_the_timers(
    admin_client, it, open_tickets, django_capture_on_commit_callbacks
):
    rule = make_rule(it, Trigger.NO_UPDATE, idle_hours=8)
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(f"{RULES}{rule.pk}/change/", {})  # a failed form: nothing happens
    action = rule.actions.get()
    data = rule_form(
        it,
        trigger=Trigger.BREACH,
        initial_actions=1,
        actions=[{"id": str(action.pk), "rule": str(rule.pk), "kind": "notify", "target": "leads"}],
    )
    IdleTimer.objects.filter(ticket__in=open_tickets[:2]).update(next_check_at=T0 + 8 * H)

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(f"{RULES}{rule.pk}/change/", data)

    assert response.status_code == 302, errors_of(response)
    assert next_checks(*open_tickets[:2]) == [None, None]


def test_renaming_a_rule_or_changing_a_breach_rule_schedules_nothing(
    admin_client, it, open_tickets, django_capture_on_commit_callbacks
):
    quiet = make_rule(it, Trigger.NO_UPDATE, idle_hours=8, name="Quiet")
    breach = make_rule(it, Trigger.BREACH, name="Breach")
    for rule, fields in (
        (quiet, {"trigger": Trigger.NO_UPDATE, "idle_hours": "8.00", "name": "Very quiet"}),
        (breach, {"trigger": Trigger.BREACH, "name": "Breach", "level": "3"}),
    ):
        action = rule.actions.get()
        row = {"id": str(action.pk), "rule": str(rule.pk), "kind": "notify", "target": "assignee"}
        data = rule_form(it, initial_actions=1, actions=[row], **fields)
        with django_capture_on_commit_callbacks() as callbacks:
            response = admin_client.post(f"{RULES}{rule.pk}/change/", data)
        assert response.status_code == 302, errors_of(response)
        assert callbacks == []


def test_deleting_rules_from_the_list_reschedules(
    admin_client, it, open_tickets, django_capture_on_commit_callbacks
):
    rule = make_rule(it, Trigger.NO_UPDATE, idle_hours=8)
    IdleTimer.objects.filter(ticket__in=open_tickets[:2]).update(next_check_at=T0 + 8 * H)
    data = {"action": "delete_selected", "_selected_action": [str(rule.pk)], "post": "yes"}

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(RULES, data)

    assert response.status_code == 302
    assert not EscalationRule.objects.exists()
    assert next_checks(*open_tickets[:2]) == [None, None]


# --- SLA events -----------------------------------------------------------------------


@pytest.fixture
def breached(it, make_policy, it_type, requester, it_agent) -> Ticket:
    """An IT ticket whose first response is breached, with a level-2 rule that ran."""
    make_policy(it)  # first response 1 h; warnings at 50 % and 75 %
    rule = make_rule(it, Trigger.BREACH, name="Tell the lead", level=2)
    rule.actions.update(target=To.LEADS)
    ticket = file_ticket(it_type, requester)
    with time_machine.travel(T0 + 2 * H, tick=False):
        sla_sweep(now=T0 + 2 * H)
        for event in SlaEvent.objects.filter(handled_at__isnull=True):
            sla_event_handle(event_id=event.pk, now=T0 + 2 * H)
    return ticket


def test_events_list_shows_ticket_kind_threshold_and_outcome(admin_client, breached):
    response = admin_client.get(EVENTS)

    assert response.status_code == 200
    text = text_of(response)
    assert breached.reference in text
    assert "Level 2 “Tell the lead”:" in text
    assert "· notified the department's lead(s) (nobody): 0 emails" in text
    assert "No escalation rule applies." in text  # the 50 % and 75 % warnings
    assert "100 %" in text and "75 %" in text
    rows = response.context["cl"].result_list
    assert [(e.kind, e.threshold) for e in rows] == [
        ("breach", 100), ("warning", 75), ("warning", 50)
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("kind__exact=breach", [("breach", 100)]),
        ("handled=no", []),
        ("handled=yes", [("breach", 100), ("warning", 75), ("warning", 50)]),
    ],
)
def test_events_can_be_filtered(admin_client, breached, query, expected):
    response = admin_client.get(f"{EVENTS}?{query}")
    assert [(e.kind, e.threshold) for e in response.context["cl"].result_list] == expected


def test_events_are_read_only(admin_client, breached):
    event = SlaEvent.objects.get(kind="breach")
    assert admin_client.get(f"{EVENTS}add/").status_code == 403
    assert admin_client.get(f"{EVENTS}{event.pk}/change/").status_code == 200  # view only
    response = admin_client.post(f"{EVENTS}{event.pk}/change/", {"outcome": "rewritten"})
    assert response.status_code == 403
    assert admin_client.post(f"{EVENTS}{event.pk}/delete/", {"post": "yes"}).status_code == 403
    event.refresh_from_db()
    assert event.outcome.startswith("Level 2")


def test_agents_without_admin_access_cannot_open_the_rule_admin(client, it_agent, it):
    client.force_login(it_agent)
    response = client.get(RULES)
    assert response.status_code == 302 and "/login/" in response["Location"]


# --- The department's chat channel ----------------------------------------------------


class ChatReceiver(BaseHTTPRequestHandler):
    posts: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        ChatReceiver.posts.append({"path": self.path, "json": json.loads(body)})
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def chat_url() -> Iterator[str]:
    """A local incoming-webhook receiver standing in for Slack or Teams."""
    ChatReceiver.posts = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), ChatReceiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/hooks/it"
    server.shutdown()
    server.server_close()


def test_department_page_shows_the_chat_channel_and_its_rules(admin_client, it):
    make_rule(it, Trigger.WARNING, name="Nudge", warning_percent=75)
    make_rule(it, Trigger.BREACH, name="Tell the lead", level=2, is_active=False)

    response = admin_client.get(f"{DEPARTMENTS}{it.pk}/change/")

    assert response.status_code == 200
    page = response.content.decode()
    assert 'name="chat_webhook_url"' in page and 'name="chat_webhook_format"' in page
    text = text_of(response)
    assert "Level 1 · Nudge" in text and "Level 2 · Tell the lead (inactive)" in text
    assert f'href="{RULES}add/?department={it.pk}"' in page


def test_saving_the_chat_webhook(admin_client, it):
    response = admin_client.get(f"{DEPARTMENTS}{it.pk}/change/")
    form = response.context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None}
    for prefix in ("memberships", "request_types"):
        data.update({f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"})
    data.update(
        {
            "chat_webhook_url": "https://hooks.example.com/services/T0/B0/x",
            "chat_webhook_format": "teams",
        }
    )

    response = admin_client.post(f"{DEPARTMENTS}{it.pk}/change/", data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    it.refresh_from_db()
    assert (it.chat_webhook_url, it.chat_webhook_format) == (
        "https://hooks.example.com/services/T0/B0/x", "teams"
    )  # fmt: skip


def test_test_message_action_queues_one_chat_message_per_click(admin_client, it, hr, chat_url):
    Department.objects.filter(pk=it.pk).update(chat_webhook_url=chat_url)
    data = {"action": "send_chat_test", "_selected_action": [str(it.pk), str(hr.pk)]}

    response = admin_client.post(DEPARTMENTS, data, follow=True)

    message = Message.objects.get(topic=Message.Topic.CHAT)
    assert message.payload["url"] == chat_url
    assert message.payload["body"]["text"].startswith("Test message from servicedesk for IT")
    text = text_of(response)
    assert "Test message queued for IT." in text
    assert "No chat webhook URL set for Human Resources." in text

    admin_client.post(DEPARTMENTS, data)  # a second click is a second message
    assert Message.objects.filter(topic=Message.Topic.CHAT).count() == 2

    with time_machine.travel(datetime.now(UTC) + H, tick=False):
        assert outbox_relay(now=datetime.now(UTC)) == 2  # delivered to the receiver
    assert [post["path"] for post in ChatReceiver.posts] == ["/hooks/it", "/hooks/it"]
    assert ChatReceiver.posts[0]["json"]["text"].startswith("Test message from servicedesk")


def test_teams_channels_get_a_message_card_test(admin_client, it):
    Department.objects.filter(pk=it.pk).update(
        chat_webhook_url="https://example.invalid/hook", chat_webhook_format="teams"
    )
    admin_client.post(DEPARTMENTS, {"action": "send_chat_test", "_selected_action": [str(it.pk)]})
    body = Message.objects.get(topic=Message.Topic.CHAT).payload["body"]
    assert body["@type"] == "MessageCard"
    assert body["text"].startswith("Test message from servicedesk for IT")


# --- The outbox: a failing webhook is visible -----------------------------------------


def test_a_failing_webhook_shows_its_error_and_can_be_retried(admin_client, it):
    Department.objects.filter(pk=it.pk).update(chat_webhook_url="http://127.0.0.1:9/hook")
    admin_client.post(DEPARTMENTS, {"action": "send_chat_test", "_selected_action": [str(it.pk)]})
    message = Message.objects.get(topic=Message.Topic.CHAT)
    outbox_relay(now=datetime.now(UTC) + H)  # nothing listens on port 9: refused

    response = admin_client.get(f"{MESSAGES}?topic__exact=chat&state=retrying")

    assert [m.pk for m in response.context["cl"].result_list] == [message.pk]
    text = text_of(response)
    assert "retrying" in text
    assert "URLError" in text and "127.0.0.1:9" in text
    delivered = admin_client.get(f"{MESSAGES}?state=delivered&topic__exact=chat")
    assert list(delivered.context["cl"].result_list) == []

    response = admin_client.post(
        MESSAGES, {"action": "retry", "_selected_action": [str(message.pk)]}, follow=True
    )
    assert "1 message(s) will be retried." in text_of(response)
    message.refresh_from_db()
    assert message.attempts == 0


def test_request_types_of_a_new_department_are_listed_with_their_department(admin_client, it):
    RequestTypeFactory(department=it, name="Laptop")
    response = admin_client.get(f"{RULES}add/")
    assert "IT · Laptop" in text_of(response)

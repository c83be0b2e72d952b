"""Waking the workers: the message `_publish` sends is the one Celery's `delay` sends
(task, arguments, time limits, queue), through a cheaper path."""

from __future__ import annotations

from typing import Any

import pytest
from kombu import Producer

from outbox import services, tasks
from servicedesk.celery import app

# Fresh for every message: not part of what is compared.
PER_MESSAGE = {"id", "root_id", "correlation_id"}


@pytest.fixture
def publishes(monkeypatch) -> list[dict[str, Any]]:
    """What producers are asked to publish, instead of publishing it (no broker)."""
    calls: list[dict[str, Any]] = []

    def publish(self: Producer, body: Any, **options: Any) -> None:
        calls.append({"body": body, **options})

    monkeypatch.setattr(Producer, "publish", publish)
    # Tests run tasks eagerly (tests/conftest.py puts the setting back afterwards).
    app.conf.task_always_eager = False
    return calls


def _comparable(call: dict[str, Any]) -> dict[str, Any]:
    headers = {k: v for k, v in call["headers"].items() if k not in PER_MESSAGE}
    return {
        "body": call["body"],
        "headers": headers,
        "queue": call["routing_key"] if call["exchange"] in ("", None) else call["exchange"],
        "serializer": call["serializer"],
        "retry": call["retry"],
        "retry_policy": call["retry_policy"],
    }


@pytest.mark.parametrize(
    ("task", "args"),
    [(tasks.outbox_deliver_task, (7,)), (tasks.outbox_deliver_many_task, ([7, 8, 9], 2))],
)
def test_the_message_is_the_one_delay_sends(publishes, task, args):
    task.delay(*args)
    services._publish(task, *args)
    by_delay, ours = (_comparable(call) for call in publishes)
    assert ours == by_delay
    assert ours["headers"]["task"] == task.name
    assert ours["headers"]["timelimit"] == [task.time_limit, task.soft_time_limit]
    assert ours["queue"] == "celery"


def test_each_message_has_an_id_of_its_own(publishes):
    services._publish(tasks.outbox_deliver_task, 7)
    services._publish(tasks.outbox_deliver_task, 7)
    first, second = (call["headers"]["id"] for call in publishes)
    assert first != second

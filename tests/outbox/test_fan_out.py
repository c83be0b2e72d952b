"""Waking the workers for many messages costs the publisher one publish: the first
worker hands the other chunks on to other workers, then delivers its own."""

from __future__ import annotations

import pytest

from outbox import services, tasks


@pytest.fixture
def sent(monkeypatch) -> list[tuple[list[int], int | None]]:
    calls: list[tuple[list[int], int | None]] = []

    def delay(message_ids: list[int], chunk: int | None = None) -> None:
        calls.append((message_ids, chunk))

    monkeypatch.setattr(tasks.outbox_deliver_many_task, "delay", delay)
    return calls


def test_more_than_a_chunk_is_one_publish(sent):
    services._schedule_delivery_unsafe(*range(1, 26), chunk=10)
    assert sent == [(list(range(1, 26)), 10)]


def test_a_chunk_or_less_is_one_task_without_hand_on(sent):
    services._schedule_delivery_unsafe(*range(1, 11), chunk=10)
    assert sent == [(list(range(1, 11)), None)]


def test_the_first_worker_hands_the_other_chunks_on_and_delivers_its_own(sent, monkeypatch):
    delivered: list[int] = []
    monkeypatch.setattr(
        tasks, "outbox_deliver", lambda *, message_id, now: delivered.append(message_id)
    )
    tasks.outbox_deliver_many_task.run(list(range(1, 26)), chunk=10)
    assert sent == [(list(range(11, 21)), None), (list(range(21, 26)), None)]
    assert delivered == list(range(1, 11))


def test_a_broker_that_is_down_is_logged_and_the_worker_still_delivers_its_chunk(monkeypatch):
    def down(*args, **kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr(tasks.outbox_deliver_many_task, "delay", down)
    delivered: list[int] = []
    monkeypatch.setattr(
        tasks, "outbox_deliver", lambda *, message_id, now: delivered.append(message_id)
    )
    services._schedule_delivery_unsafe(*range(1, 26), chunk=10)  # logged, not raised
    tasks.outbox_deliver_many_task.run(list(range(1, 26)), chunk=10)
    assert delivered == list(range(1, 11))

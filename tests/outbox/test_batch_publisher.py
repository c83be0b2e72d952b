"""Waking the workers in batches per web process (outbox/publisher.py): a real thread
gathers the ids of several commits into one publish; a failed publish leaves the rows
to the relay; tasks run eagerly still deliver at once."""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from django.db import transaction
from django.utils import timezone
from kombu import Producer
from kombu.exceptions import OperationalError

from outbox import publisher
from outbox.models import Message
from outbox.publisher import BatchPublisher, outbox_publisher_disable, outbox_publisher_enable
from outbox.services import outbox_enqueue, outbox_relay
from servicedesk.celery import app

ROOT = Path(__file__).resolve().parents[2]


def email(key: str) -> dict:
    payload = {"to": "rita@example.com", "subject": "Hello", "text": "Body"}
    return {"topic": Message.Topic.EMAIL, "dedupe_key": key, "payload": payload}


@pytest.fixture
def batching():
    """Batching on, as in a gunicorn worker; off again (queue flushed) afterwards."""
    outbox_publisher_enable(batch_ms=200)
    yield
    outbox_publisher_disable()


@pytest.fixture
def publishes(monkeypatch) -> list[dict[str, Any]]:
    """What producers are asked to publish, from whichever thread (no broker)."""
    calls: list[dict[str, Any]] = []

    def publish(self: Producer, body: Any, **options: Any) -> None:
        task, thread = options["headers"]["task"], threading.current_thread().name
        calls.append({"body": body, "task": task, "thread": thread})

    monkeypatch.setattr(Producer, "publish", publish)
    app.conf.task_always_eager = False  # tests/conftest.py puts it back afterwards
    return calls


def _commit_one(key: str, capture) -> int:
    with capture(execute=True), transaction.atomic():
        return outbox_enqueue(**email(key)).pk


def test_several_commits_are_woken_by_one_publish_from_the_thread(
    db, batching, publishes, django_capture_on_commit_callbacks
):
    first = _commit_one("a", django_capture_on_commit_callbacks)
    _wait_for(lambda: publishes)  # an idle process publishes at once, from the thread
    ids = [_commit_one(key, django_capture_on_commit_callbacks) for key in "bcd"]
    outbox_publisher_disable()  # what atexit does: publish what is queued, stop
    assert [call["body"][0] for call in publishes] == [(first,), (ids,)]
    assert [call["task"] for call in publishes] == [
        "outbox.tasks.outbox_deliver_task",
        "outbox.tasks.outbox_deliver_many_task",
    ]
    assert publishes[0]["thread"] == publishes[1]["thread"] == "outbox-publisher"


def test_a_failed_publish_is_logged_and_leaves_the_rows_to_the_relay(
    db, batching, publishes, monkeypatch, caplog, django_capture_on_commit_callbacks
):
    def unreachable(self: Producer, body: Any, **options: Any) -> None:
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(Producer, "publish", unreachable)
    with caplog.at_level(logging.WARNING, logger="outbox"):
        ids = [_commit_one(key, django_capture_on_commit_callbacks) for key in "ab"]
        outbox_publisher_disable()
    assert "the relay will deliver them" in caplog.text
    assert Message.objects.filter(pk__in=ids, delivered_at__isnull=True).count() == 2
    assert outbox_relay(now=timezone.now()) == 2
    assert len(mail.outbox) == 2


def test_tasks_run_eagerly_deliver_at_commit_without_a_thread(
    db, batching, django_capture_on_commit_callbacks
):
    # tests/conftest.py runs tasks eagerly, as CELERY_TASK_ALWAYS_EAGER does.
    pk = _commit_one("a", django_capture_on_commit_callbacks)
    assert Message.objects.get(pk=pk).delivered_at is not None
    assert len(mail.outbox) == 1
    assert publisher._publisher is None


def test_off_by_default_outside_a_web_process(db, publishes, django_capture_on_commit_callbacks):
    pk = _commit_one("a", django_capture_on_commit_callbacks)
    assert [call["body"][0] for call in publishes] == [(pk,)]  # published by the committer
    assert publisher._publisher is None


class Recorder:
    def __init__(self, fail_first: bool = False) -> None:
        self.sent: list[tuple[list[int], int]] = []
        self.fail_first = fail_first
        self.threads: set[str] = set()

    def __call__(self, ids: list[int], chunk: int) -> None:
        self.threads.add(threading.current_thread().name)
        if self.fail_first and not self.sent:
            self.sent.append(([], 0))
            raise RuntimeError("broker gone")
        self.sent.append((ids, chunk))


def _wait_for(condition, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the publisher thread did not send in time"
        time.sleep(0.005)


def test_at_once_when_idle_then_one_send_per_window_with_the_smallest_chunk():
    send = Recorder()
    batch = BatchPublisher(send=send, window=0.3)
    started = time.monotonic()
    batch.submit([1], 50)
    _wait_for(lambda: send.sent)
    assert time.monotonic() - started < 0.25  # idle: no wait for the window
    batch.submit([2, 3], 50)  # within the window after that send: gathered
    batch.submit([4], 10)
    _wait_for(lambda: len(send.sent) == 2)
    assert time.monotonic() - started >= 0.3
    time.sleep(0.35)  # idle again
    batch.submit([5], 50)
    _wait_for(lambda: len(send.sent) == 3)
    batch.close()
    assert send.sent == [([1], 50), ([2, 3, 4], 10), ([5], 50)]
    assert send.threads == {"outbox-publisher"}


def test_the_thread_survives_a_failing_send():
    send = Recorder(fail_first=True)
    batch = BatchPublisher(send=send, window=0.01)
    batch.submit([1], 50)
    _wait_for(lambda: send.sent)
    batch.submit([2], 50)
    _wait_for(lambda: len(send.sent) == 2)
    batch.close()
    assert send.sent[1] == ([2], 50)


def test_close_publishes_what_is_queued_without_waiting_for_the_window():
    send = Recorder()
    batch = BatchPublisher(send=send, window=30)
    batch.submit([1], 50)
    _wait_for(lambda: send.sent)  # idle: at once
    batch.submit([2], 50)
    batch.submit([3], 50)
    started = time.monotonic()
    batch.close()
    assert send.sent == [([1], 50), ([2, 3], 50)]
    assert time.monotonic() - started < 5


def test_a_forked_child_gets_a_publisher_of_its_own(monkeypatch):
    outbox_publisher_enable(batch_ms=10)
    try:
        send = Recorder()
        publisher.outbox_publisher_submit([1], chunk=50, send=send)
        parent = publisher._publisher
        monkeypatch.setattr(publisher.os, "getpid", lambda: -1)  # as in a forked worker
        publisher.outbox_publisher_submit([2], chunk=50, send=send)
        assert publisher._publisher is not parent
        _wait_for(lambda: len(send.sent) == 2)
        assert parent is not None
        parent.close()
    finally:
        outbox_publisher_disable()
    assert sorted(send.sent) == [([1], 50), ([2], 50)]


def test_a_process_exiting_with_ids_queued_publishes_them_at_exit(tmp_path):
    sent = tmp_path / "sent"
    program = f"""
import os
import time

from outbox.publisher import outbox_publisher_enable, outbox_publisher_submit

def send(ids, chunk):
    with open({str(sent)!r}, "a") as file:
        file.write(f"{{ids}} {{chunk}}\\n")

outbox_publisher_enable(batch_ms=60_000)  # the window would never end by itself
outbox_publisher_submit([1], chunk=50, send=send)
while not os.path.exists({str(sent)!r}):  # sent at once: the process was idle
    time.sleep(0.01)
outbox_publisher_submit([2, 3], chunk=50, send=send)  # would wait for the window
"""
    subprocess.run([sys.executable, "-c", program], check=True, timeout=30, cwd=ROOT)
    assert sent.read_text() == "[1] 50\n[2, 3] 50\n"

"""A real Celery worker process delivers the outbox, on whichever database and broker the
suite runs with (SQLite + filesystem broker, or PostgreSQL + Redis). Nothing is mocked:
the test files a ticket, the commit sends the task through the broker, the worker writes
the emails to a folder."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

from outbox.models import Message
from outbox.publisher import outbox_publisher_disable, outbox_publisher_enable
from outbox.tasks import outbox_relay_task
from tests.factories import RequestTypeFactory, TicketFactory, UserFactory, agent_of
from tickets.models import Department

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

DEAD_BROKER = "redis://127.0.0.1:1/0"
DELIVERY_TIMEOUT = 60


def database_url_of_this_test() -> str:
    """DATABASE_URL of the database this test runs on (the test database, not the real one)."""
    db = connection.settings_dict
    if db["ENGINE"] == "django.db.backends.sqlite3":
        name = str(Path(db["NAME"]).resolve())
        assert name != ":memory:" and "mode=memory" not in name, "the test DB must be a file"
        return "sqlite:///" + name
    if db["ENGINE"] == "servicedesk.postgresql":
        credentials = quote(db["USER"] or "", safe="")
        if db["PASSWORD"]:
            credentials += ":" + quote(db["PASSWORD"], safe="")
        host = db["HOST"] or "localhost"
        port = f":{db['PORT']}" if db["PORT"] else ""
        return f"postgres://{credentials}@{host}{port}/{quote(db['NAME'], safe='')}"
    raise AssertionError(f"no worker test support for {db['ENGINE']}")


@pytest.fixture
def mail_dir(tmp_path) -> Path:
    return tmp_path / "mail"


@pytest.fixture
def child_env(mail_dir) -> dict[str, str]:
    """Environment for child processes: same settings, this test's database, mail to files.
    SERVICEDESK_VAR_DIR and CELERY_BROKER_URL are inherited, so the broker is shared."""
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="servicedesk.settings",
        DATABASE_URL=database_url_of_this_test(),
        EMAIL_URL=f"file://{mail_dir}",
        PYTHONUNBUFFERED="1",
    )
    env.pop("CELERY_TASK_ALWAYS_EAGER", None)
    return env


@pytest.fixture
def start_worker(child_env, tmp_path) -> Iterator[Callable[[], subprocess.Popen]]:
    processes: list[subprocess.Popen] = []
    log_path = tmp_path / "worker.log"

    def start() -> subprocess.Popen:
        log = open(log_path, "ab")  # noqa: SIM115 - closed with the process below
        process = subprocess.Popen(
            [
                sys.executable, "-m", "celery", "-A", "servicedesk", "worker",
                "--pool=solo", "--concurrency=1", "--loglevel=INFO",
                "--without-gossip", "--without-mingle", "--without-heartbeat",
                f"--hostname=test-{uuid.uuid4().hex[:8]}@%h",
            ],
            cwd=settings.BASE_DIR,
            env=child_env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        process.log = log  # type: ignore[attr-defined]
        processes.append(process)
        return process

    start.log_path = log_path  # type: ignore[attr-defined]
    try:
        yield start
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            process.log.close()  # type: ignore[attr-defined]


def wait_for(condition: Callable[[], bool], *, timeout: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    tail = log.read_text(errors="replace")[-4000:] if log.exists() else "(no worker log)"
    rows = list(Message.objects.values("pk", "attempts", "delivered_at", "last_error"))
    pytest.fail(
        f"timed out after {timeout}s waiting for {what}; outbox: {rows}; worker log:\n{tail}"
    )


def sent_messages(mail_dir: Path) -> list[str]:
    """The emails the worker wrote, one string each. Django's file backend names files by
    second and backend id(), so two sends may append to one file: split on its separator."""
    texts = [f.read_text() for f in sorted(mail_dir.glob("*"))] if mail_dir.exists() else []
    separator = "\n" + "-" * 79 + "\n"
    return [part for text in texts for part in text.split(separator) if part.strip()]


def all_delivered() -> bool:
    return Message.objects.exists() and not Message.objects.filter(delivered_at=None).exists()


@pytest.fixture
def company():
    """Committed data: an IT department with round robin and one agent, and two employees."""
    it = Department.objects.create(
        name="IT", code="IT", assignment=Department.Assignment.ROUND_ROBIN
    )
    agent = agent_of(it, username="alice")
    return {
        "request_type": RequestTypeFactory(department=it, name="Hardware"),
        "agent": agent,
        "requester": UserFactory(username="rita"),
        "assistant": UserFactory(username="asta"),
    }


def test_real_worker_delivers_each_email_once_after_commit(company, start_worker, mail_dir):
    worker = start_worker()
    # Filed on behalf: a receipt to the requester and an assignment email to the agent.
    TicketFactory(
        request_type=company["request_type"],
        created_by=company["assistant"],
        requester=company["requester"],
    )
    assert Message.objects.count() == 2
    wait_for(
        lambda: all_delivered() and len(sent_messages(mail_dir)) >= 2,
        timeout=DELIVERY_TIMEOUT,
        what="the worker to deliver 2 outbox messages",
        log=start_worker.log_path,
    )
    assert worker.poll() is None, "the worker died"
    time.sleep(0.5)  # a duplicate delivery would show up as a third message
    sent = sent_messages(mail_dir)
    assert len(sent) == 2
    assert sorted(
        next(line for line in m.splitlines() if line.startswith("To: ")) for m in sent
    ) == [
        "To: alice@example.com",
        "To: rita@example.com",
    ]
    assert all("Subject: [IT-1] " in m for m in sent)
    assert list(Message.objects.values_list("attempts", flat=True)) == [1, 1]


def test_real_worker_delivers_what_a_web_process_publisher_woke_it_for(
    company, start_worker, mail_dir
):
    """As in a gunicorn worker: the commits hand their ids to the publisher thread, which
    wakes the worker through the real broker for all of them."""
    start_worker()
    outbox_publisher_enable(batch_ms=100)
    try:
        for _ in range(3):
            TicketFactory(
                request_type=company["request_type"],
                created_by=company["assistant"],
                requester=company["requester"],
            )
    finally:
        outbox_publisher_disable()  # publishes what is queued, as at exit
    assert Message.objects.count() == 6
    wait_for(
        lambda: all_delivered() and len(sent_messages(mail_dir)) >= 6,
        timeout=DELIVERY_TIMEOUT,
        what="the worker to deliver 6 outbox messages",
        log=start_worker.log_path,
    )
    assert list(Message.objects.values_list("attempts", flat=True)) == [1] * 6


def test_broker_down_at_commit_then_relay_delivers(company, child_env, start_worker, mail_dir):
    code = (
        "from accounts.models import User\n"
        "from tickets.models import RequestType\n"
        "from tickets.services import ticket_create\n"
        f"ticket = ticket_create(created_by=User.objects.get(pk={company['assistant'].pk}),"
        f" requester=User.objects.get(pk={company['requester'].pk}),"
        f" request_type=RequestType.objects.get(pk={company['request_type'].pk}),"
        " title='Filed while Redis is down', description='Hello')\n"
        "print('filed', ticket.reference)\n"
    )
    started = time.monotonic()
    filing = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=settings.BASE_DIR,
        env={**child_env, "CELERY_BROKER_URL": DEAD_BROKER},
        capture_output=True,
        text=True,
        timeout=60,
    )
    elapsed = time.monotonic() - started
    assert filing.returncode == 0, filing.stderr[-3000:]
    assert "filed IT-1" in filing.stdout
    assert elapsed < 30, f"filing with the broker down took {elapsed:.1f}s"
    assert "the relay will deliver" in filing.stderr

    # Saved, queued, and not sent.
    assert Message.objects.count() == 2
    assert not Message.objects.exclude(delivered_at=None).exists()
    assert set(Message.objects.values_list("attempts", flat=True)) == {0}

    # The broker is back: a worker runs and the periodic relay is due.
    start_worker()
    outbox_relay_task.delay()
    wait_for(
        lambda: all_delivered() and len(sent_messages(mail_dir)) >= 2,
        timeout=DELIVERY_TIMEOUT,
        what="the relay to deliver 2 pending outbox messages",
        log=start_worker.log_path,
    )
    assert len(sent_messages(mail_dir)) == 2

"""Writing side effects to the outbox and delivering them.

`outbox_enqueue` is called by services inside their transaction. After commit a Celery
task delivers each row; the periodic relay picks up anything whose task was lost (broker
down at commit, worker killed). Delivery claims a row with a conditional UPDATE, so two
deliveries of the same row (a duplicated task, relay and task at once) send it once.
"""

from __future__ import annotations

import functools
import json
import logging
import random
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timedelta
from typing import Any

from celery import Task
from django.core.mail import EmailMultiAlternatives
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connection, connections, transaction
from django.db.models import F, Q
from django.utils import timezone
from kombu import Queue
from kombu.utils.uuid import uuid

from outbox.models import Message
from outbox.publisher import outbox_publisher_submit
from servicedesk.db import execute_prepared, pg_unnest

logger = logging.getLogger(__name__)

CLAIM_SECONDS = 120
MAX_ATTEMPTS = 8
Handler = Callable[[dict[str, Any]], None]


def send_email(payload: dict[str, Any]) -> None:
    """Send one email: `to`, `subject`, `text`, optional `html` and `headers`."""
    message = EmailMultiAlternatives(
        subject=payload["subject"],
        body=payload["text"],
        to=[payload["to"]],
        headers=payload.get("headers") or {},
    )
    if payload.get("html"):
        message.attach_alternative(payload["html"], "text/html")
    message.send()


WEBHOOK_TIMEOUT_SECONDS = 5


def _post_webhook(payload: dict[str, Any]) -> None:
    """POST JSON to a chat incoming webhook; anything but a 2xx answer is a failure (and
    is retried with backoff). A short timeout: a slow chat server holds up nothing else."""
    request = urllib.request.Request(  # noqa: S310 (the URL is an admin-entered http(s) URL)
        payload["url"],
        data=json.dumps(payload["body"]).encode(),
        headers={"Content-Type": "application/json", "User-Agent": "servicedesk"},
        method="POST",
    )
    if not payload["url"].startswith(("http://", "https://")):
        raise ValueError("A webhook URL must start with http:// or https://.")
    with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_SECONDS) as response:  # noqa: S310
        if not 200 <= response.status < 300:
            raise OSError(f"the webhook answered {response.status}")


HANDLERS: dict[str, Handler] = {
    Message.Topic.EMAIL: send_email,
    Message.Topic.CHAT: _post_webhook,
}


def register_handler(topic: str, handler: Handler) -> None:
    """Apps deliver their own topics (slas: escalation actions), registered in ready()."""
    HANDLERS[topic] = handler


# Set by outbox_recorded_as_delivered(): the instant to record new messages as delivered.
_recorded_as_delivered_at: ContextVar[datetime | None] = ContextVar(
    "outbox_recorded_as_delivered_at", default=None
)


@contextmanager
def outbox_recorded_as_delivered(*, now: datetime) -> Iterator[None]:
    """Messages enqueued inside the block are stored as delivered at `now` and never sent.

    For loading history (the demo company's past tickets): their notifications describe
    events that are long over, and nobody should receive a thousand of them at start-up.
    Never use it for a change a person makes.
    """
    token = _recorded_as_delivered_at.set(now)
    try:
        yield
    finally:
        _recorded_as_delivered_at.reset(token)


def outbox_enqueue(
    *, topic: str, dedupe_key: str, payload: dict[str, Any], available_at: datetime | None = None
) -> Message:
    """Write one message; schedule its delivery for after the surrounding commit."""
    fields: dict[str, Any] = {"topic": topic, "dedupe_key": dedupe_key, "payload": payload}
    if available_at is not None:
        fields["available_at"] = available_at
    recorded_at = _recorded_as_delivered_at.get()
    if recorded_at is not None:
        return Message.objects.create(**fields, delivered_at=recorded_at)
    message = Message.objects.create(**fields)
    if available_at is None:
        outbox_deliver_after_commit([message.pk])
    return message


def outbox_enqueue_once(*, topic: str, dedupe_key: str, payload: dict[str, Any]) -> bool:
    """`outbox_enqueue` unless a message with this key exists (an earlier or concurrent
    run wrote it): True when this call wrote it. The insert is a savepoint, so a refused
    one leaves an outer transaction usable (and its after-commit delivery is dropped)."""
    try:
        with transaction.atomic():
            outbox_enqueue(topic=topic, dedupe_key=dedupe_key, payload=payload)
    except IntegrityError:
        return False
    return True


DELIVERY_CHUNK = 50


def outbox_enqueue_many(
    *, messages: list[dict[str, Any]], delivery_chunk: int = DELIVERY_CHUNK
) -> list[int]:
    """Write many messages in one statement (each a dict of topic, dedupe_key, payload);
    after commit, workers are asked to deliver them `delivery_chunk` messages a task, so
    a sweep that records a thousand events publishes a few tasks, not a thousand, and
    several workers share them.
    """
    if not messages:
        return []
    recorded_at = _recorded_as_delivered_at.get()
    now = timezone.now()
    # One INSERT ... RETURNING: building a thousand model instances for bulk_create was
    # the largest Python cost of a sweep (measured, bench/sweep.py).
    # The connection itself: each attribute of the django.db.connection proxy is looked
    # up through a context-local (asgiref), a few microseconds a time on every filing.
    db = connections[DEFAULT_DB_ALIAS]
    ops = db.ops
    table = ops.quote_name(Message._meta.db_table)
    columns = (
        "topic, dedupe_key, payload, created_at, available_at, attempts, delivered_at, last_error"
    )
    if db.vendor == "postgresql":
        # One array per column: the statement's size does not grow with the messages.
        unnest, params = pg_unnest(
            [
                ("text", [fields["topic"] for fields in messages]),
                ("text", [fields["dedupe_key"] for fields in messages]),
                ("text", [json.dumps(fields["payload"]) for fields in messages]),
            ]
        )
        sql = (
            f"INSERT INTO {table} ({columns}) SELECT t, k, p::jsonb, %s, %s, 0, "  # noqa: S608
            f"%s::timestamptz, '' FROM {unnest} AS v(t, k, p) RETURNING id"
        )
        params = [now, now, recorded_at, *params]
    else:
        stamp, delivered = (ops.adapt_datetimefield_value(value) for value in (now, recorded_at))
        params = []
        for fields in messages:
            params += [
                fields["topic"], fields["dedupe_key"], json.dumps(fields["payload"]), stamp,
                stamp, 0, delivered, "",
            ]  # fmt: skip
        values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s)"] * len(messages))
        sql = f"INSERT INTO {table} ({columns}) VALUES {values} RETURNING id"  # noqa: S608
    with db.cursor() as cursor:
        execute_prepared(cursor, label="outbox_enqueue", sql=sql, params=params)
        ids = [row[0] for row in cursor.fetchall()]
    outbox_deliver_after_commit(ids, chunk=delivery_chunk)
    return ids


def outbox_insert_sql(*, source: str) -> tuple[str, dict[str, Any]]:
    """For a statement that writes its outbox rows itself, in one of its data-modifying
    CTEs (the sweep's, slas/sweep_statement.py, PostgreSQL): `INSERT ... RETURNING id` of
    the messages `source` selects (topic, dedupe_key, jsonb payload), and its named
    parameters (`outbox_` prefixed). The caller passes the returned ids to
    `outbox_deliver_after_commit`. The same columns as `outbox_enqueue_many`."""
    table = connection.ops.quote_name(Message._meta.db_table)
    sql = (
        f"INSERT INTO {table} (topic, dedupe_key, payload, created_at, available_at, "  # noqa: S608
        "attempts, delivered_at, last_error) SELECT s.topic, s.dedupe_key, s.payload, "
        "%(outbox_now)s, %(outbox_now)s, 0, %(outbox_delivered_at)s::timestamptz, '' "
        f"FROM ({source}) AS s(topic, dedupe_key, payload) RETURNING id"
    )
    now = timezone.now()
    return sql, {"outbox_now": now, "outbox_delivered_at": _recorded_as_delivered_at.get()}


class _AfterCommit:
    """The messages one transaction wrote, published together when it commits."""

    def __init__(self, chunk: int, savepoints: list[str]) -> None:
        self.ids: list[int] = []
        self.chunk = chunk
        self.savepoints = savepoints  # the block it was registered in

    def publish(self) -> None:
        _schedule_delivery_unsafe(*self.ids, chunk=self.chunk)


def outbox_deliver_after_commit(message_ids: list[int], *, chunk: int = DELIVERY_CHUNK) -> None:
    """Ask workers to deliver these new messages once the surrounding transaction commits
    (nothing for messages stored as delivered: see `outbox_recorded_as_delivered`), `chunk`
    messages a task, with one publish per transaction for everything it enqueued (a
    filing queues a receipt, an assignment email, webhooks; a sweep its escalations), not
    one per message: a broker round trip costs more than the rest of the enqueue.

    A batch is joined while its on_commit callback is pending and we are still inside
    the atomic block that registered it; a rollback drops the callback, and a block
    entered after that one was left (a test's outer transaction holds many) starts a
    batch of its own."""
    if not message_ids or _recorded_as_delivered_at.get() is not None:
        return
    db = connections[DEFAULT_DB_ALIAS]  # the connection itself (see outbox_enqueue_many)
    if not db.in_atomic_block:
        _schedule_delivery_unsafe(*message_ids, chunk=chunk)
        return
    savepoints = list(db.savepoint_ids)
    batch: _AfterCommit | None = getattr(db, "_outbox_after_commit", None)
    joinable = (
        batch is not None
        and savepoints[: len(batch.savepoints)] == batch.savepoints
        and any(entry[1] == batch.publish for entry in db.run_on_commit)
    )
    if batch is None or not joinable:
        batch = _AfterCommit(chunk, savepoints)
        db._outbox_after_commit = batch  # type: ignore[attr-defined]
        db.on_commit(batch.publish)
    batch.ids.extend(message_ids)
    batch.chunk = min(batch.chunk, chunk)


def _schedule_delivery_unsafe(*message_ids: int, chunk: int = DELIVERY_CHUNK) -> None:
    """Ask workers to deliver these messages: in a web process with batching on, hand
    them to the process's publisher, which wakes the workers for the ids of many commits
    with one publish a few milliseconds later (outbox/publisher.py); elsewhere (Celery
    workers, management commands, tasks run eagerly) publish now. Every outbox write
    comes here, after its commit."""
    ids = list(message_ids)
    if not _tasks_run_eagerly() and outbox_publisher_submit(
        ids, chunk=chunk, send=_schedule_delivery_now
    ):
        return
    _schedule_delivery_now(ids, chunk)


def _tasks_run_eagerly() -> bool:
    from servicedesk.celery import app

    return bool(app.conf.task_always_eager)


def _schedule_delivery_now(message_ids: list[int], chunk: int = DELIVERY_CHUNK) -> None:
    """Ask workers to deliver now, `chunk` messages a task, with ONE publish: more than
    `chunk` go in one task that hands the other chunks on to other workers before it
    delivers its own (outbox/tasks.py `outbox_deliver_many_task`). A publish is a broker
    round trip, paid by the committing request, sweep or publisher thread; the worker
    pays for the others. Failure is logged and is fine: the relay will find the rows."""
    from outbox.tasks import outbox_deliver_many_task, outbox_deliver_task

    try:
        if len(message_ids) == 1:
            _publish(outbox_deliver_task, message_ids[0])
        elif len(message_ids) <= chunk:
            _publish(outbox_deliver_many_task, list(message_ids))
        else:
            _publish(outbox_deliver_many_task, list(message_ids), chunk)
    except Exception:  # the broker is down; the rows wait for the relay
        logger.warning(
            "could not enqueue %s outbox message(s); the relay will deliver them",
            len(message_ids),
        )


def outbox_hand_on_unsafe(message_ids: list[int], *, chunk: int) -> list[int]:
    """For a delivery task given more than `chunk` messages: publish a task for each
    further chunk, and return the first, to deliver itself. A broker that is down loses
    nothing: the relay finds the rows."""
    from outbox.tasks import outbox_deliver_many_task

    try:
        for start in range(chunk, len(message_ids), chunk):
            _publish(outbox_deliver_many_task, message_ids[start : start + chunk])
    except Exception:
        logger.warning(
            "could not hand on %s outbox message(s); the relay will deliver them",
            len(message_ids) - chunk,
        )
    return message_ids[:chunk]


def _publish(task: Task, *args: Any) -> None:
    """Send `task(*args)` to the workers: Celery's own task message (`as_task_v2`, what
    `delay` sends), published by a producer of the app's pool to the task's queue with
    the app's publish retry policy; on any kombu transport (Redis, the filesystem).

    `delay` builds the same message through apply_async's per-call machinery (options,
    routing, signals), about 0.15-0.3 ms more of the committing request's CPU than this
    (measured, loops of 3,000 publishes to Redis: 0.47-0.66 ms with `delay`, 0.27-0.35 ms
    here). Tasks that run eagerly (tests) go through `delay`."""
    app = task.app
    if app.conf.task_always_eager:
        task.delay(*args)
        return
    queue = _queue_of(task)
    message = app.amqp.as_task_v2(
        uuid(),
        task.name,
        args=args,
        time_limit=task.time_limit,
        soft_time_limit=task.soft_time_limit,
        ignore_result=task.ignore_result,
        reply_to=app.thread_oid,
    )
    with app.producer_pool.acquire(block=True) as producer:
        producer.publish(
            message.body,
            # The default exchange, routed by queue name: what Celery sends to a direct
            # queue's (no binding lookup in the broker).
            exchange="",
            routing_key=queue.name,
            headers=message.headers,
            serializer=task.serializer or app.conf.task_serializer,
            retry=app.conf.task_publish_retry,
            retry_policy=app.conf.task_publish_retry_policy,
            **message.properties,
        )


@functools.cache
def _queue_of(task: Task) -> Queue:
    """The queue the app's routes send `task` to (the default queue for ours)."""
    queue: Queue = task.app.amqp.router.route({}, task.name)["queue"]
    if queue.exchange.type != "direct":
        raise ValueError(f"{task.name} is routed to a {queue.exchange.type} exchange")
    return queue


def outbox_deliver(*, message_id: int, now: datetime) -> bool:
    """Deliver one message if it is due and unclaimed. Returns True if this call sent it."""
    claimed = (
        Message.objects.filter(
            pk=message_id,
            delivered_at__isnull=True,
            failed_at__isnull=True,
            available_at__lte=now,
        )
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .update(claimed_until=now + timedelta(seconds=CLAIM_SECONDS), attempts=F("attempts") + 1)
    )
    if not claimed:
        return False
    message = Message.objects.get(pk=message_id)
    try:
        HANDLERS[message.topic](message.payload)
    except Exception as error:
        _record_failure(message=message, error=error, now=now)
        return False
    Message.objects.filter(pk=message_id).update(
        delivered_at=now, claimed_until=None, last_error=""
    )
    return True


def _record_failure(*, message: Message, error: Exception, now: datetime) -> None:
    logger.warning("outbox message %s failed (attempt %s): %s", message.pk, message.attempts, error)
    # Exponential backoff with jitter, so a recovering SMTP server is not hit all at once.
    delay = min(3600, 30 * 2 ** (message.attempts - 1)) * random.uniform(0.5, 1.5)  # noqa: S311
    gave_up = message.attempts >= MAX_ATTEMPTS
    Message.objects.filter(pk=message.pk).update(
        claimed_until=None,
        available_at=now + timedelta(seconds=delay),
        last_error=f"{type(error).__name__}: {error}"[:2000],
        failed_at=now if gave_up else None,
    )


def outbox_pending_ids(*, now: datetime, limit: int = 500) -> list[int]:
    return list(
        Message.objects.filter(
            delivered_at__isnull=True, failed_at__isnull=True, available_at__lte=now
        )
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .order_by("available_at")
        .values_list("pk", flat=True)[:limit]
    )


def outbox_relay(
    *, now: datetime, limit: int = 500, on_backlog: Callable[[], object] | None = None
) -> int:
    """Deliver what is due and unclaimed (a lost task left it behind, or the broker was
    down). Returns the count sent. `on_backlog` is called first if a full `limit` is
    pending (after an outage), so the caller can start another relay: relays share the
    backlog, each message going to whichever claims it first."""
    pending = outbox_pending_ids(now=now, limit=limit)
    if on_backlog is not None and len(pending) == limit:
        on_backlog()
    return sum(outbox_deliver(message_id=pk, now=now) for pk in pending)


def outbox_retry(*, message_ids: list[int], now: datetime) -> int:
    """Give failed messages another round of attempts (admin action)."""
    return Message.objects.filter(pk__in=message_ids, delivered_at__isnull=True).update(
        failed_at=None, attempts=0, available_at=now, claimed_until=None
    )

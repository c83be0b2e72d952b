"""Waking the delivery workers in batches, per web process.

A web process that files many tickets would pay one broker publish per commit (about
0.9 ms of its CPU under load, measured with bench apifiling). Instead, after commit a
request hands its new outbox ids to this process's publisher: a queue and one daemon
thread, which sends at most one wake-up per `window` (`outbox.services.
_schedule_delivery_now`, the same task messages as without it): ids that arrive while
the process is idle (the last send older than the window) go at once; under load a send
carries every id that arrived during the window after the previous one. So delivery
starts at most one window later, and a busy process publishes a few times a second, not
once a filing.

Switched on by `outbox_publisher_enable()`, called where WSGI is served
(servicedesk/wsgi.py: gunicorn workers, `runserver`), with the window
`OUTBOX_PUBLISH_BATCH_MS` (0: off). Never batched when tasks run eagerly (tests) or in
processes that do not serve WSGI (Celery workers, management commands): they publish
at once, as before. The thread starts on first use in the process that uses it, so a
master that imports the application before forking (gunicorn --preload) starts none,
and each forked worker starts its own.

Nothing is lost silently: a publish that fails is logged, and the rows stay undelivered
in the database, where the relay (beat, every OUTBOX_RELAY_INTERVAL_SECONDS, 30 s by
default) finds and delivers them. A process that exits with ids still queued publishes
them at exit (atexit, best effort); after a crash the relay delivers them.
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import threading
import time
from collections.abc import Callable

logger = logging.getLogger(__name__)

Send = Callable[[list[int], int], None]


class BatchPublisher:
    """Gathers (ids, chunk) handed over by `submit` and calls `send(ids, chunk)` from its
    own thread at most once per `window` seconds: all ids gathered, the smallest chunk
    asked for."""

    def __init__(self, *, send: Send, window: float) -> None:
        self.send = send
        self.window = window
        self._queue: queue.SimpleQueue[tuple[list[int], int] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="outbox-publisher", daemon=True)
        self._thread.start()

    def submit(self, message_ids: list[int], chunk: int) -> None:
        self._queue.put((list(message_ids), chunk))

    def close(self, timeout: float = 5.0) -> None:
        """Publish what is queued and stop the thread (at exit)."""
        self._queue.put(None)
        self._thread.join(timeout)

    def _run(self) -> None:
        # At most one send per window: ids arriving when the last send is older than the
        # window (an idle process) go at once; under load each send takes everything that
        # arrived during the window after the previous one.
        last_send = -float("inf")
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is None:
                return
            ids, chunk = list(first[0]), first[1]
            deadline = last_send + self.window
            while True:
                left = deadline - time.monotonic()
                try:
                    item = self._queue.get(timeout=left) if left > 0 else self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stopping = True
                    break
                ids += item[0]
                chunk = min(chunk, item[1])
            self._send(ids, chunk)
            last_send = time.monotonic()
        self._drain()

    def _drain(self) -> None:
        """Anything submitted after the stop (a request finishing during exit)."""
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            if item is not None:
                self._send(*item)

    def _send(self, ids: list[int], chunk: int) -> None:
        try:
            self.send(ids, chunk)
        except Exception:  # the thread must outlive any failure; the relay has the rows
            logger.exception(
                "could not publish %s outbox message(s); the relay will deliver them", len(ids)
            )


_window: float = 0.0
_publisher: BatchPublisher | None = None
_owner_pid: int | None = None
_lock = threading.Lock()


def outbox_publisher_enable(*, batch_ms: int) -> None:
    """Batch this process's wake-ups within `batch_ms` milliseconds (0: publish at once).
    Starts no thread: the first `outbox_publisher_submit` in a process does."""
    global _window
    _window = max(batch_ms, 0) / 1000


def outbox_publisher_submit(message_ids: list[int], *, chunk: int, send: Send) -> bool:
    """Queue the ids for this process's publisher; False if batching is off here (the
    caller publishes at once)."""
    if _window <= 0:
        return False
    publisher = _publisher_for_this_process(send)
    publisher.submit(message_ids, chunk)
    return True


def _publisher_for_this_process(send: Send) -> BatchPublisher:
    global _publisher, _owner_pid
    pid = os.getpid()
    if _publisher is not None and _owner_pid == pid:
        return _publisher
    with _lock:
        # A forked child inherits the parent's object but not its thread: a new one.
        if _publisher is None or _owner_pid != pid:
            _publisher = BatchPublisher(send=send, window=_window)
            _owner_pid = pid
            atexit.register(_publisher.close)
        return _publisher


def outbox_publisher_disable() -> None:
    """Stop batching in this process, publishing what is queued first (tests)."""
    global _window, _publisher, _owner_pid
    with _lock:
        publisher, _publisher, _owner_pid, _window = _publisher, None, None, 0.0
    if publisher is not None:
        atexit.unregister(publisher.close)
        publisher.close()

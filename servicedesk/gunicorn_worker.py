"""gunicorn's threaded worker, taking new connections only while it holds the fewest.

gunicorn's processes share one listening socket and race to accept each connection, and
a client keeps its connection alive, so it stays with the process that won the race. With
the stock `gthread` worker twenty kept-alive clients split like 10/6/4 over three
processes; every process gets the same share of the CPU, so the clients of the crowded
one wait two or three times as long as the others (bench/apifiling.py's "filings per
client"; p95 at 2-3x p50).

This worker balances by least connections, as nginx's `least_conn` and HAProxy's
`leastconn` do between servers: each process publishes how many client connections it
holds in a small table shared by the processes (created by the master, inherited at fork),
and listens for new ones only while no live process holds fewer. A process that is not
listening looks again every `RECHECK_SECONDS` (the others' counts change without waking
it), so a new connection waits at most that long for the process with the fewest. A
process that stopped publishing for `STALE_SECONDS` (stuck or gone; an idle one publishes
every second, when its event loop wakes) does not count. A process without a row (more
processes than the table has) accepts as gthread does.

It reads gunicorn's own count of connections and switches the listener with gunicorn's
`set_accept_enabled`, checked before each wait for events; pyproject.toml pins the gunicorn
release these belong to.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from typing import Any

from gunicorn.workers.gthread import ThreadWorker

ROWS = 64
STALE_SECONDS = 3.0
RECHECK_SECONDS = 0.01


class _Table:
    """One row per process: its pid, the connections it holds, when it last said so."""

    def __init__(self) -> None:
        self.lock = multiprocessing.Lock()
        self.pids = multiprocessing.RawArray("q", ROWS)
        self.conns = multiprocessing.RawArray("q", ROWS)
        self.seen = multiprocessing.RawArray("d", ROWS)

    def claim(self, pid: int) -> int | None:
        """A row for this process: a free one, or one whose process has gone."""
        with self.lock:
            for row in range(ROWS):
                owner = self.pids[row]
                if owner and owner != pid and _alive(owner):
                    continue
                self.pids[row], self.conns[row], self.seen[row] = pid, 0, time.monotonic()
                return row
        return None

    def release(self, row: int, pid: int) -> None:
        with self.lock:
            if self.pids[row] == pid:
                self.pids[row] = 0

    def publish(self, row: int, conns: int) -> bool:
        """Record this process's connections; whether no live process holds fewer."""
        now = time.monotonic()
        self.conns[row], self.seen[row] = conns, now
        fresh_after = now - STALE_SECONDS
        pids, counts, seen = self.pids, self.conns, self.seen
        return all(
            counts[other] >= conns
            for other in range(ROWS)
            if pids[other] and seen[other] > fresh_after
        )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class BalancedThreadWorker(ThreadWorker):
    table: _Table | None = None
    row: int | None = None

    @classmethod
    def setup(cls) -> None:
        """In the master, when it loads the worker class: the table its workers share."""
        cls.table = _Table()

    def init_process(self) -> None:
        if self.table is not None:
            self.row = self.table.claim(os.getpid())
        super().init_process()

    def wait_for_and_dispatch_events(self, timeout: float) -> None:
        # A stopping worker has switched accepting off for good.
        if self.alive and self.table is not None and self.row is not None:
            fewest = self.table.publish(self.row, self.nr_conns)
            self.set_accept_enabled(fewest and self.nr_conns < self.worker_connections)
            if not self._accepting:
                # The others' counts change without waking this process: look again soon,
                # or the one that now holds the fewest could be this one, not listening.
                timeout = min(timeout, RECHECK_SECONDS)
        super().wait_for_and_dispatch_events(timeout)

    def run(self) -> Any:
        try:
            return super().run()
        finally:
            if self.table is not None and self.row is not None:
                self.table.release(self.row, os.getpid())

"""gunicorn's threaded worker, taking a new connection only when it has a thread free.

gunicorn's processes share one listening socket and race to accept each connection. With
the stock `gthread` worker a process accepts even with every thread busy: the connection
waits in its thread pool's queue, and since a client keeps its connection alive it stays
with that process for good. Twenty kept-alive clients split like 10/6/4 over three
processes, every process gets the same share of the CPU, and the clients of the crowded
one wait two or three times as long as the others (bench/apifiling.py's "filings per
client"; p95 at 2-3x p50).

This worker takes a connection only while fewer requests are in flight than it has
threads. A process with its threads busy leaves the connection in the kernel's accept
queue for a process with a thread free, the first request on it is served at once instead
of queued behind others, and the kept-alive connections end up spread by load (nginx's
`accept_mutex` and uWSGI's thunder lock solve the same problem). When every thread of
every process is busy, connections wait in the accept queue (`backlog`, 2048) instead of
in a process's queue: the same wait, in a place any process can take them from.

It reads gunicorn's own bookkeeping (connections, the kept-alive and pending ones) and
switches the listener with gunicorn's `set_accept_enabled`, checked before every wait for
events; pyproject.toml pins the gunicorn release these belong to.
"""

from __future__ import annotations

from gunicorn.workers.gthread import ThreadWorker


class BalancedThreadWorker(ThreadWorker):
    def wait_for_and_dispatch_events(self, timeout: float) -> None:
        if self.alive:  # a stopping worker has switched accepting off for good
            in_flight = self.nr_conns - len(self.keepalived_conns) - len(self.pending_conns)
            self.set_accept_enabled(
                in_flight < self.cfg.threads and self.nr_conns < self.worker_connections
            )
        super().wait_for_and_dispatch_events(timeout)

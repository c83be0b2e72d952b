"""The web server's worker (servicedesk/gunicorn_worker.py) in a real gunicorn: a process
with its threads busy leaves new connections to a process with a thread free."""

from __future__ import annotations

import http.client
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).with_name("gunicorn")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _answers_once(port: int) -> bool:
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        connection.request("GET", "/")
        return connection.getresponse().status == 200
    except OSError:
        return False


@pytest.fixture
def serve(tmp_path):
    """Start gunicorn with the project's gunicorn.conf.py, 2 processes of 1 thread each,
    on the sleepy app; yield (port, access log) and stop it."""
    servers: list[subprocess.Popen[bytes]] = []

    def start(worker_class: str | None = None) -> tuple[int, Path]:
        port = _free_port()
        log = tmp_path / f"access-{port}.log"
        command = [
            str(GUNICORN), "--config", str(ROOT / "gunicorn.conf.py"),
            "--bind", f"127.0.0.1:{port}", "--workers", "2", "--threads", "1",
            "--access-logfile", str(log), "--access-logformat", "%(p)s",
        ]  # fmt: skip
        if worker_class:
            command += ["--worker-class", worker_class]
        servers.append(
            subprocess.Popen(
                [*command, "tests.servicedesk.sleepy_wsgi:app"],
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        deadline = time.monotonic() + 30
        while not _answers_once(port):
            if time.monotonic() > deadline:
                raise AssertionError("gunicorn did not answer in 30 s")
            time.sleep(0.2)
        # The probe's line is written after its answer: wait for it, then start afresh.
        while not log.read_text() and time.monotonic() < deadline:
            time.sleep(0.05)
        log.write_text("")
        return port, log

    yield start
    for server in servers:
        server.terminate()
        server.wait(timeout=30)


def _six_clients_at_once(port: int) -> None:
    def client() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.request("GET", "/")
        assert connection.getresponse().read() == b"ok"
        connection.close()

    threads = [threading.Thread(target=client) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def _served_by(log: Path, expected: int) -> list[int]:
    deadline = time.monotonic() + 5
    while len(lines := log.read_text().split()) < expected and time.monotonic() < deadline:
        time.sleep(0.05)
    return sorted(Counter(lines).values())


def test_connections_arriving_together_are_shared_by_the_processes_with_a_thread_free(serve):
    port, log = serve()
    _six_clients_at_once(port)
    # Each process takes one connection, answers it, and only then takes the next.
    assert _served_by(log, 6) == [3, 3]


def test_the_production_config_runs_this_worker():
    import runpy

    config = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert config["worker_class"] == "servicedesk.gunicorn_worker.BalancedThreadWorker"

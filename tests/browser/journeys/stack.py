"""The app as `make run` serves it, for the journeys: migrate, seed_demo, then every process
of the Procfile (web, worker, beat), on a free local port, on a database and a broker of
its own, with emails written to files the test reads.

- Embedded mode (no DATABASE_URL / CELERY_BROKER_URL): everything lives in a temporary
  SERVICEDESK_VAR_DIR: a SQLite file, the filesystem broker's folders, static files.
- Services mode: DATABASE_URL's server with a database of its own, DATABASE_URL's name +
  "_journeys" (dropped and created here, dropped again at the end); CELERY_BROKER_URL's
  Redis with the next database number (JOURNEYS_CELERY_BROKER_URL overrides it), emptied
  before and after.

Differences from `make run`, each for a reason:
- DEBUG off (as in production): forbidden pages must show the app's own 403/404 pages, not
  Django's debug page. So static files are collected first, as docker-web does, and
  cookies are not Secure-only (plain http on 127.0.0.1).
- seed_demo --tickets 40 instead of 300: the same company in a fifth of the time.
- The SLA sweep and the outbox relay run every few seconds instead of 15 and 30.
- `configure_journeys` (stack_data.py) adds what the demo lacks: the one-minute SLA policy
  and the escalation rule of the breach journey; `signed_in_sessions` a session for each
  demo person, so that only the journeys' story sign-ins pay for a password check.
Each Procfile process runs in its own process group; stop() sends it TERM, and after a few
seconds KILLs whatever is left of the group (a worker's pool), so nothing outlives the tests.
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parents[3]
SWEEP_SECONDS = 3
SEED_TICKETS = 40
START_TIMEOUT = 90
MAIL_SEPARATOR = b"\n" + b"-" * 79 + b"\n"


@dataclass
class Mail:
    to: list[str]
    subject: str
    text: str


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def procfile(path: Path) -> list[tuple[str, str]]:
    """(name, command) for each process of the Procfile, in order."""
    processes = []
    for line in path.read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, _, command = line.partition(":")
        processes.append((name.strip(), command.strip()))
    return processes


def _postgres_url(url: str, database: str) -> str:
    return urlunparse(urlparse(url)._replace(path="/" + database))


def _redis_url_next_db(url: str) -> str:
    parsed = urlparse(url)
    current = int(parsed.path.lstrip("/") or 0)
    return urlunparse(parsed._replace(path=f"/{(current + 1) % 16}"))


class Stack:
    def __init__(self, *, log_dir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.var_dir = Path(tempfile.mkdtemp(prefix="sd-journeys-"))
        self.mail_dir = self.var_dir / "mail"
        self.mail_dir.mkdir()
        self.sessions_file = self.var_dir / "sessions.json"
        self._sessions: dict[str, str] = {}
        self.log_dir = log_dir
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.processes: dict[str, subprocess.Popen[bytes]] = {}  # the Procfile's
        self.helpers: list[subprocess.Popen[bytes]] = []  # management commands
        self.database_url = ""
        self.broker_url = ""
        self.env = self._environment()
        self.timings: dict[str, float] = {}

    # --- Environment ------------------------------------------------------------------

    def _environment(self) -> dict[str, str]:
        env = {
            key: value
            for key, value in os.environ.items()
            if key
            not in {"DATABASE_URL", "CELERY_BROKER_URL", "MEDIA_ROOT", "CELERY_TASK_ALWAYS_EAGER"}
            and not key.startswith("PYTEST")
        }
        env |= {
            "SERVICEDESK_VAR_DIR": str(self.var_dir),
            "DEBUG": "false",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "SECURE_COOKIES": "false",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SITE_URL": self.url,
            "EMAIL_URL": f"file://{self.mail_dir}",
            "SLA_SWEEP_INTERVAL_SECONDS": str(SWEEP_SECONDS),
            "OUTBOX_RELAY_INTERVAL_SECONDS": str(SWEEP_SECONDS),
            "PORT": str(self.port),
            "PYTHONUNBUFFERED": "1",
            # The Makefile puts the virtualenv first on PATH for the Procfile's commands.
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        }
        database_url = os.environ.get("DATABASE_URL", "").strip()
        if database_url.startswith(("postgres://", "postgresql://", "pgsql://")):
            name = urlparse(database_url).path.lstrip("/")
            self.database_url = _postgres_url(database_url, f"{name}_journeys")
            env["DATABASE_URL"] = self.database_url
        broker_url = os.environ.get("CELERY_BROKER_URL", "").strip()
        if broker_url.startswith(("redis://", "rediss://")):
            self.broker_url = os.environ.get(
                "JOURNEYS_CELERY_BROKER_URL", ""
            ).strip() or _redis_url_next_db(broker_url)
            env["CELERY_BROKER_URL"] = self.broker_url
        return env

    @property
    def mode(self) -> str:
        database = "PostgreSQL" if self.database_url else "SQLite"
        broker = "Redis" if self.broker_url else "filesystem broker"
        return f"{database} + {broker}"

    # --- Start and stop ---------------------------------------------------------------

    def _spawn(self, command: list[str], *, log: str) -> subprocess.Popen[bytes]:
        """Start a command of the stack in a process group of its own, output to a log."""
        with (self.log_dir / f"{log}.log").open("ab") as out:
            return subprocess.Popen(
                command,
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def _manage(self, *args: str, log: str) -> subprocess.Popen[bytes]:
        process = self._spawn([sys.executable, "manage.py", *args], log=log)
        self.helpers.append(process)
        return process

    def _run(self, *args: str, log: str) -> None:
        started = time.monotonic()
        process = self._manage(*args, log=log)
        if process.wait(timeout=300) != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed; see {self.log_dir}/{log}.log")
        self.timings[log] = time.monotonic() - started

    def start(self) -> None:
        for old in self.log_dir.glob("*.log"):
            old.unlink()
        self._reset_services()
        started = time.monotonic()
        # Static files do not need the database: collected while it is migrated and seeded.
        static = self._manage("collectstatic", "--noinput", log="collectstatic")
        self._run("migrate", "--noinput", log="migrate")
        self._run("seed_demo", "--tickets", str(SEED_TICKETS), log="seed_demo")
        self._run(
            "shell",
            "-c",
            "from tests.browser.journeys.stack_data import configure_journeys, "
            "signed_in_sessions; "
            f"configure_journeys(); signed_in_sessions(path={str(self.sessions_file)!r})",
            log="configure_journeys",
        )
        if static.wait(timeout=300) != 0:
            raise RuntimeError(f"collectstatic failed; see {self.log_dir}/collectstatic.log")
        for name, command in procfile(ROOT / "Procfile"):
            self.processes[name] = self._spawn(["/bin/sh", "-c", f"exec {command}"], log=name)
        self._wait_until_up()
        self.timings["total start"] = time.monotonic() - started

    def _wait_until_up(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise RuntimeError(
                        f"{name} exited with {process.returncode}; see {self.log_dir}/{name}.log"
                    )
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=2) as response:
                    if response.status == 200 and self._worker_ready():
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.3)
        raise RuntimeError(f"the stack did not answer within {START_TIMEOUT}s; see {self.log_dir}")

    def _worker_ready(self) -> bool:
        log = self.log_dir / "worker.log"
        return log.exists() and b" ready." in log.read_bytes()

    def stop(self) -> None:
        # TERM to each process itself (the worker then stops its pool children), KILL to
        # whatever is left of its group.
        for process in self.processes.values():
            with contextlib.suppress(ProcessLookupError):
                process.terminate()
        stopping = time.monotonic()
        # A few seconds to stop cleanly (a warm worker shutdown takes about six); this stack
        # is thrown away, so whatever is still running then is killed.
        deadline = stopping + 3
        for name, process in self.processes.items():
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            self.timings[f"{name} stop"] = time.monotonic() - stopping
            _signal_group(process, signal.SIGKILL)
            process.wait()
        self.processes.clear()
        for helper in self.helpers:  # a management command still running after a failed start
            if helper.poll() is None:
                _signal_group(helper, signal.SIGKILL)
                helper.wait()
        self.helpers.clear()
        self._reset_services(drop_only=True)
        shutil.rmtree(self.var_dir, ignore_errors=True)

    def _reset_services(self, *, drop_only: bool = False) -> None:
        """Services mode: the stack's own database, new (or dropped), its Redis db empty."""
        if self.database_url:
            import psycopg2
            from psycopg2 import sql

            parsed = urlparse(self.database_url)
            name = parsed.path.lstrip("/")
            connection = psycopg2.connect(_postgres_url(self.database_url, "postgres"))
            connection.autocommit = True
            try:
                with connection.cursor() as cursor:
                    cursor.execute(
                        sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                            sql.Identifier(name)
                        )
                    )
                    if not drop_only:
                        cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            finally:
                connection.close()
        if self.broker_url:
            import redis

            client = redis.Redis.from_url(self.broker_url)
            try:
                client.flushdb()
            finally:
                client.close()

    # --- What the stack did -----------------------------------------------------------

    def session_key(self, username: str) -> str:
        """A signed-in session of a demo person (stack_data.signed_in_sessions)."""
        if not self._sessions:
            self._sessions = json.loads(self.sessions_file.read_text())
        return self._sessions[username]

    def mails(self) -> list[Mail]:
        """Every email the stack has sent so far (the file backend's folder)."""
        found = []
        for path in sorted(self.mail_dir.glob("*.log")):
            for raw in path.read_bytes().split(MAIL_SEPARATOR):
                if not raw.strip():
                    continue
                message = email.message_from_bytes(raw, policy=email.policy.default)
                body = message.get_body(preferencelist=("plain",))  # type: ignore[attr-defined]
                found.append(
                    Mail(
                        to=[a.strip() for a in str(message["To"]).split(",")],
                        subject=str(message["Subject"]),
                        text=body.get_content() if body else "",
                    )
                )
        return found

    def wait_for_mail(
        self, *, to: str, subject_has: str, text_has: str = "", timeout: float = 30
    ) -> Mail:
        """The first email to `to` whose subject (and text) say so, once it is sent."""
        deadline = time.monotonic() + timeout
        while True:
            for mail in self.mails():
                if to in mail.to and subject_has in mail.subject and text_has in mail.text:
                    return mail
            if time.monotonic() > deadline:
                seen = [(m.to, m.subject) for m in self.mails()]
                raise AssertionError(
                    f"no email to {to} with {subject_has!r} in its subject and {text_has!r} in "
                    f"its text within {timeout:.0f}s; sent: {seen}"
                )
            time.sleep(0.5)

    def log_tail(self, lines: int = 25, *, names: tuple[str, ...] = ()) -> str:
        """The last lines of each log (of `names` only, if given: web, worker, ...)."""
        parts = []
        for path in sorted(self.log_dir.glob("*.log")):
            if names and path.stem not in names:
                continue
            text = path.read_text(errors="replace").splitlines()[-lines:]
            parts.append(f"----- {path} (last {len(text)} lines) -----\n" + "\n".join(text))
        return "\n".join(parts)

    def describe(self) -> str:
        return (
            f"{self.url} ({self.mode}; seed_demo --tickets {SEED_TICKETS}; logs in {self.log_dir})"
        )


def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, sig)

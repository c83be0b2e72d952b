"""Reading configuration from the environment, with errors that name the variable.

Every setting that comes from the environment is read through these functions, from
settings.py only, so a malformed value stops start-up with a message a newcomer can act on.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

from django.core.exceptions import ImproperlyConfigured

TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off", ""}


def get_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def get_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in TRUE_WORDS:
        return True
    if value in FALSE_WORDS:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false (1/0, yes/no, on/off), not {raw!r}.")


def get_int(name: str, default: int, *, minimum: int = 0) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}.") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {value}.")
    return value


def get_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def get_time_zone(name: str, default: str) -> str:
    import zoneinfo

    value = os.environ.get(name, default)
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ImproperlyConfigured(
            f"{name} must be an IANA time zone such as Europe/Berlin, not {value!r}."
        ) from None
    return value


def get_secret_key(name: str, *, debug: bool, keep_in: Path) -> str:
    """The secret key: from the environment, or generated once and kept for local use."""
    value = os.environ.get(name)
    if value:
        if len(value) < 32:
            raise ImproperlyConfigured(f"{name} must be at least 32 characters long.")
        return value
    if not debug:
        raise ImproperlyConfigured(f"{name} is required when DEBUG is off (production).")
    keep_in.parent.mkdir(parents=True, exist_ok=True)
    if not keep_in.exists():
        keep_in.write_text(secrets.token_urlsafe(50))
        keep_in.chmod(0o600)
    return keep_in.read_text().strip()


def get_database(name: str, default_sqlite_path: Path) -> dict[str, Any]:
    """DATABASE_URL as Django's DATABASES['default']; SQLite in WAL mode by default."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        default_sqlite_path.parent.mkdir(parents=True, exist_ok=True)
        return _sqlite(str(default_sqlite_path))
    url = urlparse(raw)
    if url.scheme == "sqlite":
        path = unquote(url.path)
        if url.netloc:  # sqlite://relative/path is a common mistake
            raise ImproperlyConfigured(
                f"{name}: write SQLite URLs as sqlite:////absolute/path.db, not {raw!r}."
            )
        if not path.strip("/"):
            raise ImproperlyConfigured(f"{name}: the SQLite URL {raw!r} names no file.")
        # sqlite:////abs/path.db parses to "//abs/path.db"; keep one leading slash.
        path = "/" + path.lstrip("/")
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        return _sqlite(path)
    if url.scheme in {"postgres", "postgresql", "pgsql"}:
        database = url.path.lstrip("/")
        if not database:
            raise ImproperlyConfigured(f"{name}: the PostgreSQL URL {raw!r} names no database.")
        try:
            port = url.port
        except ValueError:
            raise ImproperlyConfigured(f"{name}: the port in {raw!r} is not a number.") from None
        options = {key: values[-1] for key, values in parse_qs(url.query).items()}
        # PostgreSQL compiles any query it estimates as costly (the dashboards' over a
        # large history) to machine code first: 150-200 ms per query on two cores, more
        # than most of them take to run. An OLTP site gains nothing from it; a URL
        # with its own `options` (say ?options=-c%20jit%3Don) decides otherwise.
        options.setdefault("options", "-c jit=off")
        return {
            # Django's PostgreSQL backend, its per-request health check without a round
            # trip while the connection is evidently fine (servicedesk/postgresql/base.py).
            "ENGINE": "servicedesk.postgresql",
            "NAME": unquote(database),
            "USER": unquote(url.username or ""),
            "PASSWORD": unquote(url.password or ""),
            "HOST": url.hostname or "",
            "PORT": str(port or ""),
            "CONN_MAX_AGE": 60,
            "CONN_HEALTH_CHECKS": True,
            "OPTIONS": options,
        }
    raise ImproperlyConfigured(
        f"{name} must start with postgres:// or sqlite:///, not {raw.split(':', 1)[0]!r}."
    )


def _sqlite(path: str) -> dict[str, Any]:
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": path,
        "OPTIONS": {
            # WAL lets the web process read while the worker writes; IMMEDIATE makes a
            # writing transaction take the write lock at BEGIN, so two writers queue up
            # (busy timeout) instead of failing with "database is locked" mid-transaction.
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
            ),
        },
        "TEST": {"NAME": str(Path(path).with_name("test_" + Path(path).name))},
    }


def get_broker(name: str, default_folder: Path) -> tuple[str, dict[str, Any]]:
    """CELERY_BROKER_URL and its transport options; kombu's filesystem broker by default."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        queue = (default_folder / "queue").resolve()
        control = (default_folder / "control").resolve()
        processed = (default_folder / "processed").resolve()
        for folder in (queue, control, processed):
            folder.mkdir(parents=True, exist_ok=True)
        return "filesystem://", {
            "data_folder_in": str(queue),
            "data_folder_out": str(queue),
            "control_folder": str(control),
            "processed_folder": str(processed),
            "store_processed": False,
        }
    scheme = urlparse(raw).scheme
    if scheme not in {"redis", "rediss", "amqp", "filesystem", "memory"}:
        raise ImproperlyConfigured(
            f"{name} must be a redis:// (or amqp://) URL, not {raw.split(':', 1)[0]!r}."
        )
    return raw, {}


def get_email(name: str) -> dict[str, Any]:
    """EMAIL_URL as Django email settings: console by default, SMTP by URL.

    smtp://user:password@host:587?tls=1, smtps://... for implicit TLS,
    file:///path/to/folder writes each message to a file (used by tests with real workers).
    """
    raw = os.environ.get(name, "").strip()
    if not raw or raw == "console:":
        return {"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}
    url = urlparse(raw)
    if url.scheme == "file":
        return {
            "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "EMAIL_FILE_PATH": unquote(url.path),
        }
    if url.scheme in {"smtp", "smtps"}:
        if not url.hostname:
            raise ImproperlyConfigured(f"{name}: the SMTP URL names no host.")
        try:
            port = url.port
        except ValueError:
            raise ImproperlyConfigured(
                f"{name}: the port in the SMTP URL is not a number."
            ) from None
        query = {key: values[-1] for key, values in parse_qs(url.query).items()}
        return {
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": url.hostname,
            "EMAIL_PORT": port or (465 if url.scheme == "smtps" else 25),
            "EMAIL_HOST_USER": unquote(url.username or ""),
            "EMAIL_HOST_PASSWORD": unquote(url.password or ""),
            "EMAIL_USE_SSL": url.scheme == "smtps",
            "EMAIL_USE_TLS": query.get("tls", "").lower() in TRUE_WORDS,
            "EMAIL_TIMEOUT": 20,
        }
    raise ImproperlyConfigured(
        f"{name} must be smtp://, smtps://, file:// or console:, not {raw.split(':', 1)[0]!r}."
    )

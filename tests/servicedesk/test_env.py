"""Configuration from the environment: each parser, and errors that name the variable.

The parsers are called directly with the real variable names; settings are not reloaded."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from servicedesk import env


@pytest.fixture(autouse=True)
def _clean(monkeypatch):
    names = ["DATABASE_URL", "CELERY_BROKER_URL", "EMAIL_URL", "DEBUG", "SECRET_KEY"]
    names += ["TIME_ZONE", "ATTACHMENT_MAX_BYTES", "ALLOWED_HOSTS"]
    for name in names:
        monkeypatch.delenv(name, raising=False)


def refused(call, *args, **kwargs) -> str:
    with pytest.raises(ImproperlyConfigured) as error:
        call(*args, **kwargs)
    return str(error.value)


# --- DATABASE_URL ---------------------------------------------------------------------


def test_database_postgres_url(monkeypatch, tmp_path):
    monkeypatch.setenv(
        "DATABASE_URL", "postgres://desk:p%40ss@db.internal:6543/servicedesk?sslmode=require"
    )
    config = env.get_database("DATABASE_URL", tmp_path / "unused.sqlite3")
    assert config["ENGINE"] == "servicedesk.postgresql"
    assert (config["NAME"], config["USER"], config["PASSWORD"]) == ("servicedesk", "desk", "p@ss")
    assert (config["HOST"], config["PORT"]) == ("db.internal", "6543")
    assert config["OPTIONS"] == {"sslmode": "require", "options": "-c jit=off"}
    assert not (tmp_path / "unused.sqlite3").exists()


def test_database_postgres_url_may_turn_jit_back_on(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", "postgres://desk@db/servicedesk?options=-c%20jit%3Don")
    config = env.get_database("DATABASE_URL", tmp_path / "unused.sqlite3")
    assert config["OPTIONS"] == {"options": "-c jit=on"}


@pytest.mark.parametrize("scheme", ["postgresql", "pgsql"])
def test_database_postgres_scheme_aliases(monkeypatch, tmp_path, scheme):
    monkeypatch.setenv("DATABASE_URL", f"{scheme}://localhost/desk")
    config = env.get_database("DATABASE_URL", tmp_path / "db.sqlite3")
    assert (config["ENGINE"], config["NAME"], config["PORT"]) == (
        "servicedesk.postgresql",
        "desk",
        "",
    )


def test_database_default_is_sqlite_in_wal_mode_with_a_file_test_db(monkeypatch, tmp_path):
    path = tmp_path / "var" / "servicedesk.sqlite3"
    config = env.get_database("DATABASE_URL", path)
    assert config["ENGINE"] == "django.db.backends.sqlite3"
    assert config["NAME"] == str(path)
    assert "journal_mode=WAL" in config["OPTIONS"]["init_command"]
    assert config["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    # A file, not :memory:, so a worker process can share the test database.
    assert config["TEST"]["NAME"] == str(tmp_path / "var" / "test_servicedesk.sqlite3")
    assert path.parent.is_dir()


@pytest.mark.parametrize("prefix", ["sqlite:///", "sqlite://"])
def test_database_sqlite_url_with_an_absolute_path(monkeypatch, tmp_path, prefix):
    target = tmp_path / "data" / "desk.db"
    monkeypatch.setenv(
        "DATABASE_URL", f"{prefix}{target}"
    )  # sqlite:////tmp/... or sqlite:///tmp/...
    config = env.get_database("DATABASE_URL", tmp_path / "unused.sqlite3")
    assert config["NAME"] == str(target)
    assert config["TEST"]["NAME"] == str(target.with_name("test_desk.db"))
    assert target.parent.is_dir()


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("mysql://localhost/desk", "must start with postgres:// or sqlite:///"),
        ("postgres://localhost/", "names no database"),
        ("postgres://localhost:port/desk", "port"),
        ("sqlite://relative/desk.db", "sqlite:////absolute/path.db"),
        ("sqlite:///", "names no file"),
        ("sqlite:////", "names no file"),
        ("localhost:5432/desk", "must start with"),
    ],
)
def test_database_malformed_urls_name_the_variable(monkeypatch, tmp_path, url, fragment):
    monkeypatch.setenv("DATABASE_URL", url)
    message = refused(env.get_database, "DATABASE_URL", tmp_path / "db.sqlite3")
    assert message.startswith("DATABASE_URL")
    assert fragment in message


# --- CELERY_BROKER_URL ----------------------------------------------------------------


def test_broker_default_is_filesystem_with_absolute_existing_folders(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    url, options = env.get_broker("CELERY_BROKER_URL", Path("relative") / "broker")
    assert url == "filesystem://"
    for key in ("data_folder_in", "data_folder_out", "control_folder", "processed_folder"):
        folder = Path(options[key])
        assert folder.is_absolute(), key
        assert folder.is_dir(), key
    assert options["data_folder_in"] == options["data_folder_out"]
    assert Path(options["control_folder"]) == tmp_path / "relative" / "broker" / "control"


@pytest.mark.parametrize(
    "url", ["redis://127.0.0.1:6379/2", "rediss://cache:6380/0", "amqp://mq//"]
)
def test_broker_url_is_passed_through(monkeypatch, tmp_path, url):
    monkeypatch.setenv("CELERY_BROKER_URL", url)
    assert env.get_broker("CELERY_BROKER_URL", tmp_path / "broker") == (url, {})
    assert not (tmp_path / "broker").exists()


def test_broker_unknown_scheme_names_the_variable(monkeypatch, tmp_path):
    monkeypatch.setenv("CELERY_BROKER_URL", "kafka://broker:9092")
    message = refused(env.get_broker, "CELERY_BROKER_URL", tmp_path / "broker")
    assert message.startswith("CELERY_BROKER_URL")
    assert "'kafka'" in message


# --- EMAIL_URL ------------------------------------------------------------------------


@pytest.mark.parametrize("url", [None, "", "console:"])
def test_email_default_is_console(monkeypatch, url):
    if url is not None:
        monkeypatch.setenv("EMAIL_URL", url)
    assert env.get_email("EMAIL_URL") == {
        "EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"
    }


def test_email_smtp_with_starttls(monkeypatch):
    monkeypatch.setenv("EMAIL_URL", "smtp://mailer:s%3Acret@smtp.example.com:587?tls=1")
    config = env.get_email("EMAIL_URL")
    assert config["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert (config["EMAIL_HOST"], config["EMAIL_PORT"]) == ("smtp.example.com", 587)
    assert (config["EMAIL_HOST_USER"], config["EMAIL_HOST_PASSWORD"]) == ("mailer", "s:cret")
    assert (config["EMAIL_USE_TLS"], config["EMAIL_USE_SSL"]) == (True, False)


@pytest.mark.parametrize(
    ("url", "port", "ssl"), [("smtp://relay", 25, False), ("smtps://relay", 465, True)]
)
def test_email_smtp_default_ports(monkeypatch, url, port, ssl):
    monkeypatch.setenv("EMAIL_URL", url)
    config = env.get_email("EMAIL_URL")
    assert (config["EMAIL_PORT"], config["EMAIL_USE_SSL"], config["EMAIL_USE_TLS"]) == (
        port,
        ssl,
        False,
    )


def test_email_file_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("EMAIL_URL", f"file://{tmp_path}/mail")
    assert env.get_email("EMAIL_URL") == {
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": f"{tmp_path}/mail",
    }


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("smtp://", "names no host"),
        ("smtp://relay:abc", "port"),
        ("sendmail:///usr/sbin/sendmail", "'sendmail'"),
    ],
)
def test_email_malformed_urls_name_the_variable(monkeypatch, url, fragment):
    monkeypatch.setenv("EMAIL_URL", url)
    message = refused(env.get_email, "EMAIL_URL")
    assert message.startswith("EMAIL_URL")
    assert fragment in message


# --- DEBUG and other scalars ----------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "value"),
    [("1", True), ("TRUE", True), (" yes ", True), ("on", True), ("0", False), ("off", False),
     ("No", False), ("", False)],
)  # fmt: skip
def test_bool_words(monkeypatch, raw, value):
    monkeypatch.setenv("DEBUG", raw)
    assert env.get_bool("DEBUG", not value) is value


def test_bool_unset_uses_the_default():
    assert env.get_bool("DEBUG", True) is True
    assert env.get_bool("DEBUG", False) is False


@pytest.mark.parametrize("raw", ["maybe", "2", "enabled"])
def test_bool_malformed_names_the_variable(monkeypatch, raw):
    monkeypatch.setenv("DEBUG", raw)
    message = refused(env.get_bool, "DEBUG", True)
    assert message.startswith("DEBUG must be true or false")
    assert repr(raw) in message


def test_int_parses_and_checks_the_minimum(monkeypatch):
    assert env.get_int("ATTACHMENT_MAX_BYTES", 7) == 7
    monkeypatch.setenv("ATTACHMENT_MAX_BYTES", "42")
    assert env.get_int("ATTACHMENT_MAX_BYTES", 7, minimum=1) == 42
    monkeypatch.setenv("ATTACHMENT_MAX_BYTES", "0")
    assert refused(env.get_int, "ATTACHMENT_MAX_BYTES", 7, minimum=1).startswith(
        "ATTACHMENT_MAX_BYTES must be at least 1"
    )
    monkeypatch.setenv("ATTACHMENT_MAX_BYTES", "ten")
    assert refused(env.get_int, "ATTACHMENT_MAX_BYTES", 7).startswith(
        "ATTACHMENT_MAX_BYTES must be a whole number"
    )


def test_list_splits_on_commas(monkeypatch):
    assert env.get_list("ALLOWED_HOSTS", ["a"]) == ["a"]
    monkeypatch.setenv("ALLOWED_HOSTS", " desk.example.com, ,localhost ")
    assert env.get_list("ALLOWED_HOSTS", []) == ["desk.example.com", "localhost"]


# --- SECRET_KEY -----------------------------------------------------------------------


def test_secret_key_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("SECRET_KEY", "k" * 40)
    assert env.get_secret_key("SECRET_KEY", debug=False, keep_in=tmp_path / "key") == "k" * 40
    assert not (tmp_path / "key").exists()


def test_secret_key_required_without_debug(tmp_path):
    message = refused(env.get_secret_key, "SECRET_KEY", debug=False, keep_in=tmp_path / "key")
    assert message.startswith("SECRET_KEY is required when DEBUG is off")
    assert not (tmp_path / "key").exists()


def test_secret_key_too_short_is_refused(monkeypatch, tmp_path):
    monkeypatch.setenv("SECRET_KEY", "short")
    message = refused(env.get_secret_key, "SECRET_KEY", debug=True, keep_in=tmp_path / "key")
    assert message.startswith("SECRET_KEY must be at least 32 characters")


def test_secret_key_generated_once_and_kept_with_debug(tmp_path):
    keep = tmp_path / "var" / "secret_key"
    first = env.get_secret_key("SECRET_KEY", debug=True, keep_in=keep)
    second = env.get_secret_key("SECRET_KEY", debug=True, keep_in=keep)
    assert first == second
    assert len(first) >= 50
    assert keep.read_text() == first
    assert keep.stat().st_mode & 0o777 == 0o600


# --- TIME_ZONE ------------------------------------------------------------------------


def test_time_zone_valid(monkeypatch):
    assert env.get_time_zone("TIME_ZONE", "UTC") == "UTC"
    monkeypatch.setenv("TIME_ZONE", "Europe/Berlin")
    assert env.get_time_zone("TIME_ZONE", "UTC") == "Europe/Berlin"


@pytest.mark.parametrize("raw", ["Mars/Olympus", "CEST+2", "../etc/passwd", ""])
def test_time_zone_invalid_names_the_variable(monkeypatch, raw):
    monkeypatch.setenv("TIME_ZONE", raw)
    message = refused(env.get_time_zone, "TIME_ZONE", "UTC")
    assert message.startswith("TIME_ZONE must be an IANA time zone")

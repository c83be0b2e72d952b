"""servicedesk/postgresql: the per-request health check of a kept connection."""

import time

import pytest
from django.db import close_old_connections, connection, connections
from django.db.backends.postgresql import base as django_postgresql

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the PostgreSQL backend's health check"
)


def _request() -> int:
    """What a request does with the database: the start of a request (close_old_connections,
    Django's request_started handler), then a query; the backend's process id."""
    close_old_connections()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])


@pytest.mark.django_db(transaction=True)
def test_a_kept_connection_is_checked_without_a_round_trip_and_replaced_once_ended(monkeypatch):
    assert connection.settings_dict["CONN_HEALTH_CHECKS"]
    round_trips = []  # Django's own check (SELECT 1), with its answer
    django_check = django_postgresql.DatabaseWrapper.is_usable

    def check(self):
        round_trips.append(django_check(self))
        return round_trips[-1]

    monkeypatch.setattr(django_postgresql.DatabaseWrapper, "is_usable", check)
    pid = _request()
    assert _request() == pid
    assert round_trips == []  # kept, and checked without a SELECT 1

    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
            for _ in range(100):  # the server ends it at once; its socket closes just after
                cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [pid])
                if cursor.fetchone()[0] == 0:
                    break
                time.sleep(0.05)
    finally:
        other.close()
    time.sleep(0.1)
    assert _request() != pid  # replaced, not failing the request
    assert round_trips == [False]

"""The array parameters of the batch writers (servicedesk/db.py): one text per column,
read by PostgreSQL's array input; integer and timestamp columns take a fast path that
must spell the same arrays as the general one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from servicedesk.db import pg_array, pg_unnest

AT = datetime(2026, 3, 2, 9, 30, 15, 123456, tzinfo=UTC)


def test_integer_and_timestamp_columns_spell_what_the_general_path_spells():
    ints = [1, None, 12345678901]
    moments = [AT, None, AT.astimezone(timezone(timedelta(hours=2)))]

    sql, params = pg_unnest([("bigint", ints), ("timestamptz", moments)])

    assert sql == "unnest(%s::bigint[], %s::timestamptz[])"
    assert params == [pg_array(ints), pg_array(moments)]
    assert params[0] == "{1,NULL,12345678901}"
    assert params[1] == (
        '{"2026-03-02T09:30:15.123456+00:00",NULL,"2026-03-02T11:30:15.123456+02:00"}'
    )


def test_other_values_in_a_typed_column_take_the_general_path():
    # A string in an integer column is quoted (PostgreSQL reads it, or says why not).
    _, params = pg_unnest([("integer", [1, "2"]), ("text", ['say "hi"', "back\\slash"])])

    assert params == ['{1,"2"}', '{"say \\"hi\\"","back\\\\slash"}']


def test_boolean_columns_spell_postgresql_booleans():
    sql, params = pg_unnest([("boolean", [True, False, None])])

    assert sql == "unnest(%s::boolean[])"
    assert params == ["{t,f,NULL}"]


# --- execute_prepared -------------------------------------------------------------------

PREPARED = (
    "SELECT CAST(%(a)s AS integer) + CAST(%(b)s AS integer), CAST(%(a)s AS integer) * 2, '100%%'"
)


def _run_prepared(params: dict[str, int]) -> tuple[str, tuple[object, ...]]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from servicedesk.db import execute_prepared

    with CaptureQueriesContext(connection) as captured, connection.cursor() as cursor:
        execute_prepared(cursor, label="test_sum", sql=PREPARED, params=params)
        row = cursor.fetchone()
    assert len(captured) == 1  # the PREPARE is not a statement of the caller's
    return captured[0]["sql"], row


def test_a_prepared_statement_answers_as_the_statement_would(db):
    from django.db import connection

    from servicedesk.db import prepared_sql

    sql, row = _run_prepared({"a": 2, "b": 3})
    assert row == (5, 4, "100%")
    if connection.vendor == "postgresql":  # the log shows EXECUTE; its SQL as written
        assert prepared_sql(sql) == PREPARED
    assert _run_prepared({"a": 7, "b": 1})[1] == (8, 14, "100%")


def test_postgresql_prepares_once_per_connection(db):
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("PREPARE is PostgreSQL's")
    assert _run_prepared({"a": 1, "b": 1})[0].startswith("EXECUTE test_sum_")
    # A new connection (Django reconnects after CONN_MAX_AGE or an error) prepares again.
    raw = connection.connection
    connection.connection = connection.get_new_connection(connection.get_connection_params())
    try:
        connection.connection.autocommit = raw.autocommit
        assert _run_prepared({"a": 4, "b": 5})[1] == (9, 8, "100%")
    finally:
        connection.connection.close()
        connection.connection = raw

"""The array parameters of the batch writers (servicedesk/db.py): one text per column,
read by PostgreSQL's array input; integer and timestamp columns take a fast path that
must spell the same arrays as the general one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

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

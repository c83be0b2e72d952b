"""Small database helpers shared by the apps' batch writers and hot reads."""

from __future__ import annotations

import re
import threading
import weakref
import zlib
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS, connection, connections, models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import CursorWrapper

M = TypeVar("M", bound=models.Model)


def pg_array(values: Iterable[Any]) -> str:
    """A PostgreSQL array literal ('{"1","x",NULL}') of `values`, to pass as ONE
    parameter and cast (`%s::bigint[]`): the statement stays a few hundred bytes whatever
    the row count, where a VALUES list of 1,000 rows is 10,000 literals for the server to
    parse and plan (measured: the larger part of an insert's cost at 1,000 rows)."""
    return "{" + ",".join(map(_pg_element, values)) + "}"


def _pg_element(value: Any) -> str:
    if value is None:
        return "NULL"
    if type(value) is int:
        return str(value)
    # A datetime as ISO 8601 with its offset, which timestamptz reads as is.
    text = value.isoformat() if isinstance(value, datetime) else str(value)
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


_PLACEHOLDER = re.compile(r"%\((\w+)\)s|%s|%%")
# The statements prepared on each of PostgreSQL's connections (the driver's connection
# objects: a new one, or one Django connects anew, has none), by name: their values' order.
_prepared: weakref.WeakKeyDictionary[Any, dict[str, list[Any]]] = weakref.WeakKeyDictionary()
# By name: their SQL as written (for `prepared_sql`).
_prepared_sql: dict[str, str] = {}


def execute_prepared(
    cursor: CursorWrapper, *, label: str, sql: str, params: Sequence[Any] | dict[str, Any]
) -> None:
    """`cursor.execute(sql, params)`; on PostgreSQL through a statement prepared once per
    connection (PREPARE, then EXECUTE with the values), for the statements every filing
    runs: the server parses and plans a statement of several CTEs each time it is sent,
    more of its CPU than running it (measured, in-process loop of API filings: the five
    filing statements and the token lookup 1.3 ms of PostgreSQL CPU less per filing).

    The PREPARE goes through the driver's own cursor: once per connection, it is no
    statement of a request (the statement counts of tests and benches count EXECUTE).
    A prepared statement outlives a rolled-back transaction; a new connection prepares
    again. `label` names it (`label_<crc32 of sql>`), as query logs show it;
    `prepared_sql` gives its text back."""
    if cursor.db.vendor != "postgresql":
        cursor.execute(sql, params)
        return
    name = f"{label}_{zlib.crc32(sql.encode()):08x}"
    known = _prepared.get(cursor.db.connection)
    if known is None:
        known = _prepared[cursor.db.connection] = {}
    order = known.get(name)
    if order is None:
        order = []

        def number(match: re.Match[str]) -> str:
            placeholder, key = match.group(0), match.group(1)
            if placeholder == "%%":
                return "%"
            if key is None:  # positional: the next value
                order.append(len(order))
                return f"${len(order)}"
            if key not in order:
                order.append(key)
            return f"${order.index(key) + 1}"

        cursor.cursor.execute(f"PREPARE {name} AS {_PLACEHOLDER.sub(number, sql)}")
        known[name] = order
        _prepared_sql[name] = sql
    values = [params[key] for key in order] if isinstance(params, dict) else list(params)
    arguments = f" ({', '.join(['%s'] * len(values))})" if values else ""
    cursor.execute(f"EXECUTE {name}{arguments}", values)


def prepared_sql(executed: str) -> str:
    """The SQL of a statement `execute_prepared` ran, from its `EXECUTE name (...)` as
    query logs show it; any other statement as it is."""
    match = re.match(r"EXECUTE (\w+)", executed)
    return _prepared_sql.get(match.group(1), executed) if match else executed


INTEGER_TYPES = frozenset({"smallint", "integer", "bigint"})
TIMESTAMP_TYPES = frozenset({"timestamptz", "timestamp with time zone"})
BOOLEAN_TYPES = frozenset({"boolean", "bool"})
_BOOLEANS = {True: "t", False: "f", None: "NULL"}


def _pg_integers(values: Iterable[int | None]) -> str:
    return "{" + ",".join(["NULL" if v is None else str(v) for v in values]) + "}"


def _pg_timestamps(values: Iterable[datetime | None]) -> str:
    # isoformat() has neither quotes nor backslashes: nothing to escape.
    return "{" + ",".join(["NULL" if v is None else f'"{v.isoformat()}"' for v in values]) + "}"


def pg_unnest(columns: list[tuple[str, list[Any]]]) -> tuple[str, list[Any]]:
    """`unnest(%s::type[], ...)` over parallel columns given as (SQL type, values), and
    its parameters. Integer, timestamptz and boolean columns take a fast path (a sweep builds
    seven arrays of a thousand values; the per-value type checks were a tenth of its
    Python time)."""
    sql = ", ".join(f"%s::{db_type}[]" for db_type, _ in columns)
    params = []
    for db_type, values in columns:
        if db_type in INTEGER_TYPES and all(type(v) is int or v is None for v in values):
            params.append(_pg_integers(values))
        elif db_type in TIMESTAMP_TYPES and all(isinstance(v, datetime | None) for v in values):
            params.append(_pg_timestamps(values))
        elif db_type in BOOLEAN_TYPES and all(v is None or type(v) is bool for v in values):
            params.append("{" + ",".join([_BOOLEANS[v] for v in values]) + "}")
        else:
            params.append(pg_array(values))
    return f"unnest({sql})", params


def update_rows(model: type[models.Model], columns: list[str], rows: list[tuple[Any, ...]]) -> None:
    """UPDATE many rows by primary key: each row is the new values of `columns` (database
    column names) followed by the primary key.

    On PostgreSQL one `UPDATE ... FROM unnest(<one array per column>)`: one round trip
    and a statement whose size does not grow with the rows; elsewhere an executemany,
    which is in-process on SQLite. Django's bulk_update builds a CASE per field and row,
    which costs ~5 ms a row of Python at 1,000 rows (measured).
    """
    if not rows:
        return
    ops = connection.ops
    table = ops.quote_name(model._meta.db_table)
    pk_field = model._meta.pk
    assert pk_field is not None and pk_field.column is not None
    pk = ops.quote_name(pk_field.column)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            fields = {field.column: field for field in model._meta.concrete_fields}
            names = [ops.quote_name(c) for c in columns]
            assignments = ", ".join(f"{name} = v.{name}" for name in names)
            unnest, params = pg_unnest(
                [
                    *(
                        (fields[c].db_type(connection) or "text", [r[i] for r in rows])
                        for i, c in enumerate(columns)
                    ),
                    ("bigint", [r[-1] for r in rows]),
                ]
            )
            cursor.execute(
                f"UPDATE {table} SET {assignments} FROM {unnest} "  # noqa: S608
                f"AS v({', '.join([*names, 'pk'])}) WHERE {table}.{pk} = v.pk",
                params,
            )
        else:
            adapted = [
                tuple(
                    ops.adapt_datetimefield_value(v) if isinstance(v, datetime) else v for v in row
                )
                for row in rows
            ]
            assignments = ", ".join(f"{ops.quote_name(column)} = %s" for column in columns)
            cursor.executemany(f"UPDATE {table} SET {assignments} WHERE {pk} = %s", adapted)  # noqa: S608


def model_columns(model: type[models.Model], alias: str) -> str:
    """The model's concrete columns under the table alias `alias`, in field order: the
    part of a hand-written SELECT whose values `model_from_row` makes an instance of."""
    qn = connection.ops.quote_name
    return ", ".join(f"{alias}.{qn(str(field.column))}" for field in model._meta.concrete_fields)


def model_from_row(model: type[M], values: Sequence[Any]) -> M:
    """An instance of `model` from the values of its `model_columns`, as the ORM builds
    one: the backend's converters (SQLite's datetimes and booleans), then from_db.

    For a query run on every request (the API's token lookup): the ORM spends about
    0.6 ms of Python compiling a three-table select_related each time, the SQL itself
    costs a tenth of that."""
    wrapper = connections[DEFAULT_DB_ALIAS]
    row = list(values)
    for index, field, converters in _converters(wrapper, model):
        value = row[index]
        for converter in converters:
            value = converter(value, field.cached_col, wrapper)
        row[index] = value
    attnames = [field.attname for field in model._meta.concrete_fields]
    return model.from_db(DEFAULT_DB_ALIAS, attnames, row)


Converter = Callable[[Any, Any, BaseDatabaseWrapper], Any]
# Per thread (converters are bound to the thread's connection), per connection and model:
# (index, field, converters) of the columns that have any.
_converters_cache = threading.local()


def _converters(
    wrapper: BaseDatabaseWrapper, model: type[models.Model]
) -> list[tuple[int, Any, list[Converter]]]:
    per_model = getattr(_converters_cache, "found", None)
    if per_model is None:
        per_model = _converters_cache.found = {}
    found = per_model.get((wrapper, model))
    if found is None:
        found = []
        for index, field in enumerate(model._meta.concrete_fields):
            col = field.cached_col
            converters = wrapper.ops.get_db_converters(col) + field.get_db_converters(wrapper)
            if converters:
                found.append((index, field, converters))
        per_model[(wrapper, model)] = found
    return found

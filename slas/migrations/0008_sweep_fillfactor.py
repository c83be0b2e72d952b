"""Room on every page of the clocks and their schedule rows for the sweep's updates
(PostgreSQL; SQLite has no such setting).

A page keeps 20 % free, so a clock the sweep marks breached is rewritten in place (a HOT
update: `breached_at` is in no index, and no index gets a new entry), and a schedule row
moved on gets its new version on its own page, already dirty, rather than on another.
Only pages written from now on are filled to 80 %: new clocks get the room at once; a
table laid before this (a restored backup, a benchmark desk) gets it with
`VACUUM FULL slas_slaclock` (a rewrite, which locks the table while it runs)."""

from django.db import migrations

TABLES = ("slas_slaclock", "slas_slaschedule")


def set_fillfactor(apps, schema_editor, percent=80):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(f"ALTER TABLE {table} SET (fillfactor = {int(percent)})")


def reset_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(f"ALTER TABLE {table} RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [
        ("slas", "0007_event_clock_unconstrained"),
    ]

    operations = [
        migrations.RunPython(set_fillfactor, reset_fillfactor),
    ]

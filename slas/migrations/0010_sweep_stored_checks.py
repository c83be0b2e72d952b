"""The sweep reads each running clock's checks (its warnings and breach, with their
instants) from the schedule row instead of computing them from a copy of the clock's
fields (slas/checks.py says why): the row gets `checks`, filled here from the clocks, and
loses the four copied fields only that math needed. SLA events lose their department
index (nothing reads events by department but the admin's filter)."""

import json
from datetime import UTC

import django.db.models.deletion
from django.db import migrations, models

from servicedesk.db import update_rows
from slas import clock
from slas.checks import encode_checks, pending_checks

BATCH = 5_000
ROUND_THE_CLOCK = clock.Calendar("UTC", tuple((day, 0, clock.DAY) for day in range(7)))
RUNNING = """
SELECT s.clock_id, c.department_id, c.target_seconds, c.consumed_seconds, c.running_since,
       c.warning_percents, s.warned_percent, s.breached OR c.breached_at IS NOT NULL
FROM slas_slaschedule s JOIN slas_slaclock c ON c.id = s.clock_id
WHERE c.state = 'running' AND c.running_since IS NOT NULL AND s.clock_id > %s
ORDER BY s.clock_id LIMIT %s
"""
# Backwards: the copied columns are back (empty) by the time this runs; a breach the
# sweep recorded only on the schedule row goes onto its clock, where the code before
# this migration looks for it.
COPY_BACK = [
    """
    UPDATE slas_slaschedule SET
        target_seconds = (SELECT c.target_seconds FROM slas_slaclock c
                          WHERE c.id = slas_slaschedule.clock_id),
        consumed_seconds = (SELECT c.consumed_seconds FROM slas_slaclock c
                            WHERE c.id = slas_slaschedule.clock_id),
        running_since = (SELECT c.running_since FROM slas_slaclock c
                         WHERE c.id = slas_slaschedule.clock_id),
        warning_percents = (SELECT c.warning_percents FROM slas_slaclock c
                            WHERE c.id = slas_slaschedule.clock_id)
    """,
    """
    UPDATE slas_slaclock SET breached_at = (
        SELECT max(e.instant) FROM slas_slaevent e
        WHERE e.clock_id = slas_slaclock.id AND e.kind = 'breach'
    )
    WHERE breached_at IS NULL
      AND id IN (SELECT clock_id FROM slas_slaschedule WHERE breached)
    """,
]


def _calendars(apps):
    """Each department's calendar as a clock value (as BusinessCalendar.as_clock_calendar,
    which a historical model does not have)."""
    BusinessCalendar = apps.get_model("slas", "BusinessCalendar")
    Department = apps.get_model("tickets", "Department")
    by_calendar = {}
    for calendar in BusinessCalendar.objects.prefetch_related("intervals", "holidays"):
        intervals = tuple(
            (i.weekday, _seconds(i.start), _seconds(i.end) or clock.DAY)
            for i in calendar.intervals.all()
        )
        holidays = frozenset(h.date for h in calendar.holidays.all())
        by_calendar[calendar.pk] = clock.Calendar(calendar.time_zone, intervals, holidays)
    return {
        pk: ROUND_THE_CLOCK if calendar_id is None else by_calendar[calendar_id]
        for pk, calendar_id in Department.objects.values_list("pk", "calendar_id")
    }


def _seconds(moment):
    return moment.hour * 3600 + moment.minute * 60 + moment.second


def fill_checks(apps, schema_editor):
    SlaSchedule = apps.get_model("slas", "SlaSchedule")
    calendars = _calendars(apps)
    after = 0
    while True:
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(RUNNING, [after, BATCH])
            rows = cursor.fetchall()
        if not rows:
            return
        after = rows[-1][0]
        updates = []
        for pk, department_id, target, used, since, percents, warned, breached in rows:
            calendar = calendars[department_id]
            if not calendar.has_working_time:
                continue
            checks = pending_checks(
                target=target,
                used=used,
                running_since=since if since.tzinfo else since.replace(tzinfo=UTC),
                warning_percents=json.loads(percents) if isinstance(percents, str) else percents,
                warned_percent=warned,
                breached=bool(breached),
                calendar=calendar,
            )
            first = checks[0].instant if checks else None
            updates.append((encode_checks(checks), first, pk))
        update_rows(SlaSchedule, ["checks", "next_check_at"], updates)


class Migration(migrations.Migration):
    dependencies = [
        ("slas", "0009_dashboard_indexes"),
        ("tickets", "0006_dashboard_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="slaschedule",
            name="checks",
            field=models.TextField(blank=True),
        ),
        migrations.RunPython(fill_checks, migrations.RunPython.noop),
        migrations.RunSQL(migrations.RunSQL.noop, COPY_BACK),
        migrations.RemoveField(model_name="slaschedule", name="consumed_seconds"),
        migrations.RemoveField(model_name="slaschedule", name="running_since"),
        migrations.RemoveField(model_name="slaschedule", name="target_seconds"),
        migrations.RemoveField(model_name="slaschedule", name="warning_percents"),
        migrations.AlterField(
            model_name="slaevent",
            name="department",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="tickets.department",
            ),
        ),
    ]

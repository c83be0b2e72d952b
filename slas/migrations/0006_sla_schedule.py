"""The sweep's next check and progress move from SlaClock to a narrow SlaSchedule row per
clock, with a copy of what the sweep reads of the clock (slas/models.py says why),
filled from the existing clocks in one statement."""

import django.db.models.deletion
from django.db import migrations, models

FILL = """
INSERT INTO slas_slaschedule (
    clock_id, next_check_at, warned_percent, ticket_id, department_id, kind, target_seconds,
    consumed_seconds, running_since, warning_percents, breached
)
SELECT id, next_check_at, warned_percent, ticket_id, department_id, kind, target_seconds,
    consumed_seconds, running_since, warning_percents, breached_at IS NOT NULL
FROM slas_slaclock
"""
# Backwards: the columns are back (empty) by the time this runs.
EMPTY = """
UPDATE slas_slaclock SET
    next_check_at = (SELECT s.next_check_at FROM slas_slaschedule s WHERE s.clock_id = slas_slaclock.id),
    warned_percent = coalesce(
        (SELECT s.warned_percent FROM slas_slaschedule s WHERE s.clock_id = slas_slaclock.id), 0
    )
"""


class Migration(migrations.Migration):
    dependencies = [
        ("slas", "0005_event_ticket_unconstrained"),
    ]

    operations = [
        migrations.CreateModel(
            name="SlaSchedule",
            fields=[
                (
                    "clock",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="schedule",
                        serialize=False,
                        to="slas.slaclock",
                    ),
                ),
                ("next_check_at", models.DateTimeField(blank=True, null=True)),
                ("warned_percent", models.PositiveSmallIntegerField(default=0)),
                ("ticket_id", models.BigIntegerField(default=0)),
                ("department_id", models.BigIntegerField(default=0)),
                ("kind", models.CharField(blank=True, max_length=20)),
                ("target_seconds", models.PositiveIntegerField(default=0)),
                ("consumed_seconds", models.PositiveIntegerField(default=0)),
                ("running_since", models.DateTimeField(blank=True, null=True)),
                ("warning_percents", models.JSONField(default=list)),
                ("breached", models.BooleanField(default=False)),
            ],
            options={"verbose_name": "SLA schedule"},
        ),
        migrations.RunSQL(FILL, EMPTY),
        # The index after the fill: one sort instead of a million inserts into it.
        migrations.AddIndex(
            model_name="slaschedule",
            index=models.Index(
                condition=models.Q(("next_check_at__isnull", False)),
                fields=["next_check_at"],
                name="slaschedule_next_check",
            ),
        ),
        migrations.RemoveIndex(model_name="slaclock", name="slaclock_next_check"),
        migrations.RemoveField(model_name="slaclock", name="next_check_at"),
        migrations.RemoveField(model_name="slaclock", name="warned_percent"),
    ]

from typing import Any

from django.db import migrations, models


def create_triggers(apps: Any, schema_editor: Any) -> None:
    # PostgreSQL only: elsewhere the dashboards compute every figure directly.
    if schema_editor.connection.vendor == "postgresql":
        from dashboards.triggers import CREATE

        schema_editor.execute(CREATE)


def drop_triggers(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        from dashboards.triggers import DROP

        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("tickets", "0008_config_generation"),
        ("slas", "0014_met_clock_buckets"),
    ]

    operations = [
        migrations.CreateModel(
            name="DailyFigures",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("day", models.DateField()),
                ("dimension", models.PositiveSmallIntegerField(choices=[(0, "All"), (1, "Requesting department"), (2, "Request type"), (3, "Assignee"), (4, "Priority")])),
                ("key", models.IntegerField()),
                ("created", models.IntegerField(default=0)),
                ("resolved_once", models.IntegerField(default=0)),
                ("reopened", models.IntegerField(default=0)),
                ("resolved", models.IntegerField(default=0)),
                ("fr_finished", models.IntegerField(default=0)),
                ("fr_met", models.IntegerField(default=0)),
                ("fr_breached", models.IntegerField(default=0)),
                ("fr_seconds", models.BinaryField(null=True)),
                ("res_finished", models.IntegerField(default=0)),
                ("res_met", models.IntegerField(default=0)),
                ("res_breached", models.IntegerField(default=0)),
                ("res_seconds", models.BinaryField(null=True)),
                ("department", models.ForeignKey(db_constraint=False, on_delete=models.deletion.CASCADE, to="tickets.department")),
            ],
            options={
                "constraints": [models.UniqueConstraint(fields=("department", "day", "dimension", "key"), name="dailyfigures_unique")],
            },
        ),
        migrations.CreateModel(
            name="DailyRollup",
            fields=[
                ("department", models.OneToOneField(db_constraint=False, on_delete=models.deletion.CASCADE, primary_key=True, serialize=False, to="tickets.department")),
                ("rolled_until", models.DateField()),
                ("time_zone", models.CharField(max_length=64)),
                ("rolled_at", models.DateTimeField()),
            ],
        ),
        migrations.CreateModel(
            name="StaleDay",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("department_id", models.IntegerField()),
                ("day", models.DateField()),
            ],
            options={
                "indexes": [models.Index(fields=["department_id", "day"], name="staleday_dept_day")],
            },
        ),
        migrations.RunPython(create_triggers, drop_triggers),
    ]

import django.db.models.deletion
from django.db import migrations, models

def forget_rolled(apps, schema_editor):
    # Back to seconds in the daily rows: the next roll-up rolls every day again.
    for model in ("DailyFigures", "DailyRollup", "StaleDay"):
        apps.get_model("dashboards", model).objects.all().delete()


class Migration(migrations.Migration):
    """The met clocks' seconds by bucket in a table of their own (BucketSeconds) instead
    of the daily rows' sorted seconds: a percentile's bucket is then read from its rows
    alone instead of slices of every day's out-of-line seconds. The rolled rows lose their
    seconds here; 0004, which landed with this one, drops them for a roll-up of the whole
    history (no copy: it would be deleted at once)."""

    dependencies = [
        ("dashboards", "0002_histograms"),
        ("tickets", "0008_config_generation"),
    ]

    operations = [
        migrations.CreateModel(
            name="BucketSeconds",
            fields=[
                ("pk", models.CompositePrimaryKey("department", "dimension", "key", "kind", "bucket", "month", "day", blank=True, editable=False, primary_key=True, serialize=False)),
                ("dimension", models.PositiveSmallIntegerField(choices=[(0, "All"), (1, "Requesting department"), (2, "Request type"), (3, "Assignee"), (4, "Priority")])),
                ("key", models.IntegerField()),
                ("kind", models.PositiveSmallIntegerField(choices=[(0, "First response"), (1, "Resolution")])),
                ("bucket", models.SmallIntegerField()),
                ("month", models.BooleanField(default=False)),
                ("day", models.DateField()),
                ("seconds", models.BinaryField()),
                ("department", models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name="+", to="tickets.department")),
            ],
            options={
                "indexes": [models.Index(fields=["department", "month", "day"], name="bucketseconds_days")],
            },
        ),
        migrations.RunPython(migrations.RunPython.noop, forget_rolled),
        *(
            migrations.RemoveField(model_name="dailyfigures", name=name)
            for name in ("fr_seconds", "fr_buckets", "fr_ends", "res_seconds", "res_buckets", "res_ends")
        ),
    ]

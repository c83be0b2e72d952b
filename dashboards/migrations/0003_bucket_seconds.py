import django.db.models.deletion
from django.db import migrations, models

# Each stored row's seconds by bucket: the slices of its sorted seconds that its
# histogram's arrays delimit (bucket i's run ends at ends[i], running count), each
# row's seconds read once (the concatenation detoasts them), written in the index's order.
COPY = """
INSERT INTO dashboards_bucketseconds
    (department_id, dimension, key, kind, bucket, month, day, seconds)
SELECT f.department_id, f.dimension, f.key, s.kind, s.bucket, f.month, f.day,
       substring(s.packed FROM s.start * 4 + 1 FOR (s.stop - s.start) * 4)
FROM dashboards_dailyfigures f
CROSS JOIN LATERAL (
    SELECT f.fr_seconds || ''::bytea AS fr, f.res_seconds || ''::bytea AS res
) v
CROSS JOIN LATERAL (
    SELECT 0 AS kind, v.fr AS packed, b AS bucket,
           COALESCE(lag(e) OVER (ORDER BY i), 0) AS start, e AS stop
    FROM unnest(f.fr_buckets, f.fr_ends) WITH ORDINALITY u(b, e, i)
    UNION ALL
    SELECT 1, v.res, b, COALESCE(lag(e) OVER (ORDER BY i), 0), e
    FROM unnest(f.res_buckets, f.res_ends) WITH ORDINALITY u(b, e, i)
) s
ORDER BY 1, 2, 3, 4, 5, 6, 7
"""


def copy_seconds(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(COPY)


def forget_rolled(apps, schema_editor):
    # Back to seconds in the daily rows: the next roll-up rolls every day again.
    for model in ("DailyFigures", "DailyRollup", "StaleDay"):
        apps.get_model("dashboards", model).objects.all().delete()


class Migration(migrations.Migration):
    """The met clocks' seconds by bucket in a table of their own (BucketSeconds), copied
    from the daily rows' sorted seconds, which go: a percentile's bucket is then read
    from its rows alone instead of slices of every day's out-of-line seconds. No re-roll."""

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
        migrations.RunPython(copy_seconds, forget_rolled),
        *(
            migrations.RemoveField(model_name="dailyfigures", name=name)
            for name in ("fr_seconds", "fr_buckets", "fr_ends", "res_seconds", "res_buckets", "res_ends")
        ),
    ]

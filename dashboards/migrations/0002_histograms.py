import django.contrib.postgres.fields
from django.db import migrations, models


def external_storage(apps, schema_editor):
    # The seconds uncompressed out of line: substring() reads only the part it returns.
    # And the survey invitations' triggers (dashboards.triggers).
    if schema_editor.connection.vendor == "postgresql":
        from dashboards.triggers import CREATE_INVITATIONS

        schema_editor.execute(
            "ALTER TABLE dashboards_dailyfigures ALTER COLUMN fr_seconds SET STORAGE EXTERNAL, "
            "ALTER COLUMN res_seconds SET STORAGE EXTERNAL"
        )
        schema_editor.execute(CREATE_INVITATIONS)


def drop_invitation_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        from dashboards.triggers import DROP_INVITATIONS

        schema_editor.execute(DROP_INVITATIONS)


class Migration(migrations.Migration):
    """Histograms beside the met clocks' sorted seconds, and a row per month beside the
    days' (DailyFigures.month), and the survey invitations' counts (with triggers on
    surveys_surveyinvitation). Rows rolled the old way are
    dropped with their watermarks, so the next roll-up rolls every day again (until then
    the dashboards compute every day directly)."""

    dependencies = [("dashboards", "0001_daily_figures"), ("surveys", "0003_invitation_answer_copy")]

    operations = [
        migrations.RunSQL(
            "DELETE FROM dashboards_dailyfigures; DELETE FROM dashboards_dailyrollup; "
            "DELETE FROM dashboards_staleday;",
            migrations.RunSQL.noop,
        ),
        migrations.AddField(
            model_name="dailyfigures", name="fr_histogram", field=models.BinaryField(null=True)
        ),
        migrations.AddField(
            model_name="dailyfigures",
            name="fr_buckets",
            field=django.contrib.postgres.fields.ArrayField(base_field=models.SmallIntegerField(), null=True, size=None),
        ),
        migrations.AddField(
            model_name="dailyfigures",
            name="fr_ends",
            field=django.contrib.postgres.fields.ArrayField(base_field=models.IntegerField(), null=True, size=None),
        ),
        migrations.AddField(
            model_name="dailyfigures", name="res_histogram", field=models.BinaryField(null=True)
        ),
        migrations.AddField(
            model_name="dailyfigures",
            name="res_buckets",
            field=django.contrib.postgres.fields.ArrayField(base_field=models.SmallIntegerField(), null=True, size=None),
        ),
        migrations.AddField(
            model_name="dailyfigures",
            name="res_ends",
            field=django.contrib.postgres.fields.ArrayField(base_field=models.IntegerField(), null=True, size=None),
        ),
        migrations.RemoveConstraint(model_name="dailyfigures", name="dailyfigures_unique"),
        migrations.AddField(
            model_name="dailyfigures", name="month", field=models.BooleanField(default=False)
        ),
        migrations.AddConstraint(
            model_name="dailyfigures",
            constraint=models.UniqueConstraint(fields=("department", "day", "dimension", "key", "month"), name="dailyfigures_unique"),
        ),
        *(
            migrations.AddField(
                model_name="dailyfigures", name=name, field=models.IntegerField(default=0)
            )
            for name in (
                "invited", "responses", "score_sum", "nps_responses", "promoters",
                "detractors", "anonymous_answers", "s1", "s2", "s3", "s4", "s5",
            )
        ),
        migrations.RunPython(external_storage, drop_invitation_triggers),
    ]

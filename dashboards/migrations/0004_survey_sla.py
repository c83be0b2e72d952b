from django.db import migrations, models


def invitation_triggers(apps, schema_editor):
    # The invitations' triggers again, now watching sla_met too (dashboards.triggers).
    if schema_editor.connection.vendor == "postgresql":
        from dashboards.triggers import CREATE_INVITATIONS, DROP_INVITATIONS

        schema_editor.execute(DROP_INVITATIONS)
        schema_editor.execute(CREATE_INVITATIONS)


class Migration(migrations.Migration):
    """The survey invitations' counts by SLA met (DailyFigures.Dimension.SURVEY_SLA), and
    their triggers watching sla_met. The rolled rows have none of that dimension: they are
    dropped, with their BucketSeconds and watermarks, so the next roll-up rolls every day
    again (until then the dashboards compute every day directly). They also lost their
    seconds in 0003, which landed with this one."""

    dependencies = [("dashboards", "0003_bucket_seconds")]

    operations = [
        migrations.RunSQL(
            "DELETE FROM dashboards_bucketseconds; DELETE FROM dashboards_dailyfigures; "
            "DELETE FROM dashboards_dailyrollup; "
            "DELETE FROM dashboards_staleday;",
            migrations.RunSQL.noop,
        ),
        migrations.AlterField(
            model_name="dailyfigures",
            name="dimension",
            field=models.PositiveSmallIntegerField(
                choices=[
                    (0, "All"),
                    (1, "Requesting department"),
                    (2, "Request type"),
                    (3, "Assignee"),
                    (4, "Priority"),
                    (5, "Survey by SLA met"),
                ]
            ),
        ),
        migrations.AlterField(
            model_name="bucketseconds",
            name="dimension",
            field=models.PositiveSmallIntegerField(
                choices=[
                    (0, "All"),
                    (1, "Requesting department"),
                    (2, "Request type"),
                    (3, "Assignee"),
                    (4, "Priority"),
                    (5, "Survey by SLA met"),
                ]
            ),
        ),
        migrations.RunPython(invitation_triggers, migrations.RunPython.noop),
    ]

import django.contrib.postgres.fields
from django.db import migrations, models


class Migration(migrations.Migration):
    """The met clocks' seconds as sorted int[] with a histogram beside them: rows rolled
    the old way are dropped with their watermarks, so the next roll-up rolls every day
    again (until then the dashboards compute every day directly)."""

    dependencies = [("dashboards", "0001_daily_figures")]

    operations = [
        migrations.RunSQL(
            "DELETE FROM dashboards_dailyfigures; DELETE FROM dashboards_dailyrollup; "
            "DELETE FROM dashboards_staleday;",
            migrations.RunSQL.noop,
        ),
        migrations.RemoveField(model_name="dailyfigures", name="fr_seconds"),
        migrations.RemoveField(model_name="dailyfigures", name="res_seconds"),
        migrations.AddField(
            model_name="dailyfigures",
            name="fr_seconds",
            field=django.contrib.postgres.fields.ArrayField(base_field=models.IntegerField(), null=True, size=None),
        ),
        migrations.AddField(
            model_name="dailyfigures",
            name="res_seconds",
            field=django.contrib.postgres.fields.ArrayField(base_field=models.IntegerField(), null=True, size=None),
        ),
        migrations.AddField(
            model_name="dailyfigures", name="fr_histogram", field=models.BinaryField(null=True)
        ),
        migrations.AddField(
            model_name="dailyfigures", name="res_histogram", field=models.BinaryField(null=True)
        ),
    ]

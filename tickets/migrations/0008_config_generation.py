from django.db import migrations, models


def create_row(apps, schema_editor):
    apps.get_model("tickets", "ConfigGeneration").objects.create(pk=1, value=0)


class Migration(migrations.Migration):
    dependencies = [("tickets", "0006_dashboard_indexes")]

    operations = [
        migrations.CreateModel(
            name="ConfigGeneration",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("value", models.BigIntegerField(default=0)),
            ],
            options={"verbose_name": "configuration generation"},
        ),
        migrations.RunPython(create_row, migrations.RunPython.noop),
    ]

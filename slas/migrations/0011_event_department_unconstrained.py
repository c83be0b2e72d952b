"""SLA events lose the database constraint on their department: its check at commit
read and KEY SHARE-locked a department row per event a sweep inserts (slas/models.py
SlaEvent says why)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('slas', '0010_sweep_stored_checks'),
        ('tickets', '0006_dashboard_indexes'),
    ]

    operations = [
        migrations.AlterField(
            model_name='slaevent',
            name='department',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='tickets.department'),
        ),
    ]

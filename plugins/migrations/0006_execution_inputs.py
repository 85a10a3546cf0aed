from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("plugins", "0005_runner"),
    ]

    operations = [
        migrations.AddField(
            model_name="execution",
            name="inputs",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name="execution",
            name="parameters",
            field=models.JSONField(blank=True, default=dict),
        ),
    ]

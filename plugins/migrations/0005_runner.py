from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("plugins", "0004_instance_schedule"),
    ]

    operations = [
        migrations.AddField(
            model_name="execution",
            name="heartbeat_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="pluginversion",
            name="environment_error",
            field=models.TextField(blank=True, help_text="The installer's message when requirements failed"),
        ),
        migrations.AlterField(
            model_name="pluginversion",
            name="entry_point",
            field=models.CharField(
                blank=True,
                help_text="module:function, a module run as a script (main), or an executable of the archive (run.sh)",
                max_length=500,
            ),
        ),
        migrations.AddIndex(
            model_name="execution",
            index=models.Index(
                condition=models.Q(("status", "RUNNING")), fields=["heartbeat_at"], name="execution_running_heartbeat"
            ),
        ),
    ]

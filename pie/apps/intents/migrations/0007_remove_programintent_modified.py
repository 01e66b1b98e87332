from django.db import migrations


class Migration(migrations.Migration):
    """Intents are immutable: ``modified`` always equalled ``created``."""

    dependencies = [
        ("intents", "0006_program"),
    ]

    operations = [
        migrations.RemoveField(
            model_name="programintent",
            name="modified",
        ),
    ]

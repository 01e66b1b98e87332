from django.db import migrations


class Migration(migrations.Migration):
    """Intents are immutable: ``modified`` always equalled ``created``."""

    dependencies = [
        ("intents", "0005_fill_current_intents"),
    ]

    operations = [
        migrations.RemoveField(
            model_name="programintent",
            name="modified",
        ),
    ]

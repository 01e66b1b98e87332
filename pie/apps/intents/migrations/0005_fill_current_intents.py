"""
Fill CurrentIntent from the intents already stored: each learner's best intent per program,
by the selection rule, in one set-based statement. See docs/decisions/0008-current-intents-kept-as-data.rst.
"""

from django.db import migrations


def fill_current_intents(apps, schema_editor):
    # The service writes the table with SQL of its own; it is given the historical model's
    # rows, so this migration keeps working when ProgramIntent later changes.
    from pie.apps.intents.services import current_intents_offer

    ProgramIntent = apps.get_model("intents", "ProgramIntent")
    current_intents_offer(intents=ProgramIntent.objects.using(schema_editor.connection.alias))


def empty_current_intents(apps, schema_editor):
    apps.get_model("intents", "CurrentIntent").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("intents", "0004_current_intent")]

    operations = [migrations.RunPython(fill_current_intents, empty_current_intents)]

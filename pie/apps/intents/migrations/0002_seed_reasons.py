"""Seed the reasons PIE knew at launch. Staff add more in the admin."""

from django.db import migrations

INITIAL_REASONS = [
    ("BUNDLE_PURCHASE", "CERTAIN_YES", "The learner bought the program as a bundle."),
    ("ENROLLED_ALL_COURSES", "MAYBE", "The learner enrolled in every course of the program."),
    ("EARNED_PROGRAM_CERT", "CERTAIN_YES", "The learner earned the program certificate."),
]


def seed_reasons(apps, schema_editor):
    IntentReason = apps.get_model("intents", "IntentReason")
    for code, default_certainty, description in INITIAL_REASONS:
        IntentReason.objects.get_or_create(
            code=code,
            defaults={"default_certainty": default_certainty, "description": description},
        )


class Migration(migrations.Migration):
    dependencies = [("intents", "0001_initial")]

    # Reverse is a no-op: intents may already point at these reasons.
    operations = [migrations.RunPython(seed_reasons, migrations.RunPython.noop)]

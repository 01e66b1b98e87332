"""
Seed CERTIFICATE_REVOKED, the reason the event consumer records when openedx/credentials
revokes a program certificate. See docs/decisions/0005-program-certificate-revoked.rst.
"""

from django.db import migrations

CODE = "CERTIFICATE_REVOKED"
DEFAULT_CERTAINTY = "CERTAIN_NO"
DESCRIPTION = (
    "The learner's program certificate was revoked (event bus). Recorded as CERTAIN_NO so that "
    "it outranks the award's CERTAIN_YES."
)


def seed_reason(apps, schema_editor):
    IntentReason = apps.get_model("intents", "IntentReason")
    IntentReason.objects.get_or_create(
        code=CODE,
        defaults={"default_certainty": DEFAULT_CERTAINTY, "description": DESCRIPTION},
    )


class Migration(migrations.Migration):
    dependencies = [("intents", "0002_seed_reasons")]

    # Reverse is a no-op: intents may already point at this reason.
    operations = [migrations.RunPython(seed_reason, migrations.RunPython.noop)]

import datetime
import uuid

import pytest
from django.db import IntegrityError, transaction

from pie.apps.intents.models import Certainty, IntentReason, ProgramIntent
from pie.apps.intents.tests.factories import ProgramIntentFactory, reason

pytestmark = pytest.mark.django_db


def test_data_migration_seeds_the_known_reasons_with_their_usual_certainty():
    seeded = dict(IntentReason.objects.values_list("code", "default_certainty"))
    assert seeded == {
        "BUNDLE_PURCHASE": Certainty.CERTAIN_YES,
        "ENROLLED_ALL_COURSES": Certainty.MAYBE,
        "EARNED_PROGRAM_CERT": Certainty.CERTAIN_YES,
        # 0003, for the event bus: see docs/decisions/0005-program-certificate-revoked.rst.
        "CERTIFICATE_REVOKED": Certainty.CERTAIN_NO,
    }


def test_reason_codes_are_stored_upper_case():
    created = IntentReason.objects.create(code=" referral_bonus ", default_certainty="MAYBE")
    assert created.code == "REFERRAL_BONUS"


def test_reason_description_keeps_every_unicode_character():
    # Four-byte UTF-8 characters need utf8mb4 on MySQL/MariaDB (their "utf8" is three bytes).
    description = "Diplôme 🎓 — 学位"
    created = IntentReason.objects.create(
        code="EMOJI", default_certainty="MAYBE", description=description
    )
    assert IntentReason.objects.get(pk=created.pk).description == description


def test_database_refuses_an_identical_intent():
    intent = ProgramIntentFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        ProgramIntent.objects.create(
            lms_user_id=intent.lms_user_id,
            program_uuid=intent.program_uuid,
            reason=intent.reason,
            certainty=intent.certainty,
            effective_timestamp=intent.effective_timestamp,
        )
    assert ProgramIntent.objects.count() == 1


def test_intents_that_differ_in_any_one_field_are_all_stored():
    base = dict(
        lms_user_id=5,
        program_uuid=uuid.UUID(int=1),
        reason=reason("BUNDLE_PURCHASE"),
        certainty=Certainty.CERTAIN_YES,
        effective_timestamp=datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC),
    )
    variants = [
        {},
        {"lms_user_id": 6},
        {"program_uuid": uuid.UUID(int=2)},
        {"reason": reason("EARNED_PROGRAM_CERT")},
        {"certainty": Certainty.MAYBE},
        {"effective_timestamp": base["effective_timestamp"] + datetime.timedelta(microseconds=1)},
    ]
    for variant in variants:
        ProgramIntent.objects.create(**{**base, **variant})
    assert ProgramIntent.objects.count() == len(variants)


def test_database_refuses_an_unknown_certainty():
    with pytest.raises(IntegrityError), transaction.atomic():
        ProgramIntentFactory(certainty="PROBABLY")


def test_a_stored_intent_cannot_be_edited():
    intent = ProgramIntentFactory(certainty=Certainty.MAYBE)
    intent.certainty = Certainty.CERTAIN_YES
    with pytest.raises(ValueError, match="immutable"):
        intent.save()
    assert ProgramIntent.objects.get().certainty == Certainty.MAYBE


def test_a_reason_in_use_cannot_be_deleted():
    from django.db.models import ProtectedError

    intent = ProgramIntentFactory()
    with pytest.raises(ProtectedError):
        intent.reason.delete()

"""Write rules for program intents: the one way an intent gets recorded."""

import datetime
import uuid

from django.db import IntegrityError, transaction

from pie.apps.core.services import users_scrub
from pie.apps.intents.exceptions import DuplicateIntentError, UnknownReasonError
from pie.apps.intents.models import IntentReason, ProgramIntent
from pie.apps.intents.selectors import known_reason_codes
from pie.apps.intents.values import normalize_reason_code


def reason_get(*, code: str) -> IntentReason:
    """The reason with this code (any case); ``UnknownReasonError`` lists the known ones."""
    code = normalize_reason_code(code)
    reason = IntentReason.objects.filter(code=code).first()
    # The database finds the candidate, Python decides equality: MySQL/MariaDB's default
    # collations ignore accents (BUNDLE_PURCHASÉ = BUNDLE_PURCHASE) where PostgreSQL and
    # SQLite compare exactly, and the CSV import matches codes exactly too.
    if reason is None or reason.code != code:
        raise UnknownReasonError(code, known_reason_codes())
    return reason


def intent_create(
    *,
    lms_user_id: int,
    program_uuid: uuid.UUID,
    reason: str,
    certainty: str,
    effective_timestamp: datetime.datetime,
) -> ProgramIntent:
    """
    Record one intent. Raises ``DuplicateIntentError`` when an identical intent exists.

    The database's unique constraint decides what is a duplicate, so two identical requests
    racing each other still store one row: the loser's insert fails and is rolled back.
    """
    intent = ProgramIntent(
        lms_user_id=lms_user_id,
        program_uuid=program_uuid,
        reason=reason_get(code=reason),
        certainty=certainty,
        effective_timestamp=effective_timestamp,
    )
    try:
        with transaction.atomic():
            intent.save()
    except IntegrityError:
        if _identical_intent_exists(intent):
            raise DuplicateIntentError() from None
        raise
    return intent


def _identical_intent_exists(intent: ProgramIntent) -> bool:
    return ProgramIntent.objects.filter(
        lms_user_id=intent.lms_user_id,
        program_uuid=intent.program_uuid,
        reason=intent.reason,
        certainty=intent.certainty,
        effective_timestamp=intent.effective_timestamp,
    ).exists()


def learner_retire(*, lms_user_id: int) -> tuple[int, int]:
    """
    Erase a learner (Open edX retirement): delete every intent and scrub PIE's user rows for
    this LMS user id, in one transaction. Idempotent; returns (intents deleted, users
    scrubbed), both 0 when PIE holds nothing for the learner.
    """
    with transaction.atomic():
        intents_deleted, _ = ProgramIntent.objects.for_learner(lms_user_id).delete()
        users_scrubbed = users_scrub(lms_user_id=lms_user_id)
    return intents_deleted, users_scrubbed

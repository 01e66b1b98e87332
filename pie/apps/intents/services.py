"""Write rules for program intents: the one way an intent gets recorded."""

import datetime
import uuid

from django.db import IntegrityError, transaction

from pie.apps.core.selectors import lms_user_id_is_retired
from pie.apps.core.services import retired_learner_record, users_scrub
from pie.apps.intents.exceptions import (
    DuplicateIntentError,
    RetiredLearnerError,
    UnknownReasonError,
)
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
    Record one intent. Raises ``DuplicateIntentError`` when an identical intent exists and
    ``RetiredLearnerError`` when the learner has been retired.

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
            if lms_user_id_is_retired(lms_user_id):
                raise RetiredLearnerError(lms_user_id)
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
    Erase a learner (Open edX retirement), in one transaction: remember the LMS user id as
    retired, so that no later write (API, import, event) records an intent for it again;
    delete every intent; scrub PIE's user rows for this id. Idempotent: a second call
    deletes whatever a write in flight at the first call's moment stored. Returns (intents
    deleted, users scrubbed), both 0 when PIE holds nothing for the learner.
    """
    with transaction.atomic():
        retired_learner_record(lms_user_id=lms_user_id)
        intents_deleted, _ = ProgramIntent.objects.for_learner(lms_user_id).delete()
        users_scrubbed = users_scrub(lms_user_id=lms_user_id)
    return intents_deleted, users_scrubbed

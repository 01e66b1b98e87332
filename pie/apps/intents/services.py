"""Write rules for program intents: the one way an intent gets recorded."""

import datetime
import uuid

from django.db import IntegrityError, transaction

from pie.apps.intents.exceptions import DuplicateIntentError, UnknownReasonError
from pie.apps.intents.models import IntentReason, ProgramIntent
from pie.apps.intents.selectors import known_reason_codes
from pie.apps.intents.values import normalize_reason_code


def reason_get(*, code: str) -> IntentReason:
    """The reason with this code (any case); ``UnknownReasonError`` lists the known ones."""
    code = normalize_reason_code(code)
    try:
        return IntentReason.objects.get(code=code)
    except IntentReason.DoesNotExist:
        raise UnknownReasonError(code, known_reason_codes()) from None


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

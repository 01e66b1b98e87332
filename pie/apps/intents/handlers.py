"""
Receivers for the Open edX events PIE learns intents from (``openedx_events``).

openedx/credentials emits PROGRAM_CERTIFICATE_AWARDED and PROGRAM_CERTIFICATE_REVOKED on the
event bus; ``./manage.py consume_events`` turns each message back into the signal, and the
receivers below record an intent through ``services.intent_create``, the same service as the
API. See docs/event_bus.rst and docs/decisions/0005-program-certificate-revoked.rst.

Delivery is at least once. The intent's effective timestamp is the event's ``metadata.time``,
so a redelivered event describes the very same intent, which the service refuses as a
duplicate: redelivery stores nothing new. An event that cannot become an intent (no user id,
a malformed program UUID or time) is logged, with its event id and never the learner's
personal data, and skipped: it never raises into the consumer. So is an event for a retired
learner (Open edX account deletion), whatever its age. While the database does not answer,
the event is held and retried, never acknowledged as failed (``event_delivery``); other
database errors raise, so that the consumer logs them like any other failure.
"""

import logging
import time

from django.db import transaction
from django.dispatch import receiver
from edx_django_utils.monitoring import function_trace, set_custom_attribute
from openedx_events.learning.signals import (
    PROGRAM_CERTIFICATE_AWARDED,
    PROGRAM_CERTIFICATE_REVOKED,
)

from pie.apps.intents import services
from pie.apps.intents.event_delivery import held_through_database_outage
from pie.apps.intents.exceptions import DuplicateIntentError, IntentError, RetiredLearnerError
from pie.apps.intents.models import Certainty
from pie.apps.intents.values import (
    InvalidValue,
    parse_effective_timestamp,
    parse_lms_user_id,
    parse_program_uuid,
)

logger = logging.getLogger(__name__)

# What each event means as an intent: (reason code, certainty).
AWARDED_INTENT = ("EARNED_PROGRAM_CERT", Certainty.CERTAIN_YES)
# A newer certain intent is the only way to withdraw a certain one (ADR 0002), so a
# revocation is CERTAIN_NO; see docs/decisions/0005-program-certificate-revoked.rst.
REVOKED_INTENT = ("CERTIFICATE_REVOKED", Certainty.CERTAIN_NO)


@receiver(PROGRAM_CERTIFICATE_AWARDED, dispatch_uid="pie.intents.program_certificate_awarded")
@held_through_database_outage
def program_certificate_awarded(sender, program_certificate=None, metadata=None, **kwargs):
    """A learner earned a program certificate: they will complete it (CERTAIN_YES)."""
    _remember_program(program_certificate, metadata)
    _record_intent(program_certificate, metadata, *AWARDED_INTENT)


@receiver(PROGRAM_CERTIFICATE_REVOKED, dispatch_uid="pie.intents.program_certificate_revoked")
@held_through_database_outage
def program_certificate_revoked(sender, program_certificate=None, metadata=None, **kwargs):
    """A learner's program certificate was revoked: withdraw the award's certainty."""
    _remember_program(program_certificate, metadata)
    _record_intent(program_certificate, metadata, *REVOKED_INTENT)


# .. custom_attribute_name: pie.event.outcome
# .. custom_attribute_description: What PIE made of a program certificate event: recorded,
#    redelivery (already recorded), skipped (no user id, a malformed value or a retired
#    learner) or failed.
@function_trace("pie.intents.record_event")
def _record_intent(program_certificate, metadata, reason: str, certainty: str) -> None:
    event_id = getattr(metadata, "id", None)
    event_type = getattr(metadata, "event_type", None)
    try:
        user_id = program_certificate.user.id
    except AttributeError:
        user_id = None
    if user_id is None:
        logger.warning("Skipped event %s (%s): it has no LMS user id.", event_id, event_type)
        set_custom_attribute("pie.event.outcome", "skipped")
        return
    field = "user.id"
    try:
        lms_user_id = parse_lms_user_id(user_id)
        field = "program.uuid"
        program_uuid = parse_program_uuid(program_certificate.program.uuid)
        field = "metadata.time"
        effective_timestamp = parse_effective_timestamp(metadata.time)
    except (InvalidValue, AttributeError, TypeError, ValueError) as error:
        # Names the field, not its value: event data can carry personal data.
        logger.warning(
            "Skipped event %s (%s): malformed %s: %s",
            event_id,
            event_type,
            field,
            _error_kind(error),
        )
        set_custom_attribute("pie.event.outcome", "skipped")
        return
    try:
        intent = services.intent_create(
            lms_user_id=lms_user_id,
            program_uuid=program_uuid,
            reason=reason,
            certainty=certainty,
            effective_timestamp=effective_timestamp,
        )
    except DuplicateIntentError:
        logger.info(
            "Event %s (%s) is already recorded (redelivery): learner %s, program %s.",
            event_id,
            event_type,
            lms_user_id,
            program_uuid,
        )
        set_custom_attribute("pie.event.outcome", "redelivery")
        return
    except RetiredLearnerError:
        # Retirement sticks: a replayed or late event must not bring the learner's data back.
        logger.info(
            "Skipped event %s (%s): learner %s is retired.", event_id, event_type, lms_user_id
        )
        set_custom_attribute("pie.event.outcome", "skipped")
        return
    except IntentError as error:
        # e.g. the reason was removed in the admin: every such event fails the same way.
        logger.error("Event %s (%s) could not be recorded: %s", event_id, event_type, error)
        set_custom_attribute("pie.event.outcome", "failed")
        return
    set_custom_attribute("pie.event.outcome", "recorded")
    # The common outcome, once per event: at DEBUG. At INFO it cost about a fifth of the
    # receiver's time (issue 13), and it repeated what is logged anyway: the library's audit
    # lines ("Message received from Redis: ... message_id=...", "... processed successfully")
    # and the outcome metric. The other outcomes stay at INFO and above.
    logger.debug(
        "Event %s (%s): recorded intent %s (%s %s) for learner %s, program %s.",
        event_id,
        event_type,
        intent.pk,
        reason,
        certainty,
        lms_user_id,
        program_uuid,
    )


def _error_kind(error: Exception) -> str:
    if isinstance(error, InvalidValue):
        return str(error)
    return type(error).__name__


class _StoredTitles:
    """
    The program titles (and types) this process stored lately. Nearly every certificate event
    repeats its program's title, and storing it again cost a third of an event's time on
    PostgreSQL (a round trip and a commit, docs/performance.rst), so a title stored less than
    ``TRUSTED_SECONDS`` ago is not stored again. The kept title stays the newest: a renamed
    program's first event carries the new title, with a time later than any event that
    carried the old one, and is stored. Trusting a title for a while only matters when
    another consumer process stored a different one meanwhile; then the trust runs out.
    Entries are made only once the title is committed.
    """

    TRUSTED_SECONDS = 300.0

    def __init__(self):
        self._stored: dict = {}

    def is_stored(self, program_uuid, title: str, program_type: str) -> bool:
        stored = self._stored.get(program_uuid)
        return (
            stored is not None
            and stored[0] == (title, program_type)
            and time.monotonic() - stored[1] < self.TRUSTED_SECONDS
        )

    def remember(self, program_uuid, title: str, program_type: str) -> None:
        self._stored[program_uuid] = ((title, program_type), time.monotonic())

    def clear(self) -> None:
        self._stored.clear()


stored_titles = _StoredTitles()


def _remember_program(program_certificate, metadata) -> None:
    """
    Keep the program's title and type that the event carries (openedx-events' ProgramData),
    for staff pages. A missing or malformed one is skipped quietly: the title is a nicety,
    and the intent is recorded (or skipped, and logged) on its own.
    """
    try:
        program = program_certificate.program
        program_uuid = parse_program_uuid(program.uuid)
        title = str(program.title or "").strip()
        program_type = str(getattr(program, "program_type", "") or "").strip()
        updated = parse_effective_timestamp(metadata.time)
    except (InvalidValue, AttributeError, TypeError, ValueError):
        return
    if not title or stored_titles.is_stored(program_uuid, title, program_type):
        return
    services.program_update(
        program_uuid=program_uuid, title=title, program_type=program_type, updated=updated
    )
    transaction.on_commit(lambda: stored_titles.remember(program_uuid, title, program_type))

"""
Read rules for program intents. The selection rule ("most recent and certain") lives here
and nowhere else: the API, the admin and any later caller use these functions.
"""

import uuid

from django.db.models import Case, F, IntegerField, QuerySet, Value, When, Window
from django.db.models.functions import RowNumber

from pie.apps.intents.models import CERTAIN, IntentReason, ProgramIntent

# Certain intents (CERTAIN_YES, CERTAIN_NO) outrank MAYBE whatever their age.
_CERTAINTY_RANK = Case(
    When(certainty__in=CERTAIN, then=Value(0)),
    default=Value(1),
    output_field=IntegerField(),
)

# Within a rank: the latest effective timestamp wins; at equal timestamps the intent recorded
# last (highest id) wins. See docs/decisions/0002-selection-rule-and-tie-break.rst.
SELECTION_ORDER = (_CERTAINTY_RANK.asc(), F("effective_timestamp").desc(), F("id").desc())


def intents_for_learner(*, lms_user_id: int, program_uuid: uuid.UUID | None = None) -> QuerySet:
    """A learner's intents, newest effective timestamp first."""
    intents = ProgramIntent.objects.for_learner(lms_user_id).select_related("reason")
    if program_uuid is not None:
        intents = intents.filter(program_uuid=program_uuid)
    return intents.order_by("-effective_timestamp", "-id")


def intents_most_recent_and_certain(*, lms_user_id: int) -> QuerySet:
    """
    For each program of the learner, one intent: the most recent CERTAIN_YES or CERTAIN_NO by
    effective timestamp, or, when the program has no certain intent, its most recent MAYBE.

    One SQL query: a window function ranks each program's intents and the outer query keeps
    rank 1. Rows come ordered by effective timestamp, newest first, then program UUID.
    """
    return (
        ProgramIntent.objects.for_learner(lms_user_id)
        .select_related("reason")
        .annotate(
            selection_rank=Window(
                RowNumber(), partition_by=[F("program_uuid")], order_by=SELECTION_ORDER
            )
        )
        .filter(selection_rank=1)
        .order_by("-effective_timestamp", "program_uuid")
    )


def known_reason_codes() -> list[str]:
    return list(IntentReason.objects.order_by("code").values_list("code", flat=True))

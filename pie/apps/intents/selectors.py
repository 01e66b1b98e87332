"""
Read rules for program intents. The selection rule ("most recent and certain") lives here
and nowhere else: the learner and service APIs, and any later caller, use these functions.
"""

import datetime
import functools
import uuid

from django.db import connections, router
from django.db.models import Case, Count, F, IntegerField, QuerySet, Value, When, Window
from django.db.models.expressions import RawSQL
from django.db.models.functions import RowNumber

from pie.apps.intents.models import CERTAIN, Certainty, IntentReason, ProgramIntent

# Certain intents (CERTAIN_YES, CERTAIN_NO) outrank MAYBE whatever their age.
_CERTAINTY_RANK = Case(
    When(certainty__in=CERTAIN, then=Value(0)),
    default=Value(1),
    output_field=IntegerField(),
)

# Within a rank: the latest effective timestamp wins; at equal timestamps the intent recorded
# last (highest id) wins. See docs/decisions/0002-selection-rule-and-tie-break.rst.
SELECTION_ORDER = (_CERTAINTY_RANK.asc(), F("effective_timestamp").desc(), F("id").desc())


def intents_for_learner(
    *,
    lms_user_id: int,
    program_uuid: uuid.UUID | None = None,
    reason: str | None = None,
    certainty: str | None = None,
    effective_after: datetime.datetime | None = None,
    effective_before: datetime.datetime | None = None,
) -> QuerySet:
    """A learner's intents, newest effective timestamp first, optionally narrowed."""
    intents = ProgramIntent.objects.for_learner(lms_user_id).select_related("reason")
    if program_uuid is not None:
        intents = intents.filter(program_uuid=program_uuid)
    if reason is not None:
        intents = intents.filter(reason__code=reason)
    if certainty is not None:
        intents = intents.filter(certainty=certainty)
    if effective_after is not None:
        intents = intents.filter(effective_timestamp__gte=effective_after)
    if effective_before is not None:
        intents = intents.filter(effective_timestamp__lt=effective_before)
    return intents.order_by("-effective_timestamp", "-id")


def _best_intents(intents: QuerySet, *, per: str) -> QuerySet:
    """The selection rule: of ``intents``, the best one for each distinct value of ``per``."""
    return intents.annotate(
        selection_rank=Window(RowNumber(), partition_by=[F(per)], order_by=SELECTION_ORDER)
    ).filter(selection_rank=1)


def intents_most_recent_and_certain(*, lms_user_id: int) -> QuerySet:
    """
    For each program of the learner, one intent: the most recent CERTAIN_YES or CERTAIN_NO by
    effective timestamp, or, when the program has no certain intent, its most recent MAYBE.
    ``lms_user_id`` is valid by the LMS user id rule (pie.apps.core.values): callers parse it.

    One SQL query: a window function ranks each program's intents, rank 1 is kept, and those
    intents are read with their reasons. Rows come ordered by effective timestamp, newest
    first, then program UUID.
    """
    alias = router.db_for_read(ProgramIntent)
    sql, params, learner_position = _best_program_intents_sql(alias, connections[alias].vendor)
    params = (*params[:learner_position], lms_user_id, *params[learner_position + 1 :])
    return (
        ProgramIntent.objects.filter(pk__in=RawSQL(sql, params))
        .select_related("reason")
        .order_by("-effective_timestamp", "program_uuid")
    )


# Compiling the ranking query costs Django about 2 ms (it compiles the windowed query, then
# the subquery that filters on the rank), ten times what the database needs to run it for a
# typical learner. Its SQL depends only on the database, so it is compiled once per database
# with a placeholder learner, and each call binds the learner's id in the placeholder's place.
_LEARNER_PLACEHOLDER = -734_095_261  # never an LMS user id: those are positive


@functools.cache
def _best_program_intents_sql(alias: str, vendor: str) -> tuple[str, tuple, int]:
    """The SQL selecting the ids of the best intent per program of the placeholder learner."""
    learner_intents = ProgramIntent.objects.using(alias).for_learner(_LEARNER_PLACEHOLDER)
    best_ids = _best_intents(learner_intents, per="program_uuid").order_by().values("pk")
    sql, params = best_ids.query.get_compiler(alias).as_sql()
    params = tuple(params)
    if params.count(_LEARNER_PLACEHOLDER) != 1:
        raise RuntimeError(f"The selection's SQL must bind the learner once: {sql} {params}")
    return sql, params, params.index(_LEARNER_PLACEHOLDER)


def program_intent_summary(*, program_uuid: uuid.UUID) -> dict[str, int]:
    """
    For one program: how many learners' best intent (the same rule, per learner) has each
    certainty. One aggregate query over the ranked intents.
    """
    best = _best_intents(ProgramIntent.objects.filter(program_uuid=program_uuid), per="lms_user_id")
    counts = dict.fromkeys(Certainty.values, 0)
    rows = (
        ProgramIntent.objects.filter(pk__in=best.values("pk"))
        .values("certainty")
        .annotate(learners=Count("pk"))
        .order_by()
    )
    for row in rows:
        counts[row["certainty"]] = row["learners"]
    return counts


def known_reason_codes() -> list[str]:
    return list(IntentReason.objects.order_by("code").values_list("code", flat=True))

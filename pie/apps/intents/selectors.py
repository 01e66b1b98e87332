"""
Read rules for program intents. The selection rule ("most recent and certain") lives here
and nowhere else: the learner and service APIs, the writes that keep each learner's current
best intent (services), the rebuild command and any later caller use these definitions.
"""

import datetime
import functools
import uuid

from django.db import connection
from django.db.models import (
    BooleanField,
    Count,
    ExpressionWrapper,
    F,
    Q,
    QuerySet,
    Window,
)
from django.db.models.functions import RowNumber, TruncMonth

from pie.apps.intents.models import (
    CERTAIN,
    Certainty,
    CurrentIntent,
    IntentReason,
    Program,
    ProgramIntent,
)

# The selection rule, as a key: of one learner's intents for one program, the intent with the
# greatest (certain, effective timestamp, id) is the best. Certain intents (CERTAIN_YES,
# CERTAIN_NO) outrank MAYBE whatever their age; within a rank the latest effective timestamp
# wins; at equal timestamps the intent recorded last (highest id) wins. See
# docs/decisions/0002-selection-rule-and-tie-break.rst.
#
# CurrentIntent keeps each learner's best intent per program with these three values as its
# columns SELECTION_KEY; services replace a current intent when an intent's key is greater.
SELECTION_KEY = ("certain", "effective_timestamp", "intent_id")
CERTAIN_EXPRESSION = ExpressionWrapper(Q(certainty__in=CERTAIN), output_field=BooleanField())

# The same key over ProgramIntent rows, best first.
SELECTION_ORDER = (CERTAIN_EXPRESSION.desc(), F("effective_timestamp").desc(), F("id").desc())


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


def _ranked(intents: QuerySet) -> QuerySet:
    """``intents`` with only the best one per learner and program kept."""
    return (
        intents.annotate(
            selection_rank=Window(
                RowNumber(),
                partition_by=[F("lms_user_id"), F("program_uuid")],
                order_by=SELECTION_ORDER,
            )
        )
        .filter(selection_rank=1)
        .order_by()
    )


def best_intents(intents: QuerySet) -> QuerySet:
    """
    The selection rule computed from intents: of ``intents``, the best one per learner and
    program, as rows of CurrentIntent's columns (lms_user_id, program_uuid, intent id,
    reason id, certainty, certain, effective_timestamp, created). Services offer these to
    CurrentIntent; the rebuild command checks against them.
    """
    return _ranked(intents.annotate(certain=CERTAIN_EXPRESSION)).values_list(
        "lms_user_id",
        "program_uuid",
        "id",
        "reason_id",
        "certainty",
        "certain",
        "effective_timestamp",
        "created",
    )


def best_intent_ids(intents: QuerySet) -> QuerySet:
    """The ids of ``best_intents(intents)``, for use as a subquery."""
    return _ranked(intents).values("id")


def current_intents_disagreeing() -> tuple[QuerySet, QuerySet]:
    """
    How CurrentIntent differs from the selection rule computed from all intents: the best
    intents that are not current (missing or replaced by a worse one), and the current rows
    that are wrong (their intent is not the best one, or their copies of its values differ).
    Both empty when the kept data is right.
    """
    best_ids = best_intent_ids(ProgramIntent.objects.all())
    not_current = ProgramIntent.objects.filter(id__in=best_ids).exclude(
        id__in=CurrentIntent.objects.values("intent_id")
    )
    certain_differs = Q(certain=True, intent__certainty__in=[Certainty.MAYBE]) | Q(
        certain=False, intent__certainty__in=CERTAIN
    )
    copies_differ = (
        certain_differs
        | ~Q(lms_user_id=F("intent__lms_user_id"))
        | ~Q(program_uuid=F("intent__program_uuid"))
        | ~Q(certainty=F("intent__certainty"))
        | ~Q(effective_timestamp=F("intent__effective_timestamp"))
        | ~Q(reason_id=F("intent__reason_id"))
        | ~Q(created=F("intent__created"))
    )
    wrong = CurrentIntent.objects.filter(~Q(intent_id__in=best_ids) | copies_differ)
    return not_current, wrong


# What intents_most_recent_and_certain returns per program, in this order.
BEST_INTENT_FIELDS = (
    "id",
    "lms_user_id",
    "program_uuid",
    "reason",
    "certainty",
    "effective_timestamp",
    "created",
)


def intents_most_recent_and_certain(*, lms_user_id: int) -> list[tuple]:
    """
    For each program of the learner, one intent: the most recent CERTAIN_YES or CERTAIN_NO by
    effective timestamp, or, when the program has no certain intent, its most recent MAYBE.
    ``lms_user_id`` is valid by the LMS user id rule (pie.apps.core.values): callers parse it.

    Reads the learner's current intents (kept by services, docs/decisions/0008), so the cost
    does not grow with the learner's history: one indexed query, one row per program. Newest
    effective timestamp first, then program UUID.

    Rows are tuples of BEST_INTENT_FIELDS as plain data for the API's representation:
    timestamps are text in UTC, ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` written by the database (the
    fraction ``.000000`` or absent for whole seconds); program UUIDs are ``uuid.UUID``
    (PostgreSQL) or text, 32 hex digits (SQLite) or dashed (MariaDB's uuid type). Building
    aware datetimes and UUID objects per value (Django's converters, or the drivers' own
    datetime parsing, in Python on SQLite and MySQL) and then text from them cost more than
    the rest of a 200-program request.
    """
    with connection.cursor() as cursor:
        cursor.execute(_most_recent_and_certain_sql(connection.vendor), [lms_user_id])
        return cursor.fetchall()


def _utc_text_sql(column: str, vendor: str) -> str:
    """SQL for a DateTimeField ``column`` as text in UTC, ``YYYY-MM-DDTHH:MM:SS[.ffffff]Z``."""
    if vendor == "postgresql":
        return f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
    if vendor == "mysql":  # Django keeps datetimes in UTC there; %% is a literal %
        return f"DATE_FORMAT({column}, '%%Y-%%m-%%dT%%H:%%i:%%s.%%fZ')"
    # SQLite: Django keeps the text of a UTC datetime, with its fraction unless it is zero.
    return f"REPLACE({column}, ' ', 'T') || 'Z'"


@functools.cache
def _most_recent_and_certain_sql(vendor: str) -> str:
    """
    ``SELECT <BEST_INTENT_FIELDS' columns> FROM <current intents> JOIN <reasons> WHERE <the
    learner> ORDER BY <effective timestamp> DESC, <program UUID>``. Built once per process:
    building and compiling it with the ORM took longer than running it (0.32 against 0.08 ms
    for 10 rows, in process, SQLite; 0.65 against 0.60 ms on PostgreSQL).
    """
    quote = connection.ops.quote_name
    current = quote(CurrentIntent._meta.db_table)
    column = {
        field.name: f"{current}.{quote(field.column)}"
        for field in CurrentIntent._meta.concrete_fields
    }
    reasons = quote(IntentReason._meta.db_table)
    code = f"{reasons}.{quote(IntentReason._meta.get_field('code').column)}"
    reason_id = f"{reasons}.{quote(IntentReason._meta.pk.column)}"
    selected = [
        column["intent"],
        column["lms_user_id"],
        column["program_uuid"],
        code,
        column["certainty"],
        _utc_text_sql(column["effective_timestamp"], vendor),
        _utc_text_sql(column["created"], vendor),
    ]
    return (
        f"SELECT {', '.join(selected)} FROM {current} "
        f"INNER JOIN {reasons} ON {column['reason']} = {reason_id} "
        f"WHERE {column['lms_user_id']} = %s "
        f"ORDER BY {column['effective_timestamp']} DESC, {column['program_uuid']} ASC"
    )


def program_intent_summary(*, program_uuid: uuid.UUID) -> dict[str, int]:
    """
    For one program: how many learners' best intent (the same rule, per learner) has each
    certainty. One count over the program's current intents, from their index alone.
    """
    counts = dict.fromkeys(Certainty.values, 0)
    rows = (
        CurrentIntent.objects.filter(program_uuid=program_uuid)
        .values("certainty")
        .annotate(learners=Count("*"))
        .order_by()
    )
    for row in rows:
        counts[row["certainty"]] = row["learners"]
    return counts


def known_reason_codes() -> list[str]:
    return list(IntentReason.objects.order_by("code").values_list("code", flat=True))


# Staff insights (the admin's program pages). Counts follow the summary's rule: they read the
# learners' current intents, one per learner and program.


def program_titles(*, program_uuids) -> dict[uuid.UUID, Program]:
    """The programs PIE knows a title for, among ``program_uuids``, by UUID."""
    return Program.objects.in_bulk(list(program_uuids))


def programs_ranked(*, limit: int) -> list[dict]:
    """
    Programs ranked by how many learners' current intent is certain (CERTAIN_YES or
    CERTAIN_NO), then by CERTAIN_YES, then by all learners, then by UUID; each a dict of
    ``program_uuid``, one count per certainty, ``certain`` and ``learners``. One grouped count
    over the current intents' (program_uuid, certainty) index; at most ``limit`` programs.
    """
    per_certainty = {
        code: Count("lms_user_id", filter=Q(certainty=code)) for code in Certainty.values
    }
    rows = (
        CurrentIntent.objects.values("program_uuid")
        .annotate(
            **per_certainty,
            certain=Count("lms_user_id", filter=Q(certainty__in=CERTAIN)),
            learners=Count("*"),
        )
        .order_by("-certain", f"-{Certainty.CERTAIN_YES}", "-learners", "program_uuid")
    )
    return list(rows[:limit])


def program_reasons(*, program_uuid: uuid.UUID) -> list[dict]:
    """
    The reasons behind one program's current intents: dicts of ``reason``, ``certainty`` and
    ``learners``, most learners first.
    """
    rows = (
        CurrentIntent.objects.filter(program_uuid=program_uuid)
        .values("reason__code", "certainty")
        .annotate(learners=Count("*"))
        .order_by("-learners", "reason__code", "certainty")
    )
    return [
        {"reason": row["reason__code"], "certainty": row["certainty"], "learners": row["learners"]}
        for row in rows
    ]


def program_intents_per_month(*, program_uuid: uuid.UUID) -> list[dict]:
    """
    How many intents of one program took effect each month (UTC), per certainty: every intent
    recorded, not only the current ones. Dicts of ``month`` (a date, the 1st), ``certainty``
    and ``intents``, oldest month first; months without intents are absent.

    The intents table has no index on program_uuid alone (docs/decisions/0004), so the query
    also names the program's learners: every learner with an intent for the program has a
    current intent for it, found by the current intents' index, and each learner's intents
    for the program are then reachable by the unique constraint's (lms_user_id, program_uuid,
    ...) index. The planner chooses: for a program holding half the table, PostgreSQL 15
    rightly scans it instead.
    """
    learners = CurrentIntent.objects.filter(program_uuid=program_uuid).values("lms_user_id")
    rows = (
        ProgramIntent.objects.filter(program_uuid=program_uuid, lms_user_id__in=learners)
        .annotate(month=TruncMonth("effective_timestamp", tzinfo=datetime.UTC))
        .values("month", "certainty")
        .annotate(intents=Count("*"))
        .order_by("month", "certainty")
    )
    return [
        {"month": row["month"].date(), "certainty": row["certainty"], "intents": row["intents"]}
        for row in rows
    ]


# The columns of program_learners_current_intents' rows, in order.
PROGRAM_LEARNER_FIELDS = ("lms_user_id", "certainty", "reason", "effective_timestamp")


def program_learners_current_intents(*, program_uuid: uuid.UUID):
    """
    Each learner of one program with their current best intent, by LMS user id, as tuples of
    PROGRAM_LEARNER_FIELDS. An iterator that fetches in chunks (a server-side cursor where the
    database has one), so a program of any size streams in constant memory.
    """
    return (
        CurrentIntent.objects.filter(program_uuid=program_uuid)
        .order_by("lms_user_id")
        .values_list("lms_user_id", "certainty", "reason__code", "effective_timestamp")
        .iterator(chunk_size=2000)
    )

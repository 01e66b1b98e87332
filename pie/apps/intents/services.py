"""Write rules for program intents: the one way an intent gets recorded."""

import contextlib
import datetime
import functools
import uuid
from dataclasses import dataclass

from django.db import IntegrityError, connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from pie.apps.core.models import RetiredLearner
from pie.apps.core.services import retired_learner_record, users_scrub
from pie.apps.intents.exceptions import (
    DuplicateIntentError,
    RetiredLearnerError,
    UnknownReasonError,
)
from pie.apps.intents.models import CERTAIN, CurrentIntent, IntentReason, Program, ProgramIntent
from pie.apps.intents.selectors import (
    SELECTION_KEY,
    best_intents,
    current_intents_disagreeing,
    known_reason_codes,
)
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
    Record one intent. Raises ``UnknownReasonError`` for a reason that does not exist,
    ``DuplicateIntentError`` when an identical intent exists and ``RetiredLearnerError`` when
    the learner has been retired.

    The database's unique constraint decides what is a duplicate, so two identical requests
    racing each other still store one row: the loser's insert fails and is rolled back. The
    learner's current intent for the program is updated in the same transaction.

    On SQLite and MySQL, two statements in one transaction: the insert, which finds the reason
    by its code and checks that the learner is not retired itself (docs/decisions/0009), and
    the current intent's upsert. On PostgreSQL both are one statement (the insert a
    data-modifying ``WITH``), outside a caller's transaction its own: one round trip instead
    of four (``BEGIN``, two statements, ``COMMIT``). Only when the insert stores nothing does
    another query say why.
    """
    code = normalize_reason_code(reason)
    intent = ProgramIntent(
        lms_user_id=lms_user_id,
        program_uuid=program_uuid,
        certainty=certainty,
        effective_timestamp=effective_timestamp,
    )
    # The connection itself, not django.db.connection: each attribute read through that
    # proxy is a context-local lookup, and preparing the values reads several.
    db = transaction.get_connection()
    one_statement = db.vendor == "postgresql"
    try:
        # In a caller's transaction (atomic, or autocommit turned off), a savepoint: a
        # duplicate must not break the caller's transaction (PostgreSQL aborts a transaction
        # at its first error).
        with (
            contextlib.nullcontext()
            if one_statement and db.get_autocommit()
            else transaction.atomic()
        ):
            prepared = _intent_insert(db, intent, code, with_current_upsert=one_statement)
            if prepared is not None and not one_statement:
                _current_intent_upsert(db, _current_values(intent, prepared))
    except IntegrityError:
        if _identical_intent_exists(intent, code):
            raise DuplicateIntentError() from None
        raise
    if prepared is None:
        reason_get(code=code)  # raises UnknownReasonError if that is why
        raise RetiredLearnerError(lms_user_id)
    # The reason's code, which is what callers read of it, without another query; any other
    # field of the reason is loaded on first access.
    intent.reason = IntentReason.from_db(db.alias, ["id", "code"], [intent.reason_id, code])
    intent._state.adding = False
    intent._state.db = db.alias
    return intent


def _intent_insert(
    db, intent: ProgramIntent, code: str, *, with_current_upsert: bool = False
) -> dict | None:
    """
    Insert ``intent`` with the reason of ``code``, unless no reason has that code or the
    learner is retired (then None). Sets the intent's id, reason id and timestamps (as
    ``save()`` does) and returns the values it stored, prepared for the database, by field
    name. Raises ``IntegrityError`` for a duplicate, as ``save()`` does. With
    ``with_current_upsert`` (PostgreSQL), the same statement offers it as the current intent.
    """
    now = timezone.now()
    prepared = {}
    for field in _inserted_fields():
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            setattr(intent, field.attname, now)
        prepared[field.name] = field.get_db_prep_save(getattr(intent, field.attname), db)
    params = [*prepared.values(), code, intent.lms_user_id]
    if with_current_upsert:
        sql = _intent_insert_and_offer_sql()
        params.append(intent.certainty in CERTAIN)
    else:
        sql = _intent_insert_sql(db.vendor, db.features.can_return_columns_from_insert)
    with db.cursor() as cursor:
        cursor.execute(sql, params)
        if with_current_upsert or db.features.can_return_columns_from_insert:
            row = cursor.fetchone()
            if row is None:
                return None
            intent.pk, intent.reason_id = row
            return prepared
        if cursor.rowcount != 1:
            return None
        intent.pk = cursor.lastrowid
    intent.reason_id = IntentReason.objects.values_list("pk", flat=True).get(code=code)
    return prepared


def _current_values(intent: ProgramIntent, prepared: dict) -> tuple:
    """The just-inserted intent's values in ``_CURRENT_COLUMNS``' order, prepared."""
    return (
        intent.lms_user_id,
        prepared["program_uuid"],
        intent.pk,
        intent.reason_id,
        intent.certainty,
        intent.certainty in CERTAIN,
        prepared["effective_timestamp"],
        prepared["created"],
    )


@functools.cache
def _inserted_fields() -> tuple:
    """ProgramIntent's columns that ``_intent_insert`` gives values: all but the id and reason."""
    return tuple(
        field
        for field in ProgramIntent._meta.concrete_fields
        if not field.primary_key and field.name != "reason"
    )


@functools.cache
def _intent_insert_sql(vendor: str, returning: bool) -> str:
    """
    ``INSERT INTO <intents> (...) SELECT <values>, <the reason's id> FROM <reasons> WHERE
    <its code> AND NOT EXISTS (<the learner among the retired>)``, returning (intent id,
    reason id) if the database can. Built once per process: building it with the ORM each
    time cost as much as running it.
    """
    quote = connection.ops.quote_name
    intents = ProgramIntent._meta
    reason_column = quote(intents.get_field("reason").column)
    columns = [quote(field.column) for field in _inserted_fields()] + [reason_column]
    reasons = quote(IntentReason._meta.db_table)
    code = f"{reasons}.{quote(IntentReason._meta.get_field('code').column)}"
    # MySQL/MariaDB's default collations ignore accents: a binary comparison matches codes
    # exactly, as PostgreSQL and SQLite do (reason_get's rule). The table has a handful of
    # rows, so that it cannot use the index does not matter.
    code_matches = f"BINARY {code} = BINARY %s" if vendor == "mysql" else f"{code} = %s"
    retired = quote(RetiredLearner._meta.db_table)
    retired_id = quote(RetiredLearner._meta.pk.column)
    placeholders = ", ".join(["%s"] * (len(columns) - 1))
    sql = (
        f"INSERT INTO {quote(intents.db_table)} ({', '.join(columns)}) "
        f"SELECT {placeholders}, {reasons}.{quote(IntentReason._meta.pk.column)} "
        f"FROM {reasons} WHERE {code_matches} "
        f"AND NOT EXISTS (SELECT 1 FROM {retired} WHERE {retired_id} = %s)"
    )
    if returning:
        sql += f" RETURNING {quote(intents.pk.column)}, {reason_column}"
    return sql


@functools.cache
def _intent_insert_and_offer_sql() -> str:
    """
    PostgreSQL: ``WITH new_intent AS (<the insert> RETURNING <its values>), offered AS (<the
    current intent's upsert of them>) SELECT <intent id>, <reason id> FROM new_intent``. Its
    parameters are the insert's, then whether the intent is certain. Built once per process.
    """
    quote = connection.ops.quote_name
    column = {field.name: quote(field.column) for field in ProgramIntent._meta.concrete_fields}
    # Each current intent column from the new intent's column of the same name, but these.
    source = {"intent_id": column["id"], "reason_id": column["reason"], "certain": "%s"}
    offered = ", ".join(source.get(name) or column[name] for name in _CURRENT_COLUMNS)
    upsert = _current_upsert_sql(f"SELECT {offered} FROM new_intent")
    return (
        f"WITH new_intent AS ({_intent_insert_sql('postgresql', returning=False)} "
        "RETURNING *), "
        f"offered AS ({upsert}) "
        f"SELECT {column['id']}, {column['reason']} FROM new_intent"
    )


def _identical_intent_exists(intent: ProgramIntent, code: str) -> bool:
    return ProgramIntent.objects.filter(
        lms_user_id=intent.lms_user_id,
        program_uuid=intent.program_uuid,
        reason__code=code,
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
        CurrentIntent.objects.filter(lms_user_id=lms_user_id).delete()
        intents_deleted, _ = ProgramIntent.objects.for_learner(lms_user_id).delete()
        users_scrubbed = users_scrub(lms_user_id=lms_user_id)
    return intents_deleted, users_scrubbed


# Keeping each learner's current intent per program (CurrentIntent, docs/decisions/0008).
#
# An intent is "offered": it becomes the current one of its learner and program when there is
# none, or when its selection key (selectors.SELECTION_KEY) is greater than the current one's.
# One upsert statement does this, so the comparison happens under the database's lock on the
# current row, against its latest committed version: two transactions offering intents for the
# same learner and program at once are serialized by that lock, and the greater key wins
# whichever commits first (PostgreSQL's ON CONFLICT DO UPDATE ... WHERE and MySQL's ON
# DUPLICATE KEY UPDATE both re-read the row they lock; SQLite has one writer at a time).

_CURRENT_COLUMNS = (
    "lms_user_id",
    "program_uuid",
    "intent_id",
    "reason_id",
    "certainty",
    "certain",
    "effective_timestamp",
    "created",
)


def _current_upsert_sql(source: str) -> str:
    """``INSERT INTO <current intents> <source> <upsert keeping the greater key>``."""
    quote = connection.ops.quote_name
    table = quote(CurrentIntent._meta.db_table)
    columns = ", ".join(quote(name) for name in _CURRENT_COLUMNS)
    key = [quote(name) for name in SELECTION_KEY]
    updated = [quote(name) for name in _CURRENT_COLUMNS[2:]]
    if connection.vendor == "mysql":
        # Assignments run left to right and see the columns already assigned: intent_id
        # first, on the comparison; the others follow it when it changed. Current columns
        # are qualified: INSERT ... SELECT's own columns have the same names.
        intent_id = f"{table}.{quote('intent_id')}"
        offered = ", ".join(f"VALUES({column})" for column in key)
        current = ", ".join(f"{table}.{column}" for column in key)
        assignments = [
            f"{intent_id} = IF(({offered}) > ({current}), VALUES({quote('intent_id')}), "
            f"{intent_id})",
            *(
                f"{table}.{column} = IF({intent_id} = VALUES({quote('intent_id')}), "
                f"VALUES({column}), {table}.{column})"
                for column in updated
                if column != quote("intent_id")
            ),
        ]
        return (
            f"INSERT INTO {table} ({columns}) {source} "
            f"ON DUPLICATE KEY UPDATE {', '.join(assignments)}"
        )
    offered = ", ".join(f"excluded.{column}" for column in key)
    current = ", ".join(f"{table}.{column}" for column in key)
    assignments = ", ".join(f"{column} = excluded.{column}" for column in updated)
    return (
        f"INSERT INTO {table} ({columns}) {source} "
        f"ON CONFLICT ({quote('lms_user_id')}, {quote('program_uuid')}) "
        f"DO UPDATE SET {assignments} WHERE ({offered}) > ({current})"
    )


def _current_intent_upsert(db, values: tuple) -> None:
    """Offer one intent's values, in ``_CURRENT_COLUMNS``' order and prepared for ``db``."""
    with db.cursor() as cursor:
        cursor.execute(_current_upsert_one_sql(db.vendor), values)


@functools.cache
def _current_upsert_one_sql(vendor: str) -> str:
    """The upsert of one intent's values; built once per process, as every write runs it."""
    placeholders = ", ".join(["%s"] * len(_CURRENT_COLUMNS))
    return _current_upsert_sql(f"VALUES ({placeholders})")


def current_intents_offer(*, intents: QuerySet) -> None:
    """
    Offer a set of intents (inside the caller's transaction), set-based: the best of them per
    learner and program (the selection rule, by the database) is offered in one statement,
    in key order so that concurrent writers lock rows in the same order.
    """
    sql, params = best_intents(intents).query.get_compiler(connection=connection).as_sql()
    # WHERE 1 = 1: SQLite would otherwise read ON CONFLICT as the start of a join clause.
    source = f"SELECT * FROM ({sql}) best_intents WHERE 1 = 1 ORDER BY 1, 2"
    with connection.cursor() as cursor:
        cursor.execute(_current_upsert_sql(source), params)


@dataclass(frozen=True)
class CurrentIntentsReport:
    """How the kept current intents differed from the rule computed from all intents."""

    not_current: int  # best intents that were missing or replaced by a worse one
    wrong: int  # current rows naming another intent, or with copies that differ

    @property
    def differences(self) -> int:
        return self.not_current + self.wrong


def current_intents_check() -> CurrentIntentsReport:
    """Compare CurrentIntent with the selection rule over every intent; change nothing."""
    not_current, wrong = current_intents_disagreeing()
    return CurrentIntentsReport(not_current=not_current.count(), wrong=wrong.count())


def current_intents_rebuild() -> CurrentIntentsReport:
    """
    Make CurrentIntent agree with the rule over every intent, in one transaction: delete its
    wrong rows, then offer every intent. Returns what differed before. Idempotent, and safe
    while PIE writes: offering is what every write does anyway.
    """
    with transaction.atomic():
        report = current_intents_check()
        if report.differences:
            _, wrong = current_intents_disagreeing()
            CurrentIntent.objects.filter(pk__in=list(wrong.values_list("pk", flat=True))).delete()
            current_intents_offer(intents=ProgramIntent.objects.all())
    return report


def program_update(
    *, program_uuid: uuid.UUID, title: str, program_type: str, updated: datetime.datetime
) -> None:
    """
    Keep a program's title and type as of ``updated`` (the time of the event that carried
    them). Idempotent, and order-proof: a redelivered or late event older than the kept
    title changes nothing, so the title is always the newest one seen.

    One upsert statement, whose condition the database checks under its lock on the row: two
    events racing each other cannot both win. Every certificate event runs it, so it is plain
    SQL built once per process, like the current intent's upsert: as an ORM get_or_create
    and update it cost more than recording the intent.
    """
    db = transaction.get_connection()
    fields = _program_fields()
    values = (
        fields["uuid"].get_db_prep_value(program_uuid, db),
        title[: fields["title"].max_length],
        program_type[: fields["program_type"].max_length],
        fields["updated"].get_db_prep_value(updated, db),
    )
    with db.cursor() as cursor:
        cursor.execute(_program_upsert_sql(db.vendor), values)


@functools.cache
def _program_fields() -> dict:
    return {field.name: field for field in Program._meta.concrete_fields}


@functools.cache
def _program_upsert_sql(vendor: str) -> str:
    """``INSERT INTO <programs> ... <upsert keeping the newer title>``; built once per process."""
    quote = connection.ops.quote_name
    table = quote(Program._meta.db_table)
    uuid_column, title, program_type, updated = (
        quote(_program_fields()[name].column)
        for name in ("uuid", "title", "program_type", "updated")
    )
    insert = (
        f"INSERT INTO {table} ({uuid_column}, {title}, {program_type}, {updated}) "
        "VALUES (%s, %s, %s, %s)"
    )
    if vendor == "mysql":
        # Assignments run left to right and see the columns already assigned: the time last,
        # so that the title's and type's comparisons see the kept one.
        newer = f"VALUES({updated}) > {table}.{updated}"
        return (
            f"{insert} ON DUPLICATE KEY UPDATE "
            f"{title} = IF({newer}, VALUES({title}), {table}.{title}), "
            f"{program_type} = IF({newer}, VALUES({program_type}), {table}.{program_type}), "
            f"{updated} = IF({newer}, VALUES({updated}), {table}.{updated})"
        )
    return (
        f"{insert} ON CONFLICT ({uuid_column}) DO UPDATE SET "
        f"{title} = excluded.{title}, {program_type} = excluded.{program_type}, "
        f"{updated} = excluded.{updated} WHERE {table}.{updated} < excluded.{updated}"
    )

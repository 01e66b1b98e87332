"""
services.intent_create directly: the one write every API POST and event goes through, and
its statements (docs/decisions/0009). Behaviour through HTTP is in test_api.py.
"""

import contextlib
import datetime
import uuid

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from pie.apps.core.services import retired_learner_record
from pie.apps.intents import services
from pie.apps.intents.exceptions import (
    DuplicateIntentError,
    RetiredLearnerError,
    UnknownReasonError,
)
from pie.apps.intents.models import Certainty, CurrentIntent, IntentReason, ProgramIntent
from pie.apps.intents.tests.factories import reason

pytestmark = pytest.mark.django_db

PROGRAM = uuid.UUID("3a0fd5a0-f5c0-4b1f-a3b8-f0f4c6a7e9d1")
WHEN = datetime.datetime(2024, 5, 1, 12, tzinfo=datetime.UTC)


def create(**overrides) -> ProgramIntent:
    fields = {
        "lms_user_id": 7001,
        "program_uuid": PROGRAM,
        "reason": "bundle_purchase",
        "certainty": Certainty.CERTAIN_YES,
        "effective_timestamp": WHEN,
    }
    return services.intent_create(**{**fields, **overrides})


def statements(queries) -> list[str]:
    # Savepoints are the test's transaction around atomic(), not the service's statements.
    return [
        query["sql"]
        for query in queries.captured_queries
        if not query["sql"].upper().startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))
    ]


def test_a_new_intent_is_one_insert_and_the_current_intents_upsert():
    reason("BUNDLE_PURCHASE")
    with CaptureQueriesContext(connection) as queries:
        create()
    sql = statements(queries)
    if connection.vendor == "postgresql":
        # One statement: the insert in a WITH, the upsert of what it returned.
        assert len(sql) == 1, sql
        assert sql[0].startswith("WITH new_intent AS (INSERT INTO")
        assert "intents_intentreason" in sql[0] and 'INSERT INTO "intents_currentintent"' in sql[0]
        return
    expected = 3 if connection.vendor == "mysql" and "RETURNING" not in sql[0] else 2
    assert len(sql) == expected, sql
    assert sql[0].startswith("INSERT INTO") and "intents_intentreason" in sql[0]
    assert sql[-1].startswith("INSERT INTO") and "intents_currentintent" in sql[-1]


def test_outside_a_transaction_a_duplicate_leaves_the_first_intent_whole(transactional_db):
    # PostgreSQL writes without a transaction of its own there (one statement).
    reason("BUNDLE_PURCHASE")
    first = create()
    with pytest.raises(DuplicateIntentError):
        create()
    assert list(ProgramIntent.objects.values_list("pk", flat=True)) == [first.pk]
    assert CurrentIntent.objects.get().intent_id == first.pk


@contextlib.contextmanager
def autocommit_off():
    """A caller managing its transaction by hand: autocommit off, then commit."""
    transaction.set_autocommit(False)
    try:
        yield
        transaction.commit()
    except BaseException:
        transaction.rollback()
        raise
    finally:
        transaction.set_autocommit(True)


@pytest.mark.parametrize("callers_transaction", [transaction.atomic, autocommit_off])
def test_in_a_callers_transaction_a_duplicate_leaves_it_usable(
    transactional_db, callers_transaction
):
    reason("BUNDLE_PURCHASE")
    first = create()
    with callers_transaction():
        with pytest.raises(DuplicateIntentError):
            create()
        # The caller's transaction goes on: its next write is kept.
        second = create(effective_timestamp=WHEN + datetime.timedelta(days=1))
    assert sorted(ProgramIntent.objects.values_list("pk", flat=True)) == [first.pk, second.pk]
    assert CurrentIntent.objects.get().intent_id == second.pk


def test_the_returned_intent_is_the_stored_row():
    intent = create()
    stored = ProgramIntent.objects.select_related("reason").get()
    assert intent.pk == stored.pk
    assert intent.reason_id == stored.reason_id
    assert intent.reason.code == stored.reason.code == "BUNDLE_PURCHASE"
    assert intent.created == stored.created
    assert intent.effective_timestamp == stored.effective_timestamp
    assert intent.program_uuid == stored.program_uuid
    # The reason's other fields load on first access, as a related object's would.
    assert intent.reason.default_certainty == stored.reason.default_certainty
    current = CurrentIntent.objects.get(lms_user_id=7001, program_uuid=PROGRAM)
    assert (current.intent_id, current.reason_id, current.created) == (
        stored.pk,
        stored.reason_id,
        stored.created,
    )
    with pytest.raises(ValueError, match="immutable"):
        intent.save()


def test_a_reason_deleted_and_added_again_is_used_with_its_new_id():
    old = reason("REFERRAL_PROGRAM")
    old_id = old.pk
    old.delete()
    with pytest.raises(UnknownReasonError):
        create(reason="REFERRAL_PROGRAM", lms_user_id=7002)
    new = reason("REFERRAL_PROGRAM")
    assert new.pk != old_id
    intent = create(reason="REFERRAL_PROGRAM", lms_user_id=7003)
    assert ProgramIntent.objects.get(pk=intent.pk).reason_id == new.pk


def test_an_unknown_reason_stores_nothing_and_names_the_known_ones():
    with pytest.raises(UnknownReasonError) as raised:
        create(reason="GUESSWORK")
    assert "BUNDLE_PURCHASE" in raised.value.known_codes
    assert not ProgramIntent.objects.exists()
    assert not CurrentIntent.objects.exists()


def test_a_retired_learner_stores_nothing():
    retired_learner_record(lms_user_id=7001)
    with pytest.raises(RetiredLearnerError):
        create()
    assert not ProgramIntent.objects.exists()
    assert not CurrentIntent.objects.exists()


def test_an_unknown_reason_is_reported_before_retirement():
    # As before the insert found the reason itself: the reason is checked first.
    retired_learner_record(lms_user_id=7001)
    with pytest.raises(UnknownReasonError):
        create(reason="GUESSWORK")


def test_a_duplicate_stores_nothing_more():
    first = create()
    with pytest.raises(DuplicateIntentError):
        create(reason="BUNDLE_PURCHASE")
    assert list(ProgramIntent.objects.values_list("pk", flat=True)) == [first.pk]
    assert CurrentIntent.objects.get().intent_id == first.pk


def test_the_reason_code_matches_exactly_even_where_collations_ignore_accents():
    IntentReason.objects.create(code="CAFE", default_certainty=Certainty.MAYBE)
    with pytest.raises(UnknownReasonError):
        create(reason="CAFÉ")
    assert create(reason="cafe").reason.code == "CAFE"

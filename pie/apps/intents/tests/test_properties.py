"""
Property tests: the database's answers compared with plain-Python models of the rules, over
random intents and random CSV rows, on whichever backend the suite runs on.
"""

import datetime
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pie.apps.core.models import RetiredLearner
from pie.apps.intents.exceptions import DuplicateIntentError, RetiredLearnerError
from pie.apps.intents.importing import intents_import
from pie.apps.intents.models import CERTAIN, Certainty, CurrentIntent, ProgramIntent
from pie.apps.intents.selectors import intents_most_recent_and_certain, program_intent_summary
from pie.apps.intents.services import (
    current_intents_check,
    current_intents_rebuild,
    intent_create,
    learner_retire,
)

pytestmark = pytest.mark.django_db

PROGRAMS = [uuid.UUID(int=n) for n in (1, 2, 3)]
REASONS = ["BUNDLE_PURCHASE", "ENROLLED_ALL_COURSES", "EARNED_PROGRAM_CERT"]
T0 = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)
# Few distinct instants, so that ties on the effective timestamp are common.
INSTANTS = [T0 + datetime.timedelta(minutes=m, microseconds=u) for m in (0, 5) for u in (0, 1)]
PROPERTY_SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

intent_fields = st.tuples(
    st.sampled_from([7, 8]),  # learner 8 is noise for learner 7
    st.sampled_from(PROGRAMS),
    st.sampled_from(REASONS),
    st.sampled_from(Certainty.values),
    st.sampled_from(INSTANTS),
)


def csv_row(fields) -> dict[str, str]:
    learner, program, reason, certainty, when = fields
    return {
        "program_uuid": str(program),
        "user_id": str(learner),
        "intent_reason": reason,
        "intent_certainty": certainty,
        "effective_time": when.isoformat(),
    }


# A write: one intent through the service (as the API and the event receivers record it), a
# batch of CSV rows through the import, or the retirement of learner 8.
writes = st.one_of(
    intent_fields.map(lambda fields: ("service", fields)),
    st.tuples(st.lists(intent_fields, min_size=1, max_size=8), st.integers(1, 4)).map(
        lambda rows_and_batch_size: ("import", rows_and_batch_size)
    ),
    st.just(("retire", 8)),
)


def apply(writes_list) -> list[ProgramIntent]:
    """Run the writes in order; every stored intent, in insertion (id) order."""
    RetiredLearner.objects.all().delete()
    CurrentIntent.objects.all().delete()
    ProgramIntent.objects.all().delete()
    for kind, payload in writes_list:
        if kind == "service":
            learner, program, reason, certainty, when = payload
            try:
                intent_create(
                    lms_user_id=learner,
                    program_uuid=program,
                    reason=reason,
                    certainty=certainty,
                    effective_timestamp=when,
                )
            except (DuplicateIntentError, RetiredLearnerError):
                pass
        elif kind == "import":
            fields_list, batch_size = payload
            lines = [(n, csv_row(fields)) for n, fields in enumerate(fields_list, start=2)]
            intents_import(rows=lines, batch_size=batch_size)
        else:
            learner_retire(lms_user_id=payload)
    return list(ProgramIntent.objects.order_by("pk"))


def best_by_rule(intents, key) -> dict:
    """The selection rule, in plain Python: certain first, then newest, then recorded last."""
    best = {}
    for intent in intents:
        rank = (
            0 if intent.certainty in CERTAIN else 1,
            -intent.effective_timestamp.timestamp(),
            -intent.pk,
        )
        group = key(intent)
        if group not in best or rank < best[group][0]:
            best[group] = (rank, intent.pk)
    return {group: pk for group, (rank, pk) in best.items()}


@PROPERTY_SETTINGS
@given(st.lists(writes, max_size=8))
def test_current_intents_match_the_plain_python_rule_after_interleaved_writes(writes_list):
    stored = apply(writes_list)
    for learner in (7, 8):
        mine = [intent for intent in stored if intent.lms_user_id == learner]
        expected = best_by_rule(mine, key=lambda intent: intent.program_uuid)
        selected = intents_most_recent_and_certain(lms_user_id=learner)
        # Program UUIDs as the database returns them: uuid.UUID or its text.
        assert {uuid.UUID(str(row[2])): row[0] for row in selected} == expected
        assert len(selected) == len(expected)
    assert current_intents_check().differences == 0


@PROPERTY_SETTINGS
@given(st.lists(writes, max_size=8))
def test_program_summary_matches_the_plain_python_rule(writes_list):
    stored = apply(writes_list)
    for program in PROGRAMS:
        in_program = [intent for intent in stored if intent.program_uuid == program]
        best = best_by_rule(in_program, key=lambda intent: intent.lms_user_id)
        by_pk = {intent.pk: intent for intent in in_program}
        expected = dict.fromkeys(Certainty.values, 0)
        for pk in best.values():
            expected[by_pk[pk].certainty] += 1
        assert program_intent_summary(program_uuid=program) == expected


def current_rows() -> list[tuple]:
    return sorted(
        CurrentIntent.objects.values_list("lms_user_id", "program_uuid", "intent_id", "certain")
    )


@PROPERTY_SETTINGS
@given(st.lists(writes, max_size=8), st.data())
def test_rebuild_repairs_any_damage_to_the_current_intents(writes_list, data):
    """Whatever rows are lost or replaced, the rebuild restores what the writes had kept."""
    apply(writes_list)
    kept = sorted(
        CurrentIntent.objects.values_list("lms_user_id", "program_uuid", "intent_id", "certain")
    )
    rows = list(CurrentIntent.objects.all())
    for row in data.draw(st.lists(st.sampled_from(rows), unique=True)) if rows else []:
        CurrentIntent.objects.filter(pk=row.pk).delete()
    intents = list(ProgramIntent.objects.all())
    if rows and intents:
        row = data.draw(st.sampled_from(rows))
        other = data.draw(st.sampled_from(intents))
        CurrentIntent.objects.filter(pk=row.pk).update(intent_id=other.pk, certain=True)

    damaged = sorted(
        CurrentIntent.objects.values_list("lms_user_id", "program_uuid", "intent_id", "certain")
    )
    repaired = current_intents_rebuild()

    assert current_intents_check().differences == 0
    assert (repaired.differences == 0) == (damaged == kept)
    assert (
        sorted(
            CurrentIntent.objects.values_list("lms_user_id", "program_uuid", "intent_id", "certain")
        )
        == kept
    )


# CSV rows: valid values from small domains (so duplicates are common) and invalid ones.
valid_values = st.fixed_dictionaries(
    {
        "program_uuid": st.sampled_from(PROGRAMS).flatmap(
            lambda u: st.sampled_from([str(u), u.hex, str(u).upper()])
        ),
        "user_id": st.sampled_from(["1", "2", " 3 "]),
        "intent_reason": st.sampled_from(REASONS + ["bundle_purchase"]),
        "intent_certainty": st.sampled_from(Certainty.values + ["maybe"]),
        "effective_time": st.sampled_from(
            [
                "2024-01-01 00:00:00",
                "2024-01-01T00:00:00Z",
                "2024-01-01T01:00:00+01:00",
                "2024-01-01 00:00:00.5 Z",
                "2024-01-02T00:00:00.500000Z",
            ]
        ),
    }
)
invalid_values = valid_values.flatmap(
    lambda row: st.sampled_from(
        [
            {**row, "program_uuid": "not-a-uuid"},
            {**row, "user_id": "-4"},
            {**row, "user_id": ""},
            {**row, "intent_reason": "NO_SUCH_REASON"},
            {**row, "intent_certainty": "PERHAPS"},
            {**row, "effective_time": "2024-02-30 00:00:00"},
            {**row, "effective_time": "1900-01-01 00:00:00"},
        ]
    )
)


def normalized(row: dict) -> tuple:
    """What a valid row stores, computed independently of the import's parsers."""
    when = row["effective_time"].strip().replace(" Z", "Z")
    instant = datetime.datetime.fromisoformat(when)
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=datetime.UTC)
    return (
        int(row["user_id"]),
        uuid.UUID(row["program_uuid"]),
        row["intent_reason"].upper(),
        row["intent_certainty"].upper(),
        instant.astimezone(datetime.UTC),
    )


@PROPERTY_SETTINGS
@given(
    st.lists(st.tuples(st.booleans(), valid_values, invalid_values), max_size=30),
    st.integers(min_value=1, max_value=7),
)
def test_import_stores_every_valid_row_once_and_reports_every_invalid_row(rows, batch_size):
    CurrentIntent.objects.all().delete()
    ProgramIntent.objects.all().delete()
    lines, expected, invalid_lines = [], set(), []
    for line_number, (is_valid, valid, invalid) in enumerate(rows, start=2):
        lines.append((line_number, valid if is_valid else invalid))
        if is_valid:
            expected.add(normalized(valid))
        else:
            invalid_lines.append(line_number)
    rejected = []
    summary = intents_import(rows=lines, batch_size=batch_size, on_rejected=rejected.append)
    stored = {
        (i.lms_user_id, i.program_uuid, i.reason.code, i.certainty, i.effective_timestamp)
        for i in ProgramIntent.objects.select_related("reason")
    }
    assert stored == expected
    assert ProgramIntent.objects.count() == len(expected)
    assert [rejection.line_number for rejection in rejected] == invalid_lines
    assert (summary.inserted, summary.invalid) == (len(expected), len(invalid_lines))
    assert summary.inserted + summary.duplicates + summary.invalid == len(rows)

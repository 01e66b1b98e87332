"""
Property tests: the database's answers compared with plain-Python models of the rules, over
random intents and random CSV rows, on whichever backend the suite runs on.
"""

import datetime
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pie.apps.intents.importing import intents_import
from pie.apps.intents.models import CERTAIN, Certainty, IntentReason, ProgramIntent
from pie.apps.intents.selectors import intents_most_recent_and_certain, program_intent_summary

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


def store(fields_list) -> list[ProgramIntent]:
    """Insert in order, skipping exact duplicates (as the API would refuse them)."""
    ProgramIntent.objects.all().delete()
    reasons = {reason.code: reason for reason in IntentReason.objects.all()}
    stored, seen = [], set()
    for learner, program, reason, certainty, when in fields_list:
        if (learner, program, reason, certainty, when) in seen:
            continue
        seen.add((learner, program, reason, certainty, when))
        stored.append(
            ProgramIntent.objects.create(
                lms_user_id=learner,
                program_uuid=program,
                reason=reasons[reason],
                certainty=certainty,
                effective_timestamp=when,
            )
        )
    return stored


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
@given(st.lists(intent_fields, max_size=25))
def test_selection_query_matches_the_plain_python_rule(fields_list):
    stored = store(fields_list)
    mine = [intent for intent in stored if intent.lms_user_id == 7]
    expected = best_by_rule(mine, key=lambda intent: intent.program_uuid)
    selected = list(intents_most_recent_and_certain(lms_user_id=7))
    assert {intent.program_uuid: intent.pk for intent in selected} == expected
    assert len(selected) == len(expected)


@PROPERTY_SETTINGS
@given(st.lists(intent_fields, max_size=25))
def test_program_summary_matches_the_plain_python_rule(fields_list):
    stored = store(fields_list)
    for program in PROGRAMS:
        in_program = [intent for intent in stored if intent.program_uuid == program]
        best = best_by_rule(in_program, key=lambda intent: intent.lms_user_id)
        by_pk = {intent.pk: intent for intent in in_program}
        expected = dict.fromkeys(Certainty.values, 0)
        for pk in best.values():
            expected[by_pk[pk].certainty] += 1
        assert program_intent_summary(program_uuid=program) == expected


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

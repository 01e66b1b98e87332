"""
The staff insights' read rules against the same rules written in plain Python over every
intent: per-month counts (through the program's learners, never a table scan) and rankings.
"""

import collections
import datetime
import uuid

import pytest

from pie.apps.intents.models import ProgramIntent
from pie.apps.intents.selectors import (
    program_intents_per_month,
    program_learners_current_intents,
    programs_ranked,
)
from pie.apps.intents.tests.factories import ProgramIntentFactory

pytestmark = pytest.mark.django_db

PROGRAM = uuid.UUID("3a0fd5a0-f5c0-4b1f-a3b8-f0f4c6a7e9d1")
OTHER = uuid.UUID("0b8d6c2e-7d4a-4c59-9f1e-2a3b4c5d6e7f")
PLUS_TWO = datetime.timezone(datetime.timedelta(hours=2))


def test_intents_per_month_count_every_intent_of_the_program_by_utc_month():
    moments = [
        # 00:30 on 1 February at +02:00 is still January in UTC.
        datetime.datetime(2024, 2, 1, 0, 30, tzinfo=PLUS_TWO),
        datetime.datetime(2024, 1, 31, 23, 59, 59, tzinfo=datetime.UTC),
        datetime.datetime(2024, 2, 1, 0, 0, tzinfo=datetime.UTC),
        datetime.datetime(2023, 12, 31, 23, 0, tzinfo=datetime.UTC),
    ]
    for learner, moment in enumerate(moments):
        for certainty in ("MAYBE", "CERTAIN_YES"):
            ProgramIntentFactory(
                lms_user_id=learner,
                program_uuid=PROGRAM,
                certainty=certainty,
                effective_timestamp=moment,
            )
        ProgramIntentFactory(lms_user_id=learner, program_uuid=OTHER, effective_timestamp=moment)

    expected = collections.Counter(
        (
            intent.effective_timestamp.astimezone(datetime.UTC).date().replace(day=1),
            intent.certainty,
        )
        for intent in ProgramIntent.objects.filter(program_uuid=PROGRAM)
    )
    rows = program_intents_per_month(program_uuid=PROGRAM)
    assert {(row["month"], row["certainty"]): row["intents"] for row in rows} == expected
    assert [row["month"] for row in rows] == sorted(row["month"] for row in rows)
    assert expected[(datetime.date(2024, 1, 1), "MAYBE")] == 2


def test_programs_rank_by_certain_learners_then_certain_yes_then_all_learners():
    def learners(program, *certainties):
        for certainty in certainties:
            ProgramIntentFactory(program_uuid=program, certainty=certainty)

    a, b, c, d = (uuid.UUID(int=n) for n in (1, 2, 3, 4))
    learners(a, "CERTAIN_NO", "CERTAIN_NO")
    learners(b, "CERTAIN_YES", "CERTAIN_NO")
    learners(c, "MAYBE", "MAYBE", "MAYBE")
    learners(d, "CERTAIN_YES", "CERTAIN_NO", "MAYBE")
    ranked = programs_ranked(limit=3)
    assert [(row["program_uuid"], row["certain"], row["learners"]) for row in ranked] == [
        (d, 2, 3),
        (b, 2, 2),
        (a, 2, 2),
    ]
    assert ranked[0]["CERTAIN_YES"] == 1 and ranked[0]["MAYBE"] == 1


def test_a_programs_learners_are_listed_once_with_their_current_intent():
    ProgramIntentFactory(lms_user_id=9, program_uuid=PROGRAM, certainty="MAYBE")
    best = ProgramIntentFactory(lms_user_id=9, program_uuid=PROGRAM, certainty="CERTAIN_NO")
    ProgramIntentFactory(lms_user_id=3, program_uuid=PROGRAM, certainty="MAYBE")
    ProgramIntentFactory(lms_user_id=1, program_uuid=OTHER)
    assert [row[:3] for row in program_learners_current_intents(program_uuid=PROGRAM)] == [
        (3, "MAYBE", "BUNDLE_PURCHASE"),
        (9, "CERTAIN_NO", "BUNDLE_PURCHASE"),
    ]
    assert list(program_learners_current_intents(program_uuid=PROGRAM))[1][3] == (
        best.effective_timestamp
    )

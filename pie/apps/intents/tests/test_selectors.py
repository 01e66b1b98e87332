"""The selection rule: per program, the most recent certain intent, else the most recent MAYBE."""

import datetime
import uuid

import pytest

from pie.apps.intents.api.v1.serializers import (
    ProgramIntentSerializer,
    best_intents_representation,
)
from pie.apps.intents.models import Certainty, ProgramIntent
from pie.apps.intents.selectors import (
    BEST_INTENT_FIELDS,
    intents_for_learner,
    intents_most_recent_and_certain,
)
from pie.apps.intents.tests.factories import ProgramIntentFactory, reason

pytestmark = pytest.mark.django_db

LEARNER = 7
PROGRAM = uuid.UUID("11111111-1111-1111-1111-111111111111")
OTHER_PROGRAM = uuid.UUID("22222222-2222-2222-2222-222222222222")
T0 = datetime.datetime(2024, 3, 1, 12, 0, tzinfo=datetime.UTC)


def at(hours: float) -> datetime.datetime:
    return T0 + datetime.timedelta(hours=hours)


def intent(certainty, hours, program=PROGRAM, learner=LEARNER, reason_code="BUNDLE_PURCHASE"):
    return ProgramIntentFactory(
        lms_user_id=learner,
        program_uuid=program,
        certainty=certainty,
        effective_timestamp=at(hours),
        reason=reason(reason_code),
    )


def selected(learner=LEARNER):
    """The selected intents, as ProgramIntent rows in the selector's order."""
    rows = intents_most_recent_and_certain(lms_user_id=learner)
    intents = ProgramIntent.objects.select_related("reason").in_bulk([row[0] for row in rows])
    chosen = [intents[row[0]] for row in rows]
    # Every value a read returns is the selected intent's own, as the API shows it.
    assert best_intents_representation(rows) == ProgramIntentSerializer(chosen, many=True).data
    return chosen


def test_learner_with_no_intents_gets_an_empty_list():
    intent(Certainty.CERTAIN_YES, 0, learner=LEARNER + 1)
    assert selected() == []


def test_certain_intent_beats_a_more_recent_maybe():
    certain = intent(Certainty.CERTAIN_NO, 0)
    intent(Certainty.MAYBE, 10, reason_code="ENROLLED_ALL_COURSES")
    assert selected() == [certain]


def test_most_recent_certain_wins_between_yes_and_no():
    intent(Certainty.CERTAIN_YES, 1)
    latest_no = intent(Certainty.CERTAIN_NO, 2)
    assert selected() == [latest_no]

    latest_yes = intent(Certainty.CERTAIN_YES, 3, reason_code="EARNED_PROGRAM_CERT")
    assert selected() == [latest_yes]


def test_only_maybe_intents_give_the_most_recent_maybe():
    intent(Certainty.MAYBE, 1)
    latest = intent(Certainty.MAYBE, 5, reason_code="ENROLLED_ALL_COURSES")
    intent(Certainty.MAYBE, 3, reason_code="EARNED_PROGRAM_CERT")
    assert selected() == [latest]


def test_equal_effective_timestamps_are_won_by_the_intent_recorded_last():
    intent(Certainty.CERTAIN_NO, 4, reason_code="BUNDLE_PURCHASE")
    recorded_last = intent(Certainty.CERTAIN_YES, 4, reason_code="EARNED_PROGRAM_CERT")
    assert selected() == [recorded_last]

    recorded_after_that = intent(Certainty.CERTAIN_NO, 4, reason_code="ENROLLED_ALL_COURSES")
    assert selected() == [recorded_after_that]


def test_tie_between_maybes_is_won_by_the_intent_recorded_last():
    intent(Certainty.MAYBE, 4, reason_code="BUNDLE_PURCHASE")
    recorded_last = intent(Certainty.MAYBE, 4, reason_code="ENROLLED_ALL_COURSES")
    assert selected() == [recorded_last]


def test_one_row_per_program_newest_first():
    programs = [uuid.UUID(int=n) for n in range(1, 31)]
    expected = {}
    for n, program in enumerate(programs):
        intent(Certainty.MAYBE, n + 100, program=program)
        if n % 3:
            expected[program] = intent(Certainty.CERTAIN_YES, n, program=program)
        else:
            expected[program] = intent(
                Certainty.MAYBE, n + 200, program=program, reason_code="ENROLLED_ALL_COURSES"
            )
    rows = selected()
    assert {row.program_uuid: row for row in rows} == expected
    assert len(rows) == len(programs)
    timestamps = [row.effective_timestamp for row in rows]
    assert timestamps == sorted(timestamps, reverse=True)


def test_offsets_are_compared_as_instants_not_as_wall_clock():
    # 10:00 at UTC-05:00 is 15:00 UTC: later than 14:00 UTC despite the smaller wall clock.
    later = ProgramIntentFactory(
        lms_user_id=LEARNER,
        program_uuid=PROGRAM,
        certainty=Certainty.CERTAIN_NO,
        effective_timestamp=datetime.datetime(
            2024, 3, 1, 10, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=-5))
        ),
    )
    ProgramIntentFactory(
        lms_user_id=LEARNER,
        program_uuid=PROGRAM,
        certainty=Certainty.CERTAIN_YES,
        effective_timestamp=datetime.datetime(2024, 3, 1, 14, 0, tzinfo=datetime.UTC),
    )
    [row] = selected()
    assert row.pk == later.pk
    assert row.effective_timestamp == datetime.datetime(2024, 3, 1, 15, 0, tzinfo=datetime.UTC)


def test_microseconds_decide_recency():
    intent(Certainty.CERTAIN_YES, 0)
    later = ProgramIntentFactory(
        lms_user_id=LEARNER,
        program_uuid=PROGRAM,
        certainty=Certainty.CERTAIN_NO,
        effective_timestamp=at(0) + datetime.timedelta(microseconds=1),
    )
    assert selected() == [later]


def test_other_learners_intents_never_count():
    mine = intent(Certainty.MAYBE, 0)
    intent(Certainty.CERTAIN_YES, 5, learner=LEARNER + 1)
    intent(Certainty.CERTAIN_NO, 6, learner=LEARNER + 2, program=OTHER_PROGRAM)
    assert selected() == [mine]


def test_each_call_selects_for_its_own_learner():
    mine = intent(Certainty.CERTAIN_YES, 1)
    theirs = intent(Certainty.CERTAIN_NO, 2, learner=LEARNER + 1)
    assert selected() == [mine]
    assert selected(LEARNER + 1) == [theirs]
    assert selected() == [mine]


# Callers parse ids by the LMS user id rule (pie.apps.core.values); out-of-range ids never
# reach the selector (test_values.py, and the API tests for 400s).
@pytest.mark.parametrize("learner", [None, 0, -1])
def test_learner_ids_no_intent_can_have_select_nothing(learner):
    intent(Certainty.CERTAIN_YES, 1)
    assert selected(learner) == []


def test_selection_is_one_query(django_assert_num_queries):
    for n in range(20):
        intent(Certainty.MAYBE if n % 2 else Certainty.CERTAIN_YES, n, program=uuid.UUID(int=n % 5))
    with django_assert_num_queries(1):
        rows = intents_most_recent_and_certain(lms_user_id=LEARNER)
        reasons = [dict(zip(BEST_INTENT_FIELDS, row, strict=True))["reason"] for row in rows]
        assert reasons == ["BUNDLE_PURCHASE"] * 5  # reasons joined


def test_history_is_newest_first_and_filters_by_program():
    first = intent(Certainty.MAYBE, 1)
    second = intent(Certainty.CERTAIN_YES, 2, program=OTHER_PROGRAM)
    third = intent(Certainty.CERTAIN_NO, 3)
    assert list(intents_for_learner(lms_user_id=LEARNER)) == [third, second, first]
    assert list(intents_for_learner(lms_user_id=LEARNER, program_uuid=PROGRAM)) == [third, first]

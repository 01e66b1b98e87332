"""The kept current intents: their representation, the rebuild command, retirement."""

import datetime
import uuid

import pytest
from django.core.management import CommandError, call_command

from pie.apps.intents.api.v1.serializers import (
    ProgramIntentSerializer,
    best_intents_representation,
    intent_representation,
)
from pie.apps.intents.models import CurrentIntent, ProgramIntent
from pie.apps.intents.selectors import intents_most_recent_and_certain
from pie.apps.intents.services import intent_create, learner_retire
from pie.apps.intents.tests.factories import ProgramIntentFactory, reason

pytestmark = pytest.mark.django_db

LEARNER = 4242
T0 = datetime.datetime(2024, 3, 1, 12, 0, 0, 123456, tzinfo=datetime.UTC)


def test_best_intents_are_shown_exactly_as_the_intent_serializer_shows_intents():
    for n in range(3):
        ProgramIntentFactory(
            lms_user_id=LEARNER,
            program_uuid=uuid.UUID(int=n + 1),
            effective_timestamp=T0 + datetime.timedelta(days=n, microseconds=-n * 123456),
        )
    rows = intents_most_recent_and_certain(lms_user_id=LEARNER)
    intents = ProgramIntent.objects.select_related("reason").in_bulk([row[0] for row in rows])
    expected = ProgramIntentSerializer([intents[row[0]] for row in rows], many=True).data
    assert best_intents_representation(rows) == expected


def test_a_recorded_intent_is_shown_exactly_as_the_intent_serializer_shows_it():
    paris = datetime.timezone(datetime.timedelta(hours=2))
    for when in (T0, T0.replace(microsecond=0), T0.astimezone(paris)):
        intent = intent_create(
            lms_user_id=LEARNER,
            program_uuid=uuid.uuid4(),
            reason="BUNDLE_PURCHASE",
            certainty="CERTAIN_YES",
            effective_timestamp=when,
        )
        assert intent_representation(intent) == ProgramIntentSerializer(intent).data


def test_check_passes_when_every_write_went_through_the_services(capsys):
    ProgramIntentFactory(lms_user_id=LEARNER, certainty="MAYBE")
    call_command("rebuild_current_intents", "--check")
    assert "agree" in capsys.readouterr().out


def test_check_fails_and_rebuild_repairs_a_write_that_bypassed_the_services(capsys):
    program = uuid.UUID(int=9)
    ProgramIntentFactory(lms_user_id=LEARNER, program_uuid=program, certainty="MAYBE")
    better = ProgramIntent.objects.create(  # not offered: the kept data is now stale
        lms_user_id=LEARNER,
        program_uuid=program,
        reason=reason(),
        certainty="CERTAIN_NO",
        effective_timestamp=T0,
    )
    with pytest.raises(CommandError, match="2 difference"):
        call_command("rebuild_current_intents", "--check")

    call_command("rebuild_current_intents")

    assert "Repaired 2 difference" in capsys.readouterr().out
    assert [row[0] for row in intents_most_recent_and_certain(lms_user_id=LEARNER)] == [better.pk]
    call_command("rebuild_current_intents", "--check")


def test_retirement_deletes_the_learners_current_intents_only():
    ProgramIntentFactory(lms_user_id=LEARNER)
    ProgramIntentFactory(lms_user_id=LEARNER + 1)

    learner_retire(lms_user_id=LEARNER)

    assert list(CurrentIntent.objects.values_list("lms_user_id", flat=True)) == [LEARNER + 1]
    call_command("rebuild_current_intents", "--check")

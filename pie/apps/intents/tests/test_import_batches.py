"""
The import's batching (importing.rows) and its forked reader (importing.forked), below the
command: batches count every record read, valid or not, and the forked reader hands over
exactly what the same batching yields in-process (ADR 0011: removing it is one line).
"""

import pytest

from pie.apps.intents.importing.forked import ForkedBatches
from pie.apps.intents.importing.rows import RowParser, parsed_batches
from pie.apps.intents.importing.source import IntentFileError
from pie.apps.intents.models import IntentReason

pytestmark = pytest.mark.django_db

PROGRAM = "0f8c5e6e-6a8a-4a4f-9a53-4f1e0d6b0a11"


def record(user_id: str, reason: str = "BUNDLE_PURCHASE") -> dict[str, str]:
    return {
        "program_uuid": PROGRAM,
        "user_id": user_id,
        "intent_reason": reason,
        "intent_certainty": "CERTAIN_YES",
        "effective_time": "2024-05-01 12:00:00",
    }


def records():
    return enumerate(
        [record("1"), record("x"), record("3", reason="NEW_REASON"), record("4"), record("5")],
        start=2,  # line 1 is the header
    )


def parser(create_missing_reasons: bool = True) -> RowParser:
    return RowParser(
        known_reason_ids=dict(IntentReason.objects.values_list("code", "id")),
        create_missing_reasons=create_missing_reasons,
    )


def test_batches_count_every_record_read_and_keep_rejections_with_their_line():
    batches = list(parsed_batches(records(), parser=parser(), batch_size=2))

    assert [batch.rows_read for batch in batches] == [2, 2, 1]
    assert [len(batch.rows) for batch in batches] == [1, 2, 1]
    (rejected,) = batches[0].rejected
    assert rejected.line_number == 3 and rejected.problem.startswith("user_id:")
    assert batches[1].pending_reasons == {"NEW_REASON"}
    assert [row[0] for batch in batches for row in batch.rows] == [1, 3, 4, 5]


def test_forked_reader_hands_over_what_the_batching_yields_in_process():
    same_parser = parser()  # its timestamp goes into every row
    in_process = list(parsed_batches(records(), parser=same_parser, batch_size=2))
    forked = ForkedBatches(parsed_batches(records(), parser=same_parser, batch_size=2))
    try:
        handed_over = list(forked)
    finally:
        forked.close()

    assert handed_over == in_process


def test_forked_reader_raises_a_reading_error_in_the_parent():
    def failing():
        yield from parsed_batches(records(), parser=parser(), batch_size=2)
        raise OSError("disk gone")

    forked = ForkedBatches(failing())
    try:
        with pytest.raises(IntentFileError, match="disk gone"):
            list(forked)
    finally:
        forked.close()

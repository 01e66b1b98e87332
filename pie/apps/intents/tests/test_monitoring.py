"""
What the import and the event receivers report to the operator's telemetry backend
(OPENEDX_TELEMETRY): counts and outcomes, in a span of their own, never personal data or a
row's values.
"""

import io

import pytest
from django.core.management import CommandError, call_command
from openedx_events.learning.signals import PROGRAM_CERTIFICATE_AWARDED

from pie.apps.intents.tests.events import EMAIL, FULL_NAME, USERNAME, metadata, program_certificate

pytestmark = pytest.mark.django_db

PROGRAM = "3a0fd5a0-f5c0-4b1f-a3b8-f0f4c6a7e9d1"
ROWS = (
    "program_uuid,user_id,intent_reason,intent_certainty,effective_time\n"
    f"{PROGRAM},11,BUNDLE_PURCHASE,CERTAIN_YES,2024-05-01 12:00:00\n"
    f"{PROGRAM},11,BUNDLE_PURCHASE,CERTAIN_YES,2024-05-01 12:00:00\n"
    f"{PROGRAM},12,NO_SUCH_REASON,MAYBE,2024-05-02T08:30:00Z\n"
    f"{PROGRAM},13,EARNED_PROGRAM_CERT,SURE,2024-05-03 09:15:00Z\n"
)


def import_attributes(telemetry) -> dict:
    return {key: value for key, value in telemetry.attributes if key.startswith("pie.import.")}


def test_the_import_reports_its_counts_and_outcome_in_its_own_span(tmp_path, telemetry):
    path = tmp_path / "intents.csv"
    path.write_text(ROWS)
    with pytest.raises(CommandError):  # two invalid rows
        call_command("bulk_insert_intents", str(path), stdout=io.StringIO(), stderr=io.StringIO())

    assert telemetry.spans == ["bulk_insert_intents"]
    assert import_attributes(telemetry) == {
        "pie.import.rows_read": 4,
        "pie.import.inserted": 1,
        "pie.import.duplicates": 1,
        "pie.import.retired": 0,
        "pie.import.invalid": 2,
        "pie.import.outcome": "completed",
    }


def test_a_strict_import_with_invalid_rows_reports_that_it_rolled_back(tmp_path, telemetry):
    path = tmp_path / "intents.csv"
    path.write_text(ROWS)
    with pytest.raises(CommandError):
        call_command(
            "bulk_insert_intents", str(path), "--strict", stdout=io.StringIO(), stderr=io.StringIO()
        )
    attributes = import_attributes(telemetry)
    assert attributes["pie.import.outcome"] == "rolled_back"
    assert attributes["pie.import.inserted"] == 0


def test_each_event_reports_its_outcome_and_no_personal_data(telemetry):
    event = metadata()

    def deliver():
        PROGRAM_CERTIFICATE_AWARDED.send_event_with_custom_metadata(
            event, send_robust=False, program_certificate=program_certificate()
        )

    deliver()
    deliver()  # the bus delivers at least once
    PROGRAM_CERTIFICATE_AWARDED.send_event_with_custom_metadata(
        metadata(), send_robust=False, program_certificate=program_certificate(lms_user_id=None)
    )

    outcomes = [value for key, value in telemetry.attributes if key == "pie.event.outcome"]
    assert outcomes == ["recorded", "redelivery", "skipped"]
    assert telemetry.spans == ["pie.intents.record_event"] * 3
    for _, value in telemetry.attributes:
        for personal in (EMAIL, USERNAME, FULL_NAME):
            assert personal not in str(value)

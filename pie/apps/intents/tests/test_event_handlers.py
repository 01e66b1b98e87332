"""
The event bus receivers, driven in-process: openedx-events' signals are sent as the
`consume_events` command sends them (same metadata on every redelivery), and the effect is
checked through the learner API's most_recent_and_certain, which clients read.
"""

import datetime
import logging
import uuid

import pytest
from openedx_events.event_bus.avro.deserializer import deserialize_bytes_to_event_data
from openedx_events.event_bus.avro.serializer import serialize_event_data_to_bytes
from openedx_events.learning.signals import (
    PROGRAM_CERTIFICATE_AWARDED,
    PROGRAM_CERTIFICATE_REVOKED,
)

from pie.apps.intents import handlers
from pie.apps.intents.models import Certainty, IntentReason, ProgramIntent
from pie.apps.intents.tests.events import EMAIL, FULL_NAME, USERNAME, metadata, program_certificate

pytestmark = pytest.mark.django_db

BEST_URL = "/api/v1/program_intents/most_recent_and_certain/"
LEARNER = 1001
PROGRAM = "3a0fd5a0-f5c0-4b1f-a3b8-f0f4c6a7e9d1"
AWARDED_AT = datetime.datetime(2024, 6, 1, 12, 30, 15, 123456, tzinfo=datetime.UTC)
REVOKED_AT = datetime.datetime(2024, 9, 2, 8, 0, 0, 654321, tzinfo=datetime.UTC)


def deliver(signal, event_metadata, **data_kwargs):
    """Send the signal as the consumer does; send_robust=False lets a receiver's error raise."""
    return signal.send_event_with_custom_metadata(
        event_metadata, send_robust=False, program_certificate=program_certificate(**data_kwargs)
    )


def best_intents(make_client, lms_user_id=LEARNER):
    response = make_client(lms_user_id).get(BEST_URL)
    assert response.status_code == 200
    return [
        (row["program_uuid"], row["reason"], row["certainty"], row["effective_timestamp"])
        for row in response.json()
    ]


def assert_no_personal_data(text):
    for personal in (EMAIL, USERNAME, FULL_NAME):
        assert personal not in text


def test_award_records_earned_program_cert_certain_yes_at_the_event_time():
    PROGRAM_CERTIFICATE_AWARDED.send_event(
        send_robust=False, time=AWARDED_AT, program_certificate=program_certificate()
    )

    intent = ProgramIntent.objects.get()
    assert intent.lms_user_id == LEARNER
    assert intent.program_uuid == uuid.UUID(PROGRAM)
    assert intent.reason.code == "EARNED_PROGRAM_CERT"
    assert intent.certainty == Certainty.CERTAIN_YES
    assert intent.effective_timestamp == AWARDED_AT


def test_award_becomes_the_learners_best_intent(make_client):
    deliver(PROGRAM_CERTIFICATE_AWARDED, metadata(time=AWARDED_AT))

    assert best_intents(make_client) == [
        (PROGRAM, "EARNED_PROGRAM_CERT", "CERTAIN_YES", "2024-06-01T12:30:15.123456Z")
    ]


def test_revoke_after_award_makes_certificate_revoked_certain_no_the_best_intent(make_client):
    deliver(PROGRAM_CERTIFICATE_AWARDED, metadata(time=AWARDED_AT))
    deliver(PROGRAM_CERTIFICATE_REVOKED, metadata(PROGRAM_CERTIFICATE_REVOKED, time=REVOKED_AT))

    assert best_intents(make_client) == [
        (PROGRAM, "CERTIFICATE_REVOKED", "CERTAIN_NO", "2024-09-02T08:00:00.654321Z")
    ]
    # Both facts stay in the learner's history: intents are never edited or deleted.
    assert ProgramIntent.objects.count() == 2


def test_revoke_outranks_an_older_certain_yes_of_another_reason(make_client):
    response = make_client(LEARNER).post(
        "/api/v1/program_intents/",
        {
            "program_uuid": PROGRAM,
            "reason": "BUNDLE_PURCHASE",
            "certainty": "CERTAIN_YES",
            "effective_timestamp": "2024-01-10T09:00:00Z",
        },
        format="json",
    )
    assert response.status_code == 201
    deliver(PROGRAM_CERTIFICATE_AWARDED, metadata(time=AWARDED_AT))
    deliver(PROGRAM_CERTIFICATE_REVOKED, metadata(PROGRAM_CERTIFICATE_REVOKED, time=REVOKED_AT))

    assert [row[1:3] for row in best_intents(make_client)] == [
        ("CERTIFICATE_REVOKED", "CERTAIN_NO")
    ]


def test_award_after_a_revoke_wins_again(make_client):
    reawarded_at = REVOKED_AT + datetime.timedelta(days=30)
    deliver(PROGRAM_CERTIFICATE_AWARDED, metadata(time=AWARDED_AT))
    deliver(PROGRAM_CERTIFICATE_REVOKED, metadata(PROGRAM_CERTIFICATE_REVOKED, time=REVOKED_AT))
    deliver(PROGRAM_CERTIFICATE_AWARDED, metadata(time=reawarded_at))

    assert [row[1:3] for row in best_intents(make_client)] == [
        ("EARNED_PROGRAM_CERT", "CERTAIN_YES")
    ]


def test_events_processed_out_of_order_give_the_same_best_intent(make_client):
    # Two consumers of one group may process a learner's award and revoke in either order;
    # the event times, not the processing order, decide.
    deliver(PROGRAM_CERTIFICATE_REVOKED, metadata(PROGRAM_CERTIFICATE_REVOKED, time=REVOKED_AT))
    deliver(PROGRAM_CERTIFICATE_AWARDED, metadata(time=AWARDED_AT))

    assert [row[1:3] for row in best_intents(make_client)] == [
        ("CERTIFICATE_REVOKED", "CERTAIN_NO")
    ]


def test_revoke_without_a_known_award_is_recorded(make_client):
    deliver(PROGRAM_CERTIFICATE_REVOKED, metadata(PROGRAM_CERTIFICATE_REVOKED, time=REVOKED_AT))

    assert [row[1:3] for row in best_intents(make_client)] == [
        ("CERTIFICATE_REVOKED", "CERTAIN_NO")
    ]


@pytest.mark.parametrize(
    "signal", [PROGRAM_CERTIFICATE_AWARDED, PROGRAM_CERTIFICATE_REVOKED], ids=lambda s: s.event_type
)
def test_redelivered_event_stores_nothing_new_and_logs_at_info(signal, caplog):
    event_metadata = metadata(signal)
    deliver(signal, event_metadata)

    with caplog.at_level(logging.INFO, logger="pie.apps.intents.handlers"):
        deliver(signal, event_metadata)
        deliver(signal, event_metadata)

    assert ProgramIntent.objects.count() == 1
    redeliveries = [r for r in caplog.records if "already recorded" in r.getMessage()]
    assert len(redeliveries) == 2
    assert all(r.levelno == logging.INFO for r in redeliveries)
    assert str(event_metadata.id) in redeliveries[0].getMessage()


def test_recorded_event_is_logged_at_debug_only(caplog):
    event_metadata = metadata()
    with caplog.at_level(logging.DEBUG, logger="pie.apps.intents.handlers"):
        deliver(PROGRAM_CERTIFICATE_AWARDED, event_metadata)

    (record,) = [r for r in caplog.records if r.name == "pie.apps.intents.handlers"]
    assert record.levelno == logging.DEBUG
    intent = ProgramIntent.objects.get()
    assert record.getMessage() == (
        f"Event {event_metadata.id} ({event_metadata.event_type}): recorded intent {intent.pk} "
        f"(EARNED_PROGRAM_CERT CERTAIN_YES) for learner {LEARNER}, program {PROGRAM}."
    )
    assert_no_personal_data(caplog.text)


def test_same_award_under_a_new_event_id_is_still_one_intent():
    # credentials stamps the event with the credential's modified time, so a re-sent award of
    # an unchanged credential describes the same intent.
    deliver(PROGRAM_CERTIFICATE_AWARDED, metadata(time=AWARDED_AT))
    deliver(PROGRAM_CERTIFICATE_AWARDED, metadata(time=AWARDED_AT))

    assert ProgramIntent.objects.count() == 1


def test_event_without_user_id_is_logged_and_skipped(caplog):
    event_metadata = metadata()
    with caplog.at_level(logging.INFO, logger="pie.apps.intents.handlers"):
        deliver(PROGRAM_CERTIFICATE_AWARDED, event_metadata, lms_user_id=None)

    assert ProgramIntent.objects.count() == 0
    (record,) = [r for r in caplog.records if r.name == "pie.apps.intents.handlers"]
    assert record.levelno == logging.WARNING
    assert "no LMS user id" in record.getMessage()
    assert str(event_metadata.id) in record.getMessage()
    assert_no_personal_data(caplog.text)


@pytest.mark.parametrize(
    "data_kwargs, time, field",
    [
        ({"lms_user_id": "not-a-number"}, AWARDED_AT, "user.id"),
        ({"lms_user_id": 0}, AWARDED_AT, "user.id"),
        ({"lms_user_id": -7}, AWARDED_AT, "user.id"),
        ({"lms_user_id": 2**31}, AWARDED_AT, "user.id"),
        ({"program_uuid": "not-a-uuid"}, AWARDED_AT, "program.uuid"),
        ({"program_uuid": ""}, AWARDED_AT, "program.uuid"),
        ({}, datetime.datetime(2999, 1, 1, tzinfo=datetime.UTC), "metadata.time"),
        ({}, datetime.datetime(1969, 12, 31, tzinfo=datetime.UTC), "metadata.time"),
    ],
)
def test_malformed_event_is_logged_with_its_id_and_never_raises(data_kwargs, time, field, caplog):
    event_metadata = metadata(time=time)
    with caplog.at_level(logging.INFO, logger="pie.apps.intents.handlers"):
        deliver(PROGRAM_CERTIFICATE_AWARDED, event_metadata, **data_kwargs)

    assert ProgramIntent.objects.count() == 0
    (record,) = [r for r in caplog.records if r.name == "pie.apps.intents.handlers"]
    assert record.levelno == logging.WARNING
    assert f"malformed {field}" in record.getMessage()
    assert str(event_metadata.id) in record.getMessage()
    assert_no_personal_data(caplog.text)


def test_event_with_missing_parts_never_raises(caplog):
    with caplog.at_level(logging.INFO, logger="pie.apps.intents.handlers"):
        handlers.program_certificate_awarded(sender=None, program_certificate=None, metadata=None)
        handlers.program_certificate_awarded(
            sender=None, program_certificate=program_certificate(), metadata=None
        )
        handlers.program_certificate_revoked(sender=None, program_certificate="garbage")

    assert ProgramIntent.objects.count() == 0
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 3


def test_removed_reason_is_logged_as_an_error_and_skipped(caplog):
    IntentReason.objects.filter(code="CERTIFICATE_REVOKED").delete()
    event_metadata = metadata(PROGRAM_CERTIFICATE_REVOKED)

    with caplog.at_level(logging.INFO, logger="pie.apps.intents.handlers"):
        deliver(PROGRAM_CERTIFICATE_REVOKED, event_metadata)

    assert ProgramIntent.objects.count() == 0
    (record,) = [r for r in caplog.records if r.name == "pie.apps.intents.handlers"]
    assert record.levelno == logging.ERROR
    assert str(event_metadata.id) in record.getMessage()


def test_event_decoded_from_the_bus_wire_format_is_recorded():
    # The consumer hands receivers what openedx-events' Avro deserializer rebuilds.
    data = {"program_certificate": program_certificate(lms_user_id=4242)}
    wire = serialize_event_data_to_bytes(data, PROGRAM_CERTIFICATE_AWARDED)
    decoded = deserialize_bytes_to_event_data(wire, PROGRAM_CERTIFICATE_AWARDED)

    PROGRAM_CERTIFICATE_AWARDED.send_event_with_custom_metadata(
        metadata(time=AWARDED_AT), send_robust=False, **decoded
    )

    intent = ProgramIntent.objects.get()
    assert (intent.lms_user_id, intent.program_uuid, intent.effective_timestamp) == (
        4242,
        uuid.UUID(PROGRAM),
        AWARDED_AT,
    )

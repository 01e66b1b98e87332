"""
edx-event-bus-redis logs a failed event whole, and program certificate events carry the
learner's username, email and name: PIE's logging configuration withholds them.
"""

import logging

from edx_event_bus_redis.internal.consumer import ReceiverError, RedisEventConsumer
from edx_event_bus_redis.internal.message import RedisMessage
from edx_event_bus_redis.internal.producer import ProducingContext, record_producing_error
from openedx_events.event_bus.avro.serializer import serialize_event_data_to_bytes
from openedx_events.learning.signals import PROGRAM_CERTIFICATE_AWARDED

from pie.apps.intents.tests.events import (
    EMAIL,
    FULL_NAME,
    TOPIC,
    USERNAME,
    metadata,
    program_certificate,
)

RUN_CONTEXT = {"full_topic": f"dev-{TOPIC}", "consumer_group": "pie", "consumer_name": "pie-1"}


def assert_no_personal_data(text):
    for personal in (EMAIL, USERNAME, FULL_NAME):
        assert personal not in text


def test_consumer_error_line_keeps_the_context_and_withholds_the_event(caplog):
    event_metadata = metadata()
    data = {"program_certificate": program_certificate()}
    message = RedisMessage(
        topic=RUN_CONTEXT["full_topic"],
        event_data=serialize_event_data_to_bytes(data, PROGRAM_CERTIFICATE_AWARDED),
        event_metadata=event_metadata,
        msg_id=b"1717245015123-0",
    )
    # The consumer's own error path, without its Redis connection.
    consumer = RedisEventConsumer.__new__(RedisEventConsumer)

    with caplog.at_level(logging.INFO):
        consumer.record_event_consuming_error(
            RUN_CONTEXT, ReceiverError("1 receiver(s) out of 1 produced errors", []), message
        )

    (record,) = [r for r in caplog.records if r.name == "edx_event_bus_redis.internal.consumer"]
    assert record.levelno == logging.ERROR
    assert "consumer_name='pie-1'" in record.getMessage()
    assert "event details withheld" in record.getMessage()
    assert_no_personal_data(caplog.text)


def test_producer_error_line_withholds_the_event_data(caplog):
    context = ProducingContext(
        full_topic=RUN_CONTEXT["full_topic"],
        signal=PROGRAM_CERTIFICATE_AWARDED,
        initial_topic=TOPIC,
        event_key_field="program_certificate.program.uuid",
        event_data={"program_certificate": program_certificate()},
        event_metadata=metadata(),
    )

    with caplog.at_level(logging.INFO):
        record_producing_error(ConnectionError("Redis is down"), context)

    (record,) = [r for r in caplog.records if r.name == "edx_event_bus_redis.internal.producer"]
    assert "Redis is down" in record.getMessage()
    assert "event_data=<withheld>" in record.getMessage()
    assert_no_personal_data(caplog.text)

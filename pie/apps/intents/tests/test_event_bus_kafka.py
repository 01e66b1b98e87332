"""
PIE on a Kafka event bus (docs/event_bus.rst, "Kafka"): production takes the Kafka settings
from PIE_CFG, and consume_intent_events builds edx-event-bus-kafka's consumer from them. No
Kafka broker can be installed on the test machines, so the broker here is unreachable and the
test is that this is one clear error. Needs requirements/kafka.txt (`make requirements-kafka`):
without it the tests skip, unless PIE_REQUIRE_KAFKA=1 (CI) makes that a failure.
"""

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from pie.apps.intents import event_consumer
from pie.apps.intents.tests.production_process import production_environment

REPO = Path(__file__).resolve().parents[4]

try:
    import confluent_kafka  # noqa: F401
    import edx_event_bus_kafka  # noqa: F401
except ImportError as error:
    if os.environ.get("PIE_REQUIRE_KAFKA") == "1":
        raise ImportError(f"{error} (PIE_REQUIRE_KAFKA=1: run `make requirements-kafka`)") from None
    pytest.skip(
        f"{error}: `make requirements-kafka` installs the Kafka event bus", allow_module_level=True
    )


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_consume_intent_events_on_kafka_settings_from_pie_cfg_reports_an_unreachable_broker(
    tmp_path,
):
    servers = f"127.0.0.1:{closed_port()}"
    environment = production_environment(
        tmp_path,
        {
            "EVENT_BUS_CONSUMER": "edx_event_bus_kafka.KafkaEventConsumer",
            "EVENT_BUS_PRODUCER": "edx_event_bus_kafka.create_producer",
            "EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS": servers,
            "EVENT_BUS_KAFKA_SCHEMA_REGISTRY_URL": f"http://127.0.0.1:{closed_port()}",
            "EVENT_BUS_KAFKA_SCHEMA_REGISTRY_API_KEY": "registry-key",
            "EVENT_BUS_KAFKA_SCHEMA_REGISTRY_API_SECRET": "registry-secret",
            "EVENT_BUS_TOPIC_PREFIX": "prod",
            "EVENT_BUS_KAFKA_CONSUMER_CONSECUTIVE_ERRORS_LIMIT": 10,
            "PIE_EVENT_BUS_DATABASE_OUTAGE_SECONDS": 600,
        },
        # Secrets as a container gets them: the environment wins over the file.
        EVENT_BUS_KAFKA_API_KEY="broker-key",
        EVENT_BUS_KAFKA_API_SECRET="broker-secret",
    )

    result = subprocess.run(
        [sys.executable, "manage.py", "consume_intent_events", "--check"],
        cwd=REPO,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 1, result.stderr
    # One line, no traceback, none of librdkafka's connection attempts.
    errors = [line for line in result.stderr.splitlines() if line.startswith("CommandError")]
    assert errors == [
        f"CommandError: Kafka at {servers} does not answer within 10s: "
        + errors[0].split("10s: ", 1)[1]
    ], result.stderr
    assert "Traceback" not in result.stderr
    assert "rdkafka" not in result.stderr
    assert "broker-secret" not in result.stderr + result.stdout


def test_kafka_consumer_without_bootstrap_servers_is_one_clear_error(settings):
    settings.EVENT_BUS_CONSUMER = "edx_event_bus_kafka.KafkaEventConsumer"
    settings.EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS = None
    settings.EVENT_BUS_KAFKA_SCHEMA_REGISTRY_URL = "http://127.0.0.1:1"

    with pytest.raises(CommandError, match=r"^EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS is not set"):
        call_command("consume_intent_events", "--check")


def test_consumer_build_with_kafka_settings_builds_edx_event_bus_kafkas_consumer(
    settings, monkeypatch
):
    settings.EVENT_BUS_CONSUMER = "edx_event_bus_kafka.KafkaEventConsumer"
    settings.EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS = f"127.0.0.1:{closed_port()}"
    settings.EVENT_BUS_KAFKA_SCHEMA_REGISTRY_URL = "http://127.0.0.1:1"
    settings.EVENT_BUS_TOPIC_PREFIX = "prod"
    # No broker here: skip asking it (the test above is about that).
    monkeypatch.setattr(event_consumer, "_kafka_check", lambda: None)

    consumer = event_consumer.consumer_build()
    try:
        assert type(consumer).__module__.startswith("edx_event_bus_kafka")
        assert type(consumer).__name__ == "KafkaEventConsumer"
        assert (consumer.topic, consumer.group_id) == (event_consumer.TOPIC, "pie")
        assert consumer.schema_registry_client is not None
    finally:
        consumer.consumer.close()

"""
The event bus settings an operator sets (docs/event_bus.rst): production accepts them from the
PIE_CFG file and the environment (the environment wins), and the consumer loads from them.
"""

import json
import subprocess
import sys
from pathlib import Path

from django.conf import settings
from edx_event_bus_redis.internal.config import get_full_topic, load_common_settings
from openedx_events.event_bus import make_single_consumer

from pie.apps.intents.tests.production_process import production_environment

REPO = Path(__file__).resolve().parents[4]

PRINT_EVENT_BUS_SETTINGS = """
import json, django
django.setup()
from django.conf import settings
print(json.dumps({name: getattr(settings, name, None) for name in (
    "EVENT_BUS_CONSUMER", "EVENT_BUS_REDIS_CONNECTION_URL", "EVENT_BUS_TOPIC_PREFIX",
    "EVENT_BUS_REDIS_CONSUMER_CONSECUTIVE_ERRORS_LIMIT")}))
"""


def test_production_takes_the_event_bus_settings_from_the_file_and_the_environment(tmp_path):
    environment = production_environment(
        tmp_path,
        {
            "EVENT_BUS_REDIS_CONNECTION_URL": "redis://:from-file@redis.example.com:6379/0",
            "EVENT_BUS_TOPIC_PREFIX": "prod",
            "EVENT_BUS_REDIS_CONSUMER_CONSECUTIVE_ERRORS_LIMIT": 10,
        },
        EVENT_BUS_REDIS_CONNECTION_URL="rediss://:from-env@redis.example.com:6380/0",
    )

    result = subprocess.run(
        [sys.executable, "-c", PRINT_EVENT_BUS_SETTINGS],
        cwd=REPO,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "EVENT_BUS_CONSUMER": "edx_event_bus_redis.RedisEventConsumer",
        "EVENT_BUS_REDIS_CONNECTION_URL": "rediss://:from-env@redis.example.com:6380/0",
        "EVENT_BUS_TOPIC_PREFIX": "prod",
        "EVENT_BUS_REDIS_CONSUMER_CONSECUTIVE_ERRORS_LIMIT": 10,
    }


def test_consumer_reads_the_prefixed_stream_of_the_configured_redis():
    assert load_common_settings() == {"url": settings.EVENT_BUS_REDIS_CONNECTION_URL}
    assert get_full_topic("learning-program-certificate-lifecycle") == (
        f"{settings.EVENT_BUS_TOPIC_PREFIX}-learning-program-certificate-lifecycle"
    )


def test_without_a_redis_url_there_is_no_consumer(settings, recwarn):
    # Production's default: the web processes never need Redis; consume_events then logs
    # "Cannot consume events; no consumer configured." and exits.
    settings.EVENT_BUS_REDIS_CONNECTION_URL = None
    consumer = make_single_consumer(topic="learning-program-certificate-lifecycle", group_id="pie")
    assert type(consumer).__name__ == "NoEventBusConsumer"

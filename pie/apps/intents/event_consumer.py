"""
PIE's event bus consumer with PIE's defaults (``./manage.py consume_intent_events``).

The standard ``consume_events`` needs the topic, the group and, on Redis, flags without
which events are skipped (``check_backlog``); and when its settings are wrong it logs a
warning and exits 0. This module builds the consumer named by ``EVENT_BUS_CONSUMER`` (Redis or
Kafka) for PIE's topic and group, checks that the event bus answers, and turns every
misconfiguration into one ``EventBusError`` line. See docs/event_bus.rst.
"""

import os
import socket
import urllib.parse

from django.conf import settings
from django.utils.module_loading import import_string

TOPIC = "learning-program-certificate-lifecycle"
GROUP = "pie"
# Redis: a consumer that starts takes over the events left pending (read, never acknowledged)
# by consumers gone for longer than this: stopped mid-event, or by a database outage
# (event_delivery). An event takes milliseconds, so only a consumer that is gone or holding
# its event through an outage leaves one pending this long; in the second case both
# consumers record it, and the database refuses the duplicate.
CLAIM_PENDING_AFTER_SECONDS = 60.0
BROKER_TIMEOUT_SECONDS = 10


class EventBusError(Exception):
    """The event bus consumer cannot be built or its event bus does not answer."""


def default_consumer_name() -> str:
    """Unique per process: ``<host name>-<process id>``."""
    return f"{socket.gethostname()}-{os.getpid()}"


def consumer_build(
    *,
    group: str = GROUP,
    consumer_name: str | None = None,
    claim_pending_after: float = CLAIM_PENDING_AFTER_SECONDS,
):
    """
    The consumer of PIE's topic for ``group``, of the class named by ``EVENT_BUS_CONSUMER``.

    On Redis it reads the group's backlog (a restart never skips events) and first takes over
    events pending longer than ``claim_pending_after`` seconds. Raises ``EventBusError``.
    """
    path = settings.EVENT_BUS_CONSUMER
    try:
        consumer_class = import_string(path)
    except ImportError as error:
        hint = " (make requirements-kafka installs it)" if "kafka" in path else ""
        raise EventBusError(
            f"EVENT_BUS_CONSUMER {path!r} cannot be imported: {error}{hint}."
        ) from None
    transport = _transport(consumer_class)
    if transport == "redis":
        url = settings.EVENT_BUS_REDIS_CONNECTION_URL
        if not url:
            raise EventBusError("EVENT_BUS_REDIS_CONNECTION_URL is not set: no Redis to read.")
        try:
            return consumer_class(
                topic=TOPIC,
                group_id=group,
                consumer_name=consumer_name or default_consumer_name(),
                check_backlog=True,
                claim_msgs_older_than=int(claim_pending_after * 1000),
            )
        except Exception as error:
            raise EventBusError(
                f"Redis at {_without_password(url)} does not answer: {_describe(error)}"
            ) from None
    if transport == "kafka":
        for name in ("EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS", "EVENT_BUS_KAFKA_SCHEMA_REGISTRY_URL"):
            if not getattr(settings, name, None):
                raise EventBusError(f"{name} is not set: it is needed with {path}.")
        # First, because librdkafka starts connecting as soon as a consumer exists and logs
        # every failed attempt (20 lines a second) to stderr.
        _kafka_check()
        try:
            return consumer_class(topic=TOPIC, group_id=group)
        except Exception as error:
            raise EventBusError(f"{path} cannot be built: {_describe(error)}") from None
    raise EventBusError(
        f"EVENT_BUS_CONSUMER {path!r} is neither edx-event-bus-redis's nor "
        "edx-event-bus-kafka's consumer."
    )


def consumer_check(consumer) -> str:
    """Ask the consumer's event bus to answer; a description of it, or ``EventBusError``."""
    transport = _transport(type(consumer))
    if transport == "redis":
        url = _without_password(settings.EVENT_BUS_REDIS_CONNECTION_URL)
        try:
            consumer.db.ping()
        except Exception as error:
            raise EventBusError(f"Redis at {url} does not answer: {_describe(error)}") from None
        return f"Redis at {url}, stream {consumer.full_topic}"
    _kafka_check()
    return f"Kafka at {settings.EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS}"


def _kafka_check() -> None:
    """Ask the brokers for their metadata with the consumer's settings, logging nothing."""
    from confluent_kafka.admin import AdminClient
    from edx_event_bus_kafka.internal.config import load_common_settings

    servers = settings.EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS
    client = AdminClient({**load_common_settings(), "log_level": 0})
    try:
        client.list_topics(timeout=BROKER_TIMEOUT_SECONDS)
    except Exception as error:
        raise EventBusError(
            f"Kafka at {servers} does not answer within {BROKER_TIMEOUT_SECONDS}s: "
            f"{_describe(error)}"
        ) from None


def _transport(consumer_class) -> str | None:
    from edx_event_bus_redis import RedisEventConsumer

    if issubclass(consumer_class, RedisEventConsumer):
        return "redis"
    if consumer_class.__module__.startswith("edx_event_bus_kafka"):
        return "kafka"
    return None


def _without_password(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    if parts.password:
        host = parts.hostname or ""
        netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
        return urllib.parse.urlunsplit(parts._replace(netloc=netloc))
    return url


def _describe(error: Exception) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__

"""
No event lost while the database is down (docs/event_bus.rst, "When the database is down").

The event bus consumers acknowledge a message whatever its receivers did: edx-event-bus-redis
0.6 acknowledges in a ``finally`` around the whole message, edx-event-bus-kafka commits the
offset after logging a receiver's error. A receiver that raises because the database does not
answer would lose the event. So PIE's receivers are wrapped in ``held_through_database_outage``:
while the database does not answer (``is_database_outage``, the rule the API's 503 follows),
the event is held and retried with backoff. After ``PIE_EVENT_BUS_DATABASE_OUTAGE_SECONDS``
the process stops at once, with status ``OUTAGE_EXIT_STATUS`` and *without* acknowledging:
``os._exit`` skips the consumer's ``finally`` and commit, which any exception, even one the
consumer does not catch, would run. The event stays pending in the consumer group (Redis) or
uncommitted (Kafka), and the next consumer reads it again; redelivery is harmless.

Every other error is left to the consumer as before: a malformed event is skipped by the
receiver itself, and a database error that is not an outage (a refused value) raises, is
logged by the consumer and never retried.
"""

import functools
import logging
import os
import sys
import threading
import time

from django.conf import settings
from django.db import DatabaseError, connections

from pie.apps.core.api.exceptions import is_database_outage

logger = logging.getLogger(__name__)

# EX_TEMPFAIL (sysexits.h): a temporary failure, try again later.
OUTAGE_EXIT_STATUS = 75
FIRST_WAIT_SECONDS = 1.0
# Doubling from 1 s, capped: a database that comes back is noticed within 30 s.
LONGEST_WAIT_SECONDS = 30.0

# Set by consume_intent_events on SIGTERM: a held event then stops the process at once,
# unacknowledged, instead of waiting out the limit.
stop_requested = threading.Event()


def held_through_database_outage(receiver):
    """Wrap an event receiver so that a database outage holds its event instead of failing it."""

    @functools.wraps(receiver)
    def hold(*args, **kwargs):
        metadata = kwargs.get("metadata")
        deadline = None
        wait = FIRST_WAIT_SECONDS
        while True:
            try:
                return receiver(*args, **kwargs)
            except DatabaseError as error:
                if not is_database_outage(error):
                    raise
                now = time.monotonic()
                if deadline is None:
                    deadline = now + settings.PIE_EVENT_BUS_DATABASE_OUTAGE_SECONDS
                if now >= deadline or stop_requested.is_set():
                    _stop_without_acknowledging(metadata, error)
                wait = min(wait, deadline - now)
                logger.warning(
                    "Event %s (%s) is held: the database does not answer (%s); retrying in %.0fs.",
                    getattr(metadata, "id", None),
                    getattr(metadata, "event_type", None),
                    _describe(error),
                    wait,
                )
                _close_database_connections()
                if stop_requested.wait(wait):
                    _stop_without_acknowledging(metadata, error)
                wait = min(wait * 2, LONGEST_WAIT_SECONDS)

    return hold


def _close_database_connections() -> None:
    # The next attempt opens a new connection: an old one may be broken, or (SQLite) open on
    # a file that has since been replaced. Not inside a transaction, whose caller owns it.
    for connection in connections.all(initialized_only=True):
        if not connection.in_atomic_block:
            connection.close()


def _stop_without_acknowledging(metadata, error: DatabaseError) -> None:
    logger.critical(
        "Event %s (%s) is not acknowledged: the database has not answered for %ss (%s). "
        "Stopping the consumer with status %s; the next consumer reads the event again.",
        getattr(metadata, "id", None),
        getattr(metadata, "event_type", None),
        settings.PIE_EVENT_BUS_DATABASE_OUTAGE_SECONDS,
        _describe(error),
        OUTAGE_EXIT_STATUS,
    )
    for handler in logging.getLogger().handlers:
        handler.flush()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(OUTAGE_EXIT_STATUS)


def _describe(error: DatabaseError) -> str:
    # The first line only: the driver's message, never the event's data.
    first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"{type(error).__name__}: {first_line}" if first_line else type(error).__name__

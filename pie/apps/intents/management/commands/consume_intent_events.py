"""
./manage.py consume_intent_events: learn intents from the event bus, with PIE's defaults.

The topic (learning-program-certificate-lifecycle), the group (pie), a consumer name unique
to this process and, on Redis, the group's backlog: a restart never skips events. The event
bus is the one EVENT_BUS_CONSUMER names (Redis or Kafka). SIGTERM stops it after the event in
hand; every failure is one line and a non-zero status, for the process manager to restart
it. See docs/event_bus.rst.
"""

import logging
import signal

from django.core.management.base import BaseCommand, CommandError
from openedx_events.tooling import load_all_signals

from pie.apps.intents import event_delivery
from pie.apps.intents.event_consumer import (
    CLAIM_PENDING_AFTER_SECONDS,
    GROUP,
    TOPIC,
    EventBusError,
    consumer_build,
    consumer_check,
)

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = (
        f"Consume program certificate events from the event bus (topic {TOPIC}, group "
        f"{GROUP}) and record them as intents. Runs until stopped."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--consumer-name",
            help="this process's name in the group (default: <host name>-<process id>); Redis only",
        )
        parser.add_argument(
            "--group",
            default=GROUP,
            help=f"the consumer group (default: {GROUP}); another group gets its own copy of "
            "every event",
        )
        parser.add_argument(
            "--claim-pending-after",
            type=float,
            default=CLAIM_PENDING_AFTER_SECONDS,
            metavar="SECONDS",
            help="Redis: on start, take over events other consumers left unacknowledged for "
            f"this long (default: {CLAIM_PENDING_AFTER_SECONDS:.0f})",
        )
        parser.add_argument(
            "--check",
            action="store_true",
            help="build the consumer, check that the event bus answers, and exit",
        )

    def handle(self, *args, **options):
        try:
            consumer = consumer_build(
                group=options["group"],
                consumer_name=options["consumer_name"],
                claim_pending_after=options["claim_pending_after"],
            )
            where = consumer_check(consumer)
        except EventBusError as error:
            raise CommandError(str(error)) from None
        if options["check"]:
            self.stdout.write(
                f"{type(consumer).__name__} for topic {TOPIC}, group {options['group']}: "
                f"{where} answers."
            )
            return

        def stop(signum, frame):
            logger.info("SIGTERM: stopping after the event in hand, if any.")
            event_delivery.stop_requested.set()
            # The consumers' own way out of their loop (checked before each read).
            consumer._shut_down()

        signal.signal(signal.SIGTERM, stop)
        load_all_signals()
        logger.info(
            "Consuming %s from %s for group %s%s.",
            TOPIC,
            where,
            options["group"],
            f" as {consumer.consumer_name}" if hasattr(consumer, "consumer_name") else "",
        )
        try:
            consumer.consume_indefinitely()
        except Exception as error:
            # The library has logged it with its traceback; the process manager restarts us.
            raise CommandError(
                f"The event bus consumer stopped: {type(error).__name__}: {error}"
            ) from None
        logger.info("Stopped.")

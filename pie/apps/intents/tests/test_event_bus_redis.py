"""
The real round trip: events produced to Redis with edx-event-bus-redis's producer, consumed by
the real `./manage.py consume_events` or `consume_intent_events` in a subprocess (local
settings, its own SQLite file), stored as intents, including through a database outage. Needs
a Redis at EVENT_BUS_REDIS_CONNECTION_URL (127.0.0.1:6379): without one the test skips, unless
PIE_REQUIRE_REDIS=1 (CI) makes that a failure.
"""

import datetime
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import redis
from django.conf import settings as django_settings
from edx_event_bus_redis import create_producer
from openedx_events.learning.signals import (
    PROGRAM_CERTIFICATE_AWARDED,
    PROGRAM_CERTIFICATE_REVOKED,
)

from pie.apps.intents.tests.events import EVENT_KEY_FIELD, TOPIC, metadata, program_certificate

REPO = Path(__file__).resolve().parents[4]
GROUP = "pie"
WAIT_SECONDS = 60
LEARNER = 5150
PROGRAM = uuid.UUID("9c1e3a57-2b1f-4d7e-8a55-0f6d2c3b4a19")


@pytest.fixture
def redis_client():
    client = redis.Redis.from_url(
        django_settings.EVENT_BUS_REDIS_CONNECTION_URL, socket_connect_timeout=2, socket_timeout=10
    )
    try:
        client.ping()
    except redis.RedisError as error:
        message = (
            f"Redis is unreachable at {django_settings.EVENT_BUS_REDIS_CONNECTION_URL}: {error}"
        )
        if os.environ.get("PIE_REQUIRE_REDIS") == "1":
            pytest.fail(f"{message} (PIE_REQUIRE_REDIS=1)")
        pytest.skip(message)
    yield client
    client.close()


class Bus:
    """One run's stream (a unique topic prefix), its SQLite database and its consumers."""

    def __init__(self, client, tmp_path, settings):
        self.client = client
        self.prefix = f"pie-test-{uuid.uuid4().hex[:12]}"
        self.stream = f"{self.prefix}-{TOPIC}"
        settings.EVENT_BUS_TOPIC_PREFIX = self.prefix
        self.database = tmp_path / "pie.sqlite3"
        self.tmp_path = tmp_path
        self.env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "PIE_CFG")}
        self.env.update(
            DJANGO_SETTINGS_MODULE="pie.settings.local",
            DATABASE_URL=f"sqlite:///{self.database}",
            EVENT_BUS_REDIS_CONNECTION_URL=django_settings.EVENT_BUS_REDIS_CONNECTION_URL,
            EVENT_BUS_TOPIC_PREFIX=self.prefix,
            DEBUG="false",  # receivers run under send_robust, as in production
        )
        self.consumers: list[tuple[subprocess.Popen, Path]] = []
        self.producer = create_producer()

    def migrate(self):
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
            cwd=REPO,
            env=self.env,
            check=True,
            timeout=120,
        )

    def produce(self, signal, event_metadata, **data_kwargs) -> bytes:
        self.producer.send(
            signal=signal,
            topic=TOPIC,
            event_key_field=EVENT_KEY_FIELD,
            event_data={"program_certificate": program_certificate(**data_kwargs)},
            event_metadata=event_metadata,
        )
        # The producer logs its errors instead of raising them: check the stream.
        newest = self.client.xrevrange(self.stream, count=1)
        assert newest, f"nothing was produced to {self.stream}"
        return newest[0][0]

    def start_consumer(self, consumer_name: str, **extra) -> subprocess.Popen:
        """The standard command, consume_events."""
        extra = json.dumps({"consumer_name": consumer_name, **extra})
        return self._start(
            consumer_name, ["consume_events", "-t", TOPIC, "-g", GROUP, "--extra", extra]
        )

    def start_intent_consumer(
        self, log_name: str, *arguments: str, outage_seconds: float = 300
    ) -> subprocess.Popen:
        """PIE's command, consume_intent_events, with its own defaults."""
        return self._start(
            log_name,
            ["consume_intent_events", *arguments],
            PIE_EVENT_BUS_DATABASE_OUTAGE_SECONDS=str(outage_seconds),
        )

    def _start(self, log_name: str, command: list[str], **env) -> subprocess.Popen:
        log_path = self.tmp_path / f"{log_name}.log"
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                [sys.executable, "manage.py", *command],
                cwd=REPO,
                env={**self.env, **env},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, stopped as a whole
            )
        self.consumers.append((process, log_path))
        return process

    def stop_consumers(self):
        for process, _ in self.consumers:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process, _ in self.consumers:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)

    def consumer_logs(self) -> str:
        return "\n".join(
            f"--- {path.name}:\n{path.read_text(errors='replace')[-4000:]}"
            for _, path in self.consumers
        )

    def wait_for(self, description: str, condition):
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            if condition():
                return
            for process, _ in self.consumers:
                if process.poll() is not None and process is self.consumers[-1][0]:
                    pytest.fail(
                        f"the consumer exited before {description}:\n{self.consumer_logs()}"
                    )
            time.sleep(0.1)
        pytest.fail(f"not {description} after {WAIT_SECONDS}s:\n{self.consumer_logs()}")

    def consumer_running(self, consumer_name: str) -> bool:
        """The consumer has created its group and set where it reads from, and is polling."""
        return self.logged(consumer_name, "Running consumer for")

    def logged(self, log_name: str, text: str) -> bool:
        return text in (self.tmp_path / f"{log_name}.log").read_text(errors="replace")

    def pending(self) -> int:
        """Events the group has read and not acknowledged."""
        return self.client.xpending(self.stream, GROUP)["pending"]

    def take_the_database_away(self):
        """An outage: the file is gone; SQLite opens an empty one, without PIE's tables."""
        os.replace(self.database, self.tmp_path / "away.sqlite3")

    def bring_the_database_back(self):
        os.replace(self.tmp_path / "away.sqlite3", self.database)

    def group_done_with(self, entry_id: bytes) -> bool:
        """The group has read up to entry_id and acknowledged everything it read."""
        groups = [g for g in self.client.xinfo_groups(self.stream) if g["name"] == GROUP.encode()]
        if not groups:  # no consumer has created it yet
            return False
        (group,) = groups
        return group["last-delivered-id"] == entry_id and group["pending"] == 0

    def intents(self) -> list[tuple]:
        if not self.database.exists():
            return []
        with sqlite3.connect(self.database, timeout=5) as connection:
            return connection.execute(
                "SELECT i.lms_user_id, i.program_uuid, r.code, i.certainty"
                " FROM intents_programintent i JOIN intents_intentreason r ON r.id = i.reason_id"
                " ORDER BY i.id"
            ).fetchall()

    def close(self):
        try:
            self.stop_consumers()
        finally:
            self.client.delete(self.stream)  # the stream and its consumer group
            self.producer.client.close()


@pytest.fixture
def bus(redis_client, tmp_path, settings):
    bus = Bus(redis_client, tmp_path, settings)
    yield bus
    bus.close()


def test_consume_events_stores_awards_and_revocations_from_redis(bus):
    bus.migrate()
    award = metadata(PROGRAM_CERTIFICATE_AWARDED)
    awarded = (LEARNER, PROGRAM.hex, "EARNED_PROGRAM_CERT", "CERTAIN_YES")
    revoked = (LEARNER, PROGRAM.hex, "CERTIFICATE_REVOKED", "CERTAIN_NO")

    # The standard command. Without check_backlog it starts at the end of the stream: an
    # event produced before it starts is skipped (why docs/event_bus.rst asks for
    # check_backlog), so produce the award once it is reading.
    bus.produce(PROGRAM_CERTIFICATE_AWARDED, metadata(), lms_user_id=LEARNER + 2)
    bus.start_consumer("pie-1")
    bus.wait_for("reading the stream", lambda: bus.consumer_running("pie-1"))
    bus.produce(PROGRAM_CERTIFICATE_AWARDED, award, lms_user_id=LEARNER, program_uuid=PROGRAM)
    bus.wait_for("storing the award", lambda: bus.intents() == [awarded])

    bus.produce(
        PROGRAM_CERTIFICATE_REVOKED,
        metadata(PROGRAM_CERTIFICATE_REVOKED, time=award.time + datetime.timedelta(days=90)),
        lms_user_id=LEARNER,
        program_uuid=PROGRAM,
        status="revoked",
    )
    bus.wait_for("storing the revocation", lambda: bus.intents() == [awarded, revoked])

    # At-least-once delivery: the same award again stores nothing new.
    redelivered = bus.produce(
        PROGRAM_CERTIFICATE_AWARDED, award, lms_user_id=LEARNER, program_uuid=PROGRAM
    )
    bus.wait_for("acknowledging the redelivery", lambda: bus.group_done_with(redelivered))
    assert bus.intents() == [awarded, revoked]

    # Events produced while no consumer runs are read by the next one started with
    # check_backlog (docs/event_bus.rst): the group remembers where it stopped.
    bus.stop_consumers()
    backlog = bus.produce(
        PROGRAM_CERTIFICATE_AWARDED,
        metadata(PROGRAM_CERTIFICATE_AWARDED, time=award.time + datetime.timedelta(days=120)),
        lms_user_id=LEARNER + 1,
        program_uuid=PROGRAM,
    )
    bus.start_consumer("pie-2", check_backlog=True)
    bus.wait_for("reading the backlog", lambda: bus.group_done_with(backlog))
    backlog_award = (LEARNER + 1, PROGRAM.hex, "EARNED_PROGRAM_CERT", "CERTAIN_YES")
    # The event produced before the standard command started was never read.
    assert bus.intents() == [awarded, revoked, backlog_award]

    bus.stop_consumers()
    assert all(process.poll() is not None for process, _ in bus.consumers)
    assert "Traceback" not in bus.consumer_logs()


def test_consume_intent_events_reads_the_backlog_and_skips_poison_events(bus):
    bus.migrate()
    # Produced before any consumer ran: PIE's command reads the group's backlog.
    award = metadata(PROGRAM_CERTIFICATE_AWARDED)
    bus.produce(PROGRAM_CERTIFICATE_AWARDED, award, lms_user_id=LEARNER, program_uuid=PROGRAM)
    poison = bus.produce(PROGRAM_CERTIFICATE_AWARDED, metadata(), program_uuid="not-a-uuid")
    bus.start_intent_consumer("pie-a")
    bus.wait_for("reading the backlog", lambda: bus.group_done_with(poison))

    assert bus.intents() == [(LEARNER, PROGRAM.hex, "EARNED_PROGRAM_CERT", "CERTAIN_YES")]
    # The poison event is logged, acknowledged and never retried.
    assert bus.logged("pie-a", "Skipped event")
    assert not bus.logged("pie-a", "is held")

    # SIGTERM stops it cleanly, status 0.
    ((process, _),) = bus.consumers
    os.killpg(process.pid, signal.SIGTERM)
    assert process.wait(timeout=20) == 0
    assert "Traceback" not in bus.consumer_logs()


def test_consume_intent_events_holds_an_award_through_a_database_outage(bus):
    bus.migrate()
    bus.start_intent_consumer("pie-a")
    bus.wait_for("reading the stream", lambda: bus.consumer_running("pie-a"))

    bus.take_the_database_away()
    award = bus.produce(
        PROGRAM_CERTIFICATE_AWARDED, metadata(), lms_user_id=LEARNER, program_uuid=PROGRAM
    )
    bus.wait_for("holding the award", lambda: bus.logged("pie-a", "is held"))
    assert bus.pending() == 1  # read, not acknowledged
    bus.bring_the_database_back()

    bus.wait_for("acknowledging the award", lambda: bus.group_done_with(award))
    assert bus.intents() == [(LEARNER, PROGRAM.hex, "EARNED_PROGRAM_CERT", "CERTAIN_YES")]
    ((process, _),) = bus.consumers
    assert process.poll() is None  # it rode the outage out


def test_consume_intent_events_exits_unacknowledged_past_the_outage_limit(bus):
    bus.migrate()
    first = bus.start_intent_consumer("pie-a", "--claim-pending-after", "1", outage_seconds=2)
    bus.wait_for("reading the stream", lambda: bus.consumer_running("pie-a"))

    bus.take_the_database_away()
    award = bus.produce(
        PROGRAM_CERTIFICATE_AWARDED, metadata(), lms_user_id=LEARNER, program_uuid=PROGRAM
    )
    try:
        status = first.wait(timeout=WAIT_SECONDS)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the consumer did not give up:\n{bus.consumer_logs()}")
    assert status == 75, bus.consumer_logs()
    assert bus.logged("pie-a", "is not acknowledged")
    assert bus.pending() == 1  # still there for the next consumer

    # The database is back; the next consumer (another process, so another name) takes over
    # the pending award and stores it, once.
    bus.bring_the_database_back()
    bus.start_intent_consumer("pie-b", "--claim-pending-after", "1")
    bus.wait_for("storing the award", lambda: bus.intents() != [])
    bus.wait_for("acknowledging the award", lambda: bus.group_done_with(award))
    assert bus.intents() == [(LEARNER, PROGRAM.hex, "EARNED_PROGRAM_CERT", "CERTAIN_YES")]

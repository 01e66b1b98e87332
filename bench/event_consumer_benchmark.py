#!/usr/bin/env python3
"""
Throughput of the event bus consumer: how fast `./manage.py consume_events` turns program
certificate awards on Redis into stored intents.

    .venv/bin/python bench/event_consumer_benchmark.py            # 10,000 events, 3 runs
    .venv/bin/python bench/event_consumer_benchmark.py --events 2000 --runs 1
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pie_bench \\
        .venv/bin/python bench/event_consumer_benchmark.py

Each run produces --events PROGRAM_CERTIFICATE_AWARDED events (distinct learners) with
edx-event-bus-redis's producer to a fresh stream (a unique topic prefix), then starts the real
consumer, the standard command with check_backlog, in a subprocess, and times it until every
event is an intent in the database. It prints the events per second of each run, from the
consumer's start (Django start-up included) and from its first stored intent (steady state),
and their medians, with the machine's CPU count and load average.

Loopback only: it refuses a Redis URL whose host is not 127.0.0.1, ::1 or localhost. Each run
is bounded by --timeout; the consumer is stopped and the stream deleted whatever happens.
Default database: a scratch SQLite file. WARNING: with DATABASE_URL it migrates and fills
that database (rows of learners from 2,000,000,000 up); point it at a scratch one.
"""

import argparse
import datetime
import json
import logging
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

TOPIC = "learning-program-certificate-lifecycle"
GROUP = "pie-bench"
LOOPBACK_HOSTS = {"127.0.0.1", "::1", "localhost"}
FIRST_LEARNER = 2_000_000_000  # far from any real or test learner
PROGRAM = uuid.UUID("5e1b0c4a-7d2f-4f0e-9a63-b8c1d2e3f4a5")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=300, help="seconds allowed per run")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/")
    options = parser.parse_args()
    if urllib.parse.urlsplit(options.redis_url).hostname not in LOOPBACK_HOSTS:
        parser.error("--redis-url must point at this machine (127.0.0.1, ::1 or localhost)")
    if not 0 < options.events * options.runs < FIRST_LEARNER // 2:
        parser.error("--events and --runs must be positive")

    scratch = Path(tempfile.mkdtemp(prefix="pie-event-bench-"))
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{scratch}/bench.sqlite3")
    os.environ["DJANGO_SETTINGS_MODULE"] = "pie.settings.local"
    os.environ["DEBUG"] = "false"
    os.environ["EVENT_BUS_REDIS_CONNECTION_URL"] = options.redis_url
    import django

    django.setup()
    import redis
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    # The producer's audit line per event is noise here; the consumer keeps its own logging.
    logging.getLogger("edx_event_bus_redis.internal.producer").setLevel(logging.WARNING)
    client = redis.Redis.from_url(options.redis_url, socket_connect_timeout=2)
    server = client.info("server")
    print(
        f"machine: {os.cpu_count()} CPUs (nproc), load average {_load()} before; "
        f"Python {platform.python_version()}, Redis {server['redis_version']}, "
        f"database {connection.vendor} {_database_version(connection)}"
    )
    print(
        f"{options.events:,} award events per run, {options.runs} run(s); consumer: "
        f"consume_events -t {TOPIC} -g {GROUP} "
        '--extra \'{"consumer_name": "bench-1", "check_backlog": true}\''
    )

    totals, steadies = [], []
    try:
        for run in range(options.runs):
            first_learner = FIRST_LEARNER + run * options.events
            total, steady = _run(options, settings, client, scratch, run, first_learner)
            totals.append(total)
            steadies.append(steady)
    except BaseException:
        print(f"kept the scratch files (database, consumer logs) in {scratch}", file=sys.stderr)
        raise
    else:
        shutil.rmtree(scratch)
    finally:
        client.close()
    print(
        f"median of {len(totals)}: {statistics.median(totals):,.0f} events/s from the "
        f"consumer's start, {statistics.median(steadies):,.0f} events/s steady state; "
        f"load average {_load()} after"
    )


def _run(options, settings, client, scratch, run, first_learner) -> tuple[float, float]:
    from edx_event_bus_redis.internal import producer as redis_producer
    from openedx_events.data import EventsMetadata
    from openedx_events.learning.data import (
        ProgramCertificateData,
        ProgramData,
        UserData,
        UserPersonalData,
    )
    from openedx_events.learning.signals import PROGRAM_CERTIFICATE_AWARDED

    from pie.apps.intents.models import ProgramIntent

    prefix = f"pie-bench-{uuid.uuid4().hex[:12]}"
    stream = f"{prefix}-{TOPIC}"
    settings.EVENT_BUS_TOPIC_PREFIX = prefix
    # The producer trims streams to about 10,000 entries; keep every event of the run.
    redis_producer.STREAM_MAX_LEN = max(redis_producer.STREAM_MAX_LEN, options.events)
    producer = redis_producer.create_producer()
    learners = ProgramIntent.objects.filter(
        lms_user_id__gte=first_learner, lms_user_id__lt=first_learner + options.events
    )
    consumer = None
    log_path = scratch / f"consumer-{run + 1}.log"
    try:
        started = time.monotonic()
        base_time = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)
        for number in range(options.events):
            lms_user_id = first_learner + number
            producer.send(
                signal=PROGRAM_CERTIFICATE_AWARDED,
                topic=TOPIC,
                event_key_field="program_certificate.program.uuid",
                event_data={
                    "program_certificate": ProgramCertificateData(
                        user=UserData(
                            id=lms_user_id,
                            is_active=True,
                            pii=UserPersonalData(
                                username=f"learner{lms_user_id}",
                                email=f"learner{lms_user_id}@example.com",
                                name="Bench Learner",
                            ),
                        ),
                        program=ProgramData(
                            uuid=str(PROGRAM), title="Bench Program", program_type="professional"
                        ),
                        uuid=str(uuid.uuid4()),
                        status="awarded",
                        url="https://credentials.example.com/credentials/bench/",
                    )
                },
                event_metadata=EventsMetadata(
                    event_type=PROGRAM_CERTIFICATE_AWARDED.event_type,
                    time=base_time + datetime.timedelta(seconds=number),
                ),
            )
        produced = client.xlen(stream)
        if produced != options.events:
            raise SystemExit(f"produced {produced} of {options.events} events to {stream}")
        production_seconds = time.monotonic() - started

        environment = {**os.environ, "EVENT_BUS_TOPIC_PREFIX": prefix}
        extra = json.dumps({"consumer_name": "bench-1", "check_backlog": True})
        command = ["manage.py", "consume_events", "-t", TOPIC, "-g", GROUP, "--extra", extra]
        with open(log_path, "wb") as log:
            started = time.monotonic()
            consumer = subprocess.Popen(
                [sys.executable, *command],
                cwd=REPO,
                env=environment,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        first_stored = None
        deadline = started + options.timeout
        stored = 0
        while True:
            stored = learners.count()
            now = time.monotonic()
            if stored and first_stored is None:
                first_stored = now
            if stored >= options.events:
                break
            if consumer.poll() is not None:
                raise SystemExit(f"the consumer exited after {stored} intents; see {log_path}")
            if now > deadline:
                raise SystemExit(
                    f"run {run + 1}: {stored} of {options.events} intents after "
                    f"{options.timeout:.0f}s; see {log_path}"
                )
            time.sleep(0.05)
        finished = time.monotonic()
        total = options.events / (finished - started)
        steady = (options.events - 1) / max(finished - first_stored, 1e-9)
        print(
            f"run {run + 1}: produced in {production_seconds:.1f}s; consumed "
            f"{options.events:,} in {finished - started:.1f}s = {total:,.0f} events/s "
            f"(start-up {first_stored - started:.1f}s; steady state {steady:,.0f} events/s)"
        )
        return total, steady
    finally:
        if consumer is not None and consumer.poll() is None:
            os.killpg(consumer.pid, signal.SIGTERM)
            try:
                consumer.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(consumer.pid, signal.SIGKILL)
                consumer.wait(timeout=10)
        client.delete(stream)
        producer.client.close()


def _load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def _database_version(connection) -> str:
    if connection.vendor == "sqlite":
        import sqlite3

        return sqlite3.sqlite_version
    with connection.cursor() as cursor:
        cursor.execute("SELECT version()")
        return cursor.fetchone()[0].split(" on ")[0].split(",")[0]


if __name__ == "__main__":
    main()

"""
Throughput of the event bus consumer against its floor: how fast `./manage.py
consume_intent_events` turns program certificate awards on Redis into stored intents, and how
fast the same consumer goes through the same events when the receiver does nothing.

    .venv/bin/python -m bench.events            # 10,000 events, 3 runs, SQLite
    .venv/bin/python -m bench.events --events 2000 --runs 1 \\
        --database postgres://postgres@127.0.0.1:5432/pie_bench   # created, then dropped

Each run sends --events PROGRAM_CERTIFICATE_AWARDED events (distinct learners) to a fresh
Redis stream, then consumes it twice with the real command in a subprocess, each with its own
group, in alternating order: once with a receiver that does nothing (the floor: the library's
own reading, decoding, dispatching, acknowledging, logging), once with PIE's receivers, which
must store every event. A consumer is timed until its group has acknowledged every event;
"steady state" counts from its first acknowledged event. Redis must be on loopback; each
consumer is bounded by --timeout and stopped, and the stream deleted, whatever happens.
"""

import argparse
import datetime
import os
import platform
import statistics
import subprocess
import sys
import time
import urllib.parse
import uuid

from bench import harness

TOPIC = "learning-program-certificate-lifecycle"
GROUP = "pie-bench"
# The floor's consumer: the same command, PIE's receivers replaced by one that does nothing.
FLOOR_CONSUMER = """
import sys, django
django.setup()
from django.core.management import call_command
from openedx_events.learning.signals import (
    PROGRAM_CERTIFICATE_AWARDED, PROGRAM_CERTIFICATE_REVOKED)
for signal, uid in ((PROGRAM_CERTIFICATE_AWARDED, "pie.intents.program_certificate_awarded"),
                    (PROGRAM_CERTIFICATE_REVOKED, "pie.intents.program_certificate_revoked")):
    assert signal.disconnect(dispatch_uid=uid), uid
    signal.connect(lambda sender, **kwargs: None, weak=False, dispatch_uid="bench.nothing")
call_command("consume_intent_events", *sys.argv[1:])
"""
LOOPBACK_HOSTS = {"127.0.0.1", "::1", "localhost"}
FIRST_LEARNER = 2_000_000_000  # far from any real or test learner
PROGRAM = uuid.UUID("5e1b0c4a-7d2f-4f0e-9a63-b8c1d2e3f4a5")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=300, help="seconds allowed per run")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/")
    harness.add_scratch_arguments(parser)
    options = parser.parse_args()
    if urllib.parse.urlsplit(options.redis_url).hostname not in LOOPBACK_HOSTS:
        parser.error("--redis-url must point at this machine (127.0.0.1, ::1 or localhost)")
    if not 0 < options.events * options.runs < FIRST_LEARNER // 2:
        parser.error("--events and --runs must be positive")

    harness.exit_cleanly_on_signals()
    with (
        harness.workdir(options.keep) as scratch,
        harness.scratch_database(options.database, scratch) as database_url,
    ):
        os.environ["EVENT_BUS_REDIS_CONNECTION_URL"] = options.redis_url
        harness.django_setup(database_url)
        benchmark(options, scratch)


def benchmark(options, scratch) -> None:
    import redis
    from django.conf import settings

    client = redis.Redis.from_url(options.redis_url, socket_connect_timeout=2)
    server = client.info("server")
    print(
        f"machine: {os.cpu_count()} CPUs (nproc), load average {harness.load_average()} before; "
        f"Python {platform.python_version()}, Redis {server['redis_version']}, "
        f"database {harness.database_label()}"
    )
    print(
        f"{options.events:,} award events per run, {options.runs} run(s); consumer: "
        f"consume_intent_events --group {GROUP}-<floor|pie>-<run> (the floor: PIE's receivers "
        "replaced by one that does nothing)"
    )

    results = {"floor": [], "pie": []}
    try:
        for run in range(options.runs):
            first_learner = FIRST_LEARNER + run * options.events
            for receiver, total, steady in one_run(
                options, settings, client, scratch, run, first_learner
            ):
                results[receiver].append((total, steady))
    finally:
        client.close()
    floor = statistics.median(steady for _, steady in results["floor"])
    pie = statistics.median(steady for _, steady in results["pie"])
    ratios = [p[1] / f[1] for p, f in zip(results["pie"], results["floor"], strict=True)]
    for receiver, label in (("floor", "floor (no-op receiver)"), ("pie", "PIE's receivers")):
        print(
            f"median of {options.runs}, {label}: "
            f"{statistics.median(total for total, _ in results[receiver]):,.0f} events/s from "
            f"the consumer's start, "
            f"{statistics.median(steady for _, steady in results[receiver]):,.0f} events/s "
            "steady state"
        )
    print(
        f"PIE / floor, steady state: {pie / floor:.2f} (medians); per run "
        f"{', '.join(f'{ratio:.2f}' for ratio in ratios)}; "
        f"load average {harness.load_average()} after"
    )


def one_run(options, settings, client, scratch, run, first_learner) -> list[tuple]:
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
        print(f"run {run + 1}: produced {options.events:,} events in {production_seconds:.1f}s")

        environment = {**os.environ, "EVENT_BUS_TOPIC_PREFIX": prefix}
        order = ("floor", "pie") if run % 2 == 0 else ("pie", "floor")
        results = []
        for receiver in order:
            group = f"{GROUP}-{receiver}-{run + 1}"
            arguments = ["--group", group, "--consumer-name", "bench-1"]
            if receiver == "floor":
                command = [sys.executable, "-c", FLOOR_CONSUMER, *arguments]
            else:
                command = [sys.executable, "manage.py", "consume_intent_events", *arguments]
            log_path = scratch / f"consumer-{run + 1}-{receiver}.log"
            with open(log_path, "wb") as log:
                started = time.monotonic()
                consumer = subprocess.Popen(
                    command,
                    cwd=harness.REPO,
                    env=environment,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            first_done, finished = wait_for_group(
                options, client, stream, group, consumer, started, log_path
            )
            harness.stop(consumer)
            consumer = None
            if receiver == "pie" and (stored := learners.count()) != options.events:
                raise SystemExit(f"{stored} of {options.events} events stored; see {log_path}")
            total = options.events / (finished - started)
            steady = (options.events - 1) / max(finished - first_done, 1e-9)
            print(
                f"run {run + 1}, {receiver:5}: consumed {options.events:,} in "
                f"{finished - started:.1f}s = {total:,.0f} events/s (start-up "
                f"{first_done - started:.1f}s; steady state {steady:,.0f} events/s)"
            )
            results.append((receiver, total, steady))
        return results
    finally:
        if consumer is not None:
            harness.stop(consumer)
        client.delete(stream)
        producer.client.close()


def wait_for_group(options, client, stream, group, consumer, started, log_path):
    """(first event acknowledged, every event acknowledged), as time.monotonic() values."""
    first_done = None
    deadline = started + options.timeout
    while True:
        now = time.monotonic()
        groups = {g["name"].decode(): g for g in client.xinfo_groups(stream)}
        state = groups.get(group)
        read = state["entries-read"] or 0 if state else 0
        if read and first_done is None:
            first_done = now
        if state and read >= options.events and state["pending"] == 0:
            return first_done, now
        if consumer.poll() is not None:
            raise SystemExit(f"the consumer exited after {read} events; see {log_path}")
        if now > deadline:
            raise SystemExit(
                f"{read} of {options.events} events after {options.timeout:.0f}s; see {log_path}"
            )
        time.sleep(0.05)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""
Speed of the program summary (GET /api/v1/programs/{uuid}/intents/summary/'s query) for a
program with 100,000 learners.

    .venv/bin/python bench/summary_benchmark.py                  # fresh SQLite file
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pie_bench \
        .venv/bin/python bench/summary_benchmark.py

Seeds, in a scratch database: 100,000 learners with 1 to 5 intents each for the measured
program (mixed certainties), plus as many intents again spread over 50 other programs, with
the import's writer (so each learner's current intents are kept as in production). Then
times selectors.program_intent_summary (median of --runs), then GET /health/ and the summary
endpoint interleaved, twice: in process through Django's test client (a staff session, DEBUG
off), and over HTTP on gunicorn as issue 15 measures every ratio (bench/api_latency.py's
server: one sync worker, pie.settings.local with DEBUG off, an LMS administrator's JWT, one
connection per request). "ratio" is the median /health/ time divided by the summary's, the
share of the framework floor the endpoint keeps; in process it is stricter, as neither side
pays gunicorn's and HTTP's cost.
WARNING: with DATABASE_URL it migrates and fills that database; point it at a scratch one.
"""

import argparse
import datetime
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--learners", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--requests", type=int, default=200, help="requests per endpoint")
    options = parser.parse_args()
    scratch = tempfile.mkdtemp()
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{scratch}/summary.sqlite3")
    os.environ["DJANGO_SETTINGS_MODULE"] = "pie.settings.local"
    os.environ["DEBUG"] = "false"
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.db.models import Count

    from pie.apps.intents.importing.writers import intent_writer
    from pie.apps.intents.models import CurrentIntent, IntentReason, ProgramIntent
    from pie.apps.intents.selectors import program_intent_summary

    call_command("migrate", verbosity=0)
    rng = random.Random(7)
    program = uuid.UUID(int=rng.getrandbits(128), version=4)
    others = [uuid.UUID(int=rng.getrandbits(128), version=4) for _ in range(50)]
    reasons = list(IntentReason.objects.values_list("id", flat=True))
    start = datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)
    adapt = connection.ops.adapt_datetimefield_value
    native = connection.features.has_native_uuid_field
    stamp = adapt(datetime.datetime.now(datetime.UTC))
    writer = intent_writer()
    if ProgramIntent.objects.filter(program_uuid=program).exists():
        raise SystemExit("The database already holds the benchmark's data; use a fresh one.")

    def row(learner, program_uuid):
        when = start + datetime.timedelta(seconds=rng.randrange(5 * 365 * 86400))
        certainty = rng.choice(["CERTAIN_YES", "CERTAIN_NO", "MAYBE", "MAYBE"])
        value = program_uuid if native else program_uuid.hex
        return (learner, value, rng.choice(reasons), certainty, adapt(when), stamp)

    seeded, batch = 0, []
    for learner in range(1, options.learners + 1):
        for _ in range(rng.randint(1, 5)):
            batch.append(row(learner, program))
            batch.append(row(learner, rng.choice(others)))
        if len(batch) >= 10_000:
            with transaction.atomic():  # PostgreSQL stages each batch in a temporary table
                seeded += writer.write(batch)
            batch = []
    with transaction.atomic():
        seeded += writer.write(batch)
    with connection.cursor() as cursor:
        if connection.vendor == "mysql":
            cursor.execute("ANALYZE TABLE intents_programintent, intents_currentintent")
            cursor.fetchall()
        elif connection.vendor == "postgresql":
            # What autovacuum does on a live database: statistics, and the visibility map
            # that lets the count read the index alone.
            cursor.execute("VACUUM ANALYZE intents_currentintent")
        else:
            cursor.execute("ANALYZE")

    print(
        f"# {datetime.date.today()} {connection.vendor}, {os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.2f}; seeded {seeded:,} intents"
    )

    def measure(label):
        timings = []
        for _ in range(options.runs):
            started = time.perf_counter()
            counts = program_intent_summary(program_uuid=program)
            timings.append((time.perf_counter() - started) * 1000)
        print(
            f"{label}: median {statistics.median(timings):.0f} ms, min {min(timings):.0f} ms, "
            f"max {max(timings):.0f} ms over {options.runs} runs; "
            f"{sum(counts.values()):,} learners {counts}"
        )

    measure("program_intent_summary")
    print(
        "plan:",
        CurrentIntent.objects.filter(program_uuid=program)
        .values("certainty")
        .annotate(n=Count("*"))
        .order_by()
        .explain(),
    )
    in_process_ratio(program, options.requests)
    gunicorn_ratio(program, options.requests)


def gunicorn_ratio(program, requests: int) -> None:
    """GET /health/ and the summary endpoint, interleaved, over HTTP on one gunicorn worker."""
    from api_latency import (
        bench_environment,
        free_port,
        request,
        start_gunicorn,
        stop_gunicorn,
        wait_until_ready,
    )
    from django.db import connection

    from pie.apps.core.dev_tokens import dev_service_token_payload, sign_dev_token

    # An LMS administrator's client-credentials token: staff may read summaries.
    payload = dev_service_token_payload(username="bench-summary-staff", administrator=True)
    token = sign_dev_token(payload)
    connection.close()
    environment = bench_environment(os.environ["DATABASE_URL"])
    log_path = Path(tempfile.mkdtemp()) / "gunicorn.log"
    port = free_port()
    process = start_gunicorn(environment, port, 1, log_path)
    urls = {"health": "/health/", "summary": f"/api/v1/programs/{program}/intents/summary/"}
    samples = {name: [] for name in urls}
    try:
        wait_until_ready(process, port, log_path)
        for position in range(requests + 20):
            for name, url in urls.items():
                status, body, elapsed = request(port, url, token if name == "summary" else None)
                if status != 200:
                    raise SystemExit(f"{url}: {status} {body[:200]!r}")
                if position >= 20:
                    samples[name].append(elapsed * 1000)
    finally:
        stop_gunicorn(process)
    print_ratio(f"over HTTP (gunicorn, 1 sync worker), {requests} requests each", samples)


def print_ratio(label: str, samples: dict) -> None:
    health, summary = (statistics.median(samples[name]) for name in ("health", "summary"))
    print(
        f"{label}: GET /health/ median {health:.2f} ms, "
        f"GET summary median {summary:.2f} ms, ratio {health / summary:.2f} (target >= 0.1)"
    )


def in_process_ratio(program, requests: int) -> None:
    """GET /health/ and the summary endpoint, interleaved, in process; medians and ratio."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    staff = get_user_model().objects.create(username="bench-staff", is_staff=True)
    client = Client(HTTP_HOST="localhost")
    client.force_login(staff)
    urls = {"health": "/health/", "summary": f"/api/v1/programs/{program}/intents/summary/"}
    samples = {name: [] for name in urls}
    for position in range(requests + 20):
        for name, url in urls.items():
            started = time.perf_counter()
            response = client.get(url)
            elapsed = (time.perf_counter() - started) * 1000
            if response.status_code != 200:
                raise SystemExit(f"{url}: {response.status_code} {response.content[:200]}")
            if position >= 20:
                samples[name].append(elapsed)
    print_ratio(f"in process, {requests} requests each", samples)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""
Speed of the program summary (GET /api/v1/programs/{uuid}/intents/summary/'s query) for a
program with 100,000 learners.

    .venv/bin/python bench/summary_benchmark.py                  # fresh SQLite file
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pie_bench \
        .venv/bin/python bench/summary_benchmark.py

Seeds, in a scratch database: 100,000 learners with 1 to 5 intents each for the measured
program (mixed certainties), plus as many intents again spread over 50 other programs. Then
times selectors.program_intent_summary (median of --runs) and prints the query plan.
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
    parser.add_argument(
        "--with-program-index",
        action="store_true",
        help="also time it with an extra (program_uuid, lms_user_id) index, as ADR 0004 weighs",
    )
    options = parser.parse_args()
    scratch = tempfile.mkdtemp()
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{scratch}/summary.sqlite3")
    os.environ["DJANGO_SETTINGS_MODULE"] = "pie.settings.local"
    os.environ["DEBUG"] = "false"
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from pie.apps.intents.importing import _IntentWriter
    from pie.apps.intents.models import IntentReason, ProgramIntent
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
    writer = _IntentWriter()
    if ProgramIntent.objects.filter(program_uuid=program).exists():
        raise SystemExit("The database already holds the benchmark's data; use a fresh one.")

    def row(learner, program_uuid):
        when = start + datetime.timedelta(seconds=rng.randrange(5 * 365 * 86400))
        certainty = rng.choice(["CERTAIN_YES", "CERTAIN_NO", "MAYBE", "MAYBE"])
        value = program_uuid if native else program_uuid.hex
        return (learner, value, rng.choice(reasons), certainty, adapt(when), stamp, stamp)

    seeded, batch = 0, []
    for learner in range(1, options.learners + 1):
        for _ in range(rng.randint(1, 5)):
            batch.append(row(learner, program))
            batch.append(row(learner, rng.choice(others)))
        if len(batch) >= 10_000:
            seeded += writer.write(batch)
            batch = []
    seeded += writer.write(batch)
    with connection.cursor() as cursor:
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
    if options.with_program_index:
        with connection.cursor() as cursor:
            cursor.execute(
                "CREATE INDEX bench_program_learner ON intents_programintent "
                "(program_uuid, lms_user_id)"
            )
            cursor.execute("ANALYZE")
        measure("with a (program_uuid, lms_user_id) index")
    from pie.apps.intents.selectors import _best_intents

    best = _best_intents(ProgramIntent.objects.filter(program_uuid=program), per="lms_user_id")
    query = ProgramIntent.objects.filter(pk__in=best.values("pk")).values("certainty")
    print("plan:", query.explain())


if __name__ == "__main__":
    main()

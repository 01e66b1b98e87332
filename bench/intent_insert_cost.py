#!/usr/bin/env python3
"""
What finding the reason and checking retirement inside the insert costs the database
(docs/decisions/0009): ``services.intent_create``'s own INSERT ... SELECT against the same
insert with the reason id as a literal (what a reason cache would run) and no retirement
check, each ``BEGIN``, insert, ``COMMIT``, on SQLite through ``sqlite3`` (no Django per
statement), in a freshly migrated scratch file with PIE's pragmas.

    .venv/bin/python bench/intent_insert_cost.py              # 5 rounds of 3,000 each
    .venv/bin/python bench/intent_insert_cost.py --rounds 3 --events 1000

Prints the CPU time per event of each variant per round (rounds alternate the variants, so
that drift on a shared machine hits both alike) and their medians.
"""

import argparse
import os
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

REASON = "EARNED_PROGRAM_CERT"
ROW = ("CERTAIN_YES", "2024-01-01 00:00:00", "2026-12-03 16:00:00", "2026-12-03 16:00:00")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--events", type=int, default=3000)
    options = parser.parse_args()

    path = Path(tempfile.mkdtemp(prefix="pie-insert-cost-")) / "bench.sqlite3"
    os.environ["DATABASE_URL"] = f"sqlite:///{path}"
    os.environ["DJANGO_SETTINGS_MODULE"] = "pie.settings.local"
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from pie.apps.intents import services

    call_command("migrate", verbosity=0)
    found = services._intent_insert_sql("sqlite", True).replace("%s", "?")
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM intents_intentreason WHERE code = %s", [REASON])
        (reason_id,) = cursor.fetchone()
    connection.close()
    cached = found.split(" SELECT ")[0] + " VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id, reason_id"

    database = sqlite3.connect(path, isolation_level=None)
    database.executescript("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;")
    variants = {
        "found in the insert": lambda learner: (learner, uuid.uuid4().hex, *ROW, REASON, learner),
        "cached id": lambda learner: (learner, uuid.uuid4().hex, *ROW, reason_id),
    }
    sql = {"found in the insert": found, "cached id": cached}
    results = {name: [] for name in variants}
    learner = 10_000_000
    for _ in range(options.rounds):
        for name, params in variants.items():
            started = time.process_time()
            for _ in range(options.events):
                learner += 1
                database.execute("BEGIN")
                database.execute(sql[name], params(learner)).fetchone()
                database.execute("COMMIT")
            results[name].append((time.process_time() - started) / options.events * 1e6)
    database.close()
    for name, values in results.items():
        print(
            f"{name:20} CPU µs/event per round: {', '.join(f'{v:.0f}' for v in values)}; "
            f"median {statistics.median(values):.0f}"
        )


if __name__ == "__main__":
    main()

"""
Write a realistic CSV of intents for bulk_insert_intents, like a warehouse export.

    .venv/bin/python -m bench.intents_csv --rows 1000000 --out /tmp/intents.csv

Learners hold a few intents each over a catalogue of programs; reasons and certainties
follow the usual pairs; timestamps use the warehouse form ``YYYY-MM-DD HH:MM:SS.fff Z``
with some ISO 8601 rows mixed in. Deterministic for a given --seed.
"""

import argparse
import csv
import datetime
import gzip
import random
import sys
import uuid

REASONS = [
    ("BUNDLE_PURCHASE", "CERTAIN_YES", 0.25),
    ("ENROLLED_ALL_COURSES", "MAYBE", 0.60),
    ("EARNED_PROGRAM_CERT", "CERTAIN_YES", 0.15),
]
START = datetime.datetime(2019, 1, 1, tzinfo=datetime.UTC)
SPAN_SECONDS = 6 * 365 * 24 * 3600


def reason_and_certainty(rng: random.Random) -> tuple[str, str]:
    """The usual pairs in their usual shares, with 5% of learners certain they will not."""
    reason, certainty, _ = rng.choices(REASONS, [weight for _, _, weight in REASONS])[0]
    return reason, "CERTAIN_NO" if rng.random() < 0.05 else certainty


def rows(count: int, seed: int, programs: int):
    rng = random.Random(seed)
    program_uuids = [uuid.UUID(int=rng.getrandbits(128), version=4) for _ in range(programs)]
    learners = max(count // 4, 1)
    for n in range(count):
        reason, certainty = reason_and_certainty(rng)
        when = START + datetime.timedelta(
            seconds=rng.randrange(SPAN_SECONDS), microseconds=rng.randrange(1000) * 1000
        )
        if n % 10 == 0:
            effective = when.isoformat().replace("+00:00", "Z")
        else:
            effective = when.strftime("%Y-%m-%d %H:%M:%S.") + f"{when.microsecond // 1000:03d} Z"
        yield (
            str(rng.choice(program_uuids)),
            rng.randrange(1, learners + 1),
            reason,
            certainty,
            effective,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--programs", type=int, default=500)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", default="-", help="Output path (.gz compresses); - for stdout.")
    options = parser.parse_args()
    if options.out == "-":
        handle = sys.stdout
    elif options.out.endswith(".gz"):
        handle = gzip.open(options.out, "wt", newline="", encoding="utf-8")
    else:
        handle = open(options.out, "w", newline="", encoding="utf-8")
    with handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["program_uuid", "user_id", "intent_reason", "intent_certainty", "effective_time"]
        )
        writer.writerows(rows(options.rows, options.seed, options.programs))


if __name__ == "__main__":
    main()

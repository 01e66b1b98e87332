#!/usr/bin/env python3
"""
What else could make the SQLite import faster? Times variants of the import benchmark's
floor (``sqlite3.executemany`` of pre-converted rows, 5,000 per transaction, PIE's pragmas)
on the same CSV and the same freshly migrated schema, and prints the median rows/s and CPU
seconds of each over several rounds, run in turn so that drift on a shared machine hits
every variant alike.

    .venv/bin/python bench/sqlite_insert_variants.py                       # 1M rows, 3 rounds
    .venv/bin/python bench/sqlite_insert_variants.py --rounds 5 --only floor foreign_keys

The CSV is the import benchmark's (bench/generate_intents_csv.py, made if missing). Each
variant runs in a process of its own on a copy of the migrated template.
"""

import argparse
import datetime
import json
import os
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from import_benchmark import (  # run as bench/sqlite_insert_variants.py: bench/ is on the path
    FLOOR_COLUMNS,
    FLOOR_PRAGMAS,
    floor_insert,
    floor_rows,
    remove_sqlite_database,
)

REPO = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
TABLE = "intents_programintent"
# name: (what it changes, extra pragmas, batch size)
VARIANTS = {
    "floor": ("the import benchmark's floor", (), 5000),
    "foreign_keys": (
        "PRAGMA foreign_keys=ON, as Django's connections have",
        ("foreign_keys=ON",),
        5000,
    ),
    "sorted": ("each batch sorted by the unique key (PIE does this)", ("foreign_keys=ON",), 5000),
    "multi_row": ("multi-row INSERT of 100 rows a statement", (), 5000),
    "json_each": ("the batch as one JSON document, INSERT ... SELECT FROM json_each", (), 5000),
    "no_autoincrement": ("the table without AUTOINCREMENT", (), 5000),
    "no_unique_index": ("a copy of the table without the unique index", (), 5000),
    "page_1k": ("1 KB pages instead of 4 KB", (), 5000),
    "page_8k": ("8 KB pages", (), 5000),
    "cache_16mb": ("16 MB page cache instead of 64 MB", ("cache_size=-16384",), 5000),
    "cache_256mb": ("256 MB page cache", ("cache_size=-262144",), 5000),
    "mmap_1gb": ("mmap_size of 1 GB", ("mmap_size=1073741824",), 5000),
    "batch_20k": ("20,000 rows a transaction (the issue fixes 5,000)", (), 20000),
    "synchronous_off": ("synchronous=OFF (unsafe on power loss)", ("synchronous=OFF",), 5000),
}


def prepare(variant: str, template: Path, target: Path) -> str:
    """Copy the template as the variant needs it; return the table to insert into."""
    remove_sqlite_database(target)
    if variant.startswith("page_"):
        size = {"page_1k": 1024, "page_8k": 8192}[variant]
        source, copy = sqlite3.connect(template), sqlite3.connect(target)
        copy.execute(f"PRAGMA page_size={size}")
        source.backup(copy)
        source.close()
        copy.close()
    else:
        shutil.copy(template, target)
    connection = sqlite3.connect(target, isolation_level=None)
    table = TABLE
    if variant == "no_autoincrement":
        (sql,) = connection.execute(
            "SELECT sql FROM sqlite_master WHERE name = ?", (TABLE,)
        ).fetchone()
        connection.execute("PRAGMA writable_schema=ON")
        connection.execute(
            "UPDATE sqlite_master SET sql = ? WHERE name = ?",
            (sql.replace(" AUTOINCREMENT", ""), TABLE),
        )
    elif variant == "no_unique_index":
        table = "programintent_without_index"
        connection.execute(
            f"CREATE TABLE {table} (id integer PRIMARY KEY AUTOINCREMENT, lms_user_id integer, "
            "program_uuid char(32), reason_id bigint, certainty varchar(16), "
            "effective_timestamp datetime, created datetime)"
        )
    connection.close()
    return table


def measure(variant: str, csv_path: Path, template: Path, scratch: Path) -> dict:
    _, pragmas, batch_size = VARIANTS[variant]
    target = scratch / f"{variant}.sqlite3"
    table = prepare(variant, template, target)
    connection = sqlite3.connect(target, isolation_level=None)
    reason_ids = dict(connection.execute("SELECT code, id FROM intents_intentreason"))
    rows = floor_rows(csv_path, reason_ids)
    for pragma in (*FLOOR_PRAGMAS, *pragmas):
        connection.execute(f"PRAGMA {pragma}")
    one_row = floor_insert(table)
    before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    for start in range(0, len(rows), batch_size):
        batch = rows[start : start + batch_size]
        connection.execute("BEGIN")
        if variant == "sorted":
            connection.executemany(one_row, sorted(batch))
        elif variant == "multi_row":
            for first in range(0, len(batch), 100):
                chunk = batch[first : first + 100]
                values = ", ".join(["(?, ?, ?, ?, ?, ?)"] * len(chunk))
                connection.execute(
                    f"INSERT INTO {table} ({FLOOR_COLUMNS}) VALUES {values} ON CONFLICT DO NOTHING",
                    [value for row in chunk for value in row],
                )
        elif variant == "json_each":
            connection.execute(
                f"INSERT INTO {table} ({FLOOR_COLUMNS}) SELECT value ->> 0, value ->> 1, "
                "value ->> 2, value ->> 3, value ->> 4, ?2, ?2 FROM json_each(?1) WHERE true "
                "ON CONFLICT DO NOTHING",
                (json.dumps([row[:5] for row in batch]), batch[0][5]),
            )
        else:
            connection.executemany(one_row, batch)
        connection.execute("COMMIT")
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    (stored,) = connection.execute(f"SELECT count(*) FROM {table}").fetchone()
    connection.close()
    if stored != len(rows):
        raise SystemExit(f"{variant}: stored {stored} rows of {len(rows)}")
    return {
        "rows_per_second": len(rows) / seconds,
        "user": after.ru_utime - before.ru_utime,
        "sys": after.ru_stime - before.ru_stime,
    }


def migrated_template(scratch: Path) -> Path:
    template = scratch / "template.sqlite3"
    environment = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{template}",
        "DJANGO_SETTINGS_MODULE": "pie.settings.local",
        "DEBUG": "false",
    }
    subprocess.run(
        [PYTHON, "manage.py", "migrate", "--noinput", "-v0"], cwd=REPO, env=environment, check=True
    )
    # The copies must start in rollback-journal mode for the page-size variants.
    connection = sqlite3.connect(template, isolation_level=None)
    connection.execute("PRAGMA journal_mode=DELETE")
    connection.close()
    return template


def main() -> None:
    if sys.argv[1:2] == ["--measure"]:
        variant, csv_path, template, scratch = sys.argv[2:6]
        print(json.dumps(measure(variant, Path(csv_path), Path(template), Path(scratch))))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", nargs="+", choices=sorted(VARIANTS), help="variants to run")
    parser.add_argument("--data-dir", default=str(REPO / "bench" / "data"))
    options = parser.parse_args()
    variants = options.only or list(VARIANTS)
    csv_path = Path(options.data_dir) / f"intents-{options.rows}.csv"
    if not csv_path.exists():
        csv_path.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                PYTHON,
                str(REPO / "bench" / "generate_intents_csv.py"),
                "--rows",
                str(options.rows),
                "--out",
                str(csv_path),
            ],
            check=True,
        )
    print(
        f"# {datetime.date.today()} {datetime.datetime.now(datetime.UTC):%H:%M} UTC, "
        f"{os.cpu_count()} cores, SQLite {sqlite3.sqlite_version}, {options.rows:,} rows, "
        f"{options.rounds} rounds, load average {os.getloadavg()[0]:.2f}"
    )
    results = {variant: [] for variant in variants}
    with tempfile.TemporaryDirectory() as scratch:
        template = migrated_template(Path(scratch))
        for _ in range(options.rounds):
            for variant in variants:
                output = subprocess.run(
                    [PYTHON, __file__, "--measure", variant, str(csv_path), str(template), scratch],
                    check=True,
                    capture_output=True,
                    text=True,
                ).stdout
                results[variant].append(json.loads(output))
                Path(scratch, f"{variant}.sqlite3").unlink()
    floor = None
    if "floor" in results:
        floor = statistics.median(run["rows_per_second"] for run in results["floor"])
    print(
        f"{'variant':18} {'rows/s':>9} {'min':>9} {'max':>9} {'user s':>7} {'sys s':>6} "
        f"{'vs floor':>9}"
    )
    for variant, runs in results.items():
        rates = [run["rows_per_second"] for run in runs]
        median = statistics.median(rates)
        ratio = f"{median / floor:9.2f}" if floor else ""
        print(
            f"{variant:18} {median:9,.0f} {min(rates):9,.0f} {max(rates):9,.0f} "
            f"{statistics.median(run['user'] for run in runs):7.2f} "
            f"{statistics.median(run['sys'] for run in runs):6.2f} {ratio}"
            f"   {VARIANTS[variant][0]}"
        )


if __name__ == "__main__":
    main()

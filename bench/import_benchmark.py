#!/usr/bin/env python3
"""
Benchmark of ``manage.py bulk_insert_intents``: rows/s and peak RSS for a first import and a
re-run of the same file, against a plain ``sqlite3.executemany`` of the same rows into the
same schema (the practical floor), on SQLite and, when given and reachable, PostgreSQL and
MySQL/MariaDB.

    .venv/bin/python bench/import_benchmark.py                      # 100k and 1M rows
    .venv/bin/python bench/import_benchmark.py --rows 100000 --runs 3
    .venv/bin/python bench/import_benchmark.py --postgres postgres://postgres@127.0.0.1:5432/pie_bench
    .venv/bin/python bench/import_benchmark.py --mysql mysql://root@127.0.0.1:3306/pie_bench

Each measured import runs in its own process (peak RSS is that process's ru_maxrss); each
first import starts from a freshly migrated database. Data: bench/generate_intents_csv.py
(500 programs, rows/4 learners, reasons and certainties in realistic proportions).
bench/sqlite_insert_variants.py times variants of the floor (what else could be faster).
"""

import argparse
import csv
import datetime
import os
import platform
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
BATCH = 5000
SUMMARY = re.compile(
    r"Rows read: ([\d,]+), inserted: ([\d,]+), duplicates skipped: ([\d,]+).* ([\d,]+) rows/s"
)


def csv_for(rows: int, data_dir: Path) -> Path:
    path = data_dir / f"intents-{rows}.csv"
    if not path.exists():
        subprocess.run(
            [
                PYTHON,
                str(REPO / "bench" / "generate_intents_csv.py"),
                "--rows",
                str(rows),
                "--out",
                str(path),
            ],
            check=True,
        )
    return path


def manage(args: list[str], database_url: str) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "pie.settings.local",
        "DEBUG": "false",
    }
    result = subprocess.run(
        [PYTHON, "manage.py", *args], cwd=REPO, env=env, capture_output=True, text=True
    )
    if result.returncode != 0:
        raise SystemExit(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")


def run_import(path: Path, database_url: str):
    """One import in a child process: (rows/s, peak RSS MB, inserted, duplicates).

    The rate is the command's own (rows over the time spent reading, parsing and writing
    them), without the ~1 s of Python and Django start-up. Peak RSS is the importing
    process's; the CSV is parsed in a forked child, whose peak is reported apart."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "pie.settings.local",
        "DEBUG": "false",
    }
    process = subprocess.Popen(
        [PYTHON, "manage.py", "bulk_insert_intents", str(path), "--quiet"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    stdout = process.stdout.read().decode()
    stderr = process.stderr.read().decode()
    _, status, usage = os.wait4(process.pid, 0)
    if status != 0:
        raise SystemExit(f"import failed:\n{stdout}\n{stderr}")
    match = SUMMARY.search(stdout)
    inserted, duplicates = (int(match.group(n).replace(",", "")) for n in (2, 3))
    return int(match.group(4).replace(",", "")), usage.ru_maxrss / 1024, inserted, duplicates


# The floor's statement and the pragmas PIE runs an import with (pie/settings/base.py and
# importing.py); bench/sqlite_insert_variants.py varies them.
FLOOR_COLUMNS = (
    "lms_user_id, program_uuid, reason_id, certainty, effective_timestamp, created, modified"
)
FLOOR_PRAGMAS = (
    "journal_mode=WAL",
    "synchronous=NORMAL",
    "cache_size=-65536",
    "wal_autocheckpoint=100000",
)


def floor_insert(table: str = "intents_programintent") -> str:
    return (
        f"INSERT INTO {table} ({FLOOR_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
    )


def floor_rows(path: Path, reason_ids: dict[str, int]) -> list[tuple]:
    """The CSV's rows as the import writes them (FLOOR_COLUMNS), converted in advance."""
    stamp = str(datetime.datetime.now(datetime.UTC).replace(tzinfo=None))
    rows = []
    with path.open(newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        for program, user, reason, certainty, when in reader:
            when = when.replace(" Z", "").replace("Z", "").replace("T", " ")
            row = (int(user), program.replace("-", ""), reason_ids[reason], certainty, when)
            rows.append((*row, stamp, stamp))
    return rows


def remove_sqlite_database(target: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)


def fresh_sqlite(directory: Path, template: Path) -> str:
    target = directory / "bench.sqlite3"
    remove_sqlite_database(target)
    shutil.copy(template, target)
    return f"sqlite:///{target}"


def sqlite_floor(path: Path, template: Path, directory: Path) -> float:
    """
    The floor, measured in a process of its own: this one must stay small, or every import
    it starts would inherit its memory between fork and exec, and the peak RSS it reports
    (ru_maxrss) would be this script's, not the import's.
    """
    result = subprocess.run(
        [PYTHON, __file__, "--floor", str(path), str(template), str(directory)],
        capture_output=True,
        text=True,
        check=True,
    )
    return float(result.stdout)


def measure_floor(path: Path, template: Path, directory: Path) -> float:
    """rows/s of sqlite3.executemany of the already-converted rows, same schema and pragmas."""
    target = directory / "floor.sqlite3"
    remove_sqlite_database(target)
    shutil.copy(template, target)
    connection = sqlite3.connect(target, isolation_level=None)
    rows = floor_rows(path, dict(connection.execute("SELECT code, id FROM intents_intentreason")))
    for pragma in FLOOR_PRAGMAS:
        connection.execute(f"PRAGMA {pragma}")
    sql = floor_insert()
    started = time.perf_counter()
    for start in range(0, len(rows), BATCH):
        connection.execute("BEGIN")
        connection.executemany(sql, rows[start : start + BATCH])
        connection.execute("COMMIT")
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # as the import does at its end
    seconds = time.perf_counter() - started
    connection.close()
    return len(rows) / seconds


def postgres_url_reachable(url: str) -> bool:
    try:
        import psycopg
    except ImportError:
        print("(PostgreSQL skipped: psycopg is not installed; make requirements-postgres)")
        return False
    try:
        base = url.rsplit("/", 1)[0] + "/postgres"
        with psycopg.connect(
            base.replace("postgres://", "postgresql://"), autocommit=True, connect_timeout=3
        ) as connection:
            name = url.rsplit("/", 1)[1]
            connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
            connection.execute(f'CREATE DATABASE "{name}"')
        return True
    except Exception as error:  # noqa: BLE001
        print(f"(PostgreSQL skipped: {error})")
        return False


def mysql_url_reachable(url: str) -> bool:
    """Drop and re-create the scratch MySQL/MariaDB database named by ``url``."""
    try:
        import dj_database_url
        import MySQLdb
    except ImportError:
        print("(MySQL skipped: mysqlclient is not installed; make requirements-mysql)")
        return False
    parts = dj_database_url.parse(url)
    try:
        connection = MySQLdb.connect(
            host=parts["HOST"] or "127.0.0.1",
            port=int(parts["PORT"] or 3306),
            user=parts["USER"],
            password=parts["PASSWORD"] or "",
        )
        cursor = connection.cursor()
        cursor.execute(f"DROP DATABASE IF EXISTS `{parts['NAME']}`")
        cursor.execute(f"CREATE DATABASE `{parts['NAME']}` CHARACTER SET utf8mb4")
        connection.close()
        return True
    except Exception as error:  # noqa: BLE001
        print(f"(MySQL skipped: {error})")
        return False


def main() -> None:
    if sys.argv[1:2] == ["--floor"]:
        print(measure_floor(*(Path(argument) for argument in sys.argv[2:5])))
        return
    parser = argparse.ArgumentParser(description="bulk_insert_intents benchmark")
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--runs", type=int, default=3, help="runs per size (medians reported)")
    parser.add_argument("--postgres", help="PostgreSQL URL of a scratch database (dropped!)")
    parser.add_argument("--mysql", help="MySQL/MariaDB URL of a scratch database (dropped!)")
    parser.add_argument(
        "--no-sqlite", action="store_true", help="only the server databases named by the options"
    )
    parser.add_argument("--data-dir", default=str(REPO / "bench" / "data"))
    options = parser.parse_args()
    data_dir = Path(options.data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)

    print(
        f"# {datetime.date.today()} {platform.node()}: {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        template = scratch / "template.sqlite3"
        manage(["migrate", "--noinput"], f"sqlite:///{template}")
        print(
            f"{'backend':10} {'rows':>9} {'first rows/s':>13} {'re-run rows/s':>14} "
            f"{'peak RSS MB':>12} {'floor rows/s':>13} {'vs floor':>9}"
        )
        for rows in options.rows:
            path = csv_for(rows, data_dir)
            firsts, reruns, peaks, floors = [], [], [], []
            for _ in range(0 if options.no_sqlite else options.runs):
                url = fresh_sqlite(scratch, template)
                rate, peak, inserted, _ = run_import(path, url)
                firsts.append(rate)
                peaks.append(peak)
                rate, peak, inserted_again, duplicates = run_import(path, url)
                assert inserted_again == 0 and duplicates == inserted, "re-run inserted rows"
                reruns.append(rate)
                peaks.append(peak)
                floors.append(sqlite_floor(path, template, scratch))
            if firsts:
                first, floor = statistics.median(firsts), statistics.median(floors)
                print(
                    f"{'sqlite':10} {rows:>9,} {first:>13,.0f} "
                    f"{statistics.median(reruns):>14,.0f} "
                    f"{max(peaks):>12.0f} {floor:>13,.0f} {first / floor:>9.2f}"
                )
            servers = (
                ("postgres", options.postgres, postgres_url_reachable),
                ("mysql", options.mysql, mysql_url_reachable),
            )
            for backend, url, recreate in servers:
                if not url or not recreate(url):
                    continue
                manage(["migrate", "--noinput"], url)
                first, peak, inserted, _ = run_import(path, url)
                rerun, peak_again, _, _ = run_import(path, url)
                print(
                    f"{backend:10} {rows:>9,} {first:>13,.0f} {rerun:>14,.0f} "
                    f"{max(peak, peak_again):>12.0f} {'':>13} {'':>9}"
                )
    print("rows/s: as the command reports it (start-up excluded); SQLite: medians of --runs runs;")
    print(
        "PostgreSQL, MySQL/MariaDB: one run per size, each into a freshly created and "
        "migrated database."
    )
    print("floor = sqlite3.executemany of the same pre-converted rows, 5,000 per transaction.")


if __name__ == "__main__":
    main()

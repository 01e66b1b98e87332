#!/usr/bin/env python3
"""
Benchmark of ``manage.py bulk_insert_intents``: rows/s and peak RSS for a first import and a
re-run of the same file, on SQLite and, when given and reachable, PostgreSQL and
MySQL/MariaDB; with ``--before``, against an earlier commit's checkout in the same session.

    .venv/bin/python bench/import_benchmark.py                      # 100k and 1M rows
    .venv/bin/python bench/import_benchmark.py --rows 1000000 --runs 3 \
        --postgres postgres://postgres@127.0.0.1:5432/pie_bench \
        --mysql mysql://root@127.0.0.1:3306/pie_bench --before /tmp/pie-before

Each measured import runs in its own process; each first import starts from a freshly
migrated database. Data: bench/generate_intents_csv.py (500 programs, rows/4 learners,
reasons and certainties in realistic proportions). bench/sqlite_insert_variants.py times
plain sqlite3 variants of the insert (the practical floor).
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


def manage(args: list[str], database_url: str, repo: Path = REPO) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "pie.settings.local",
        "DEBUG": "false",
    }
    result = subprocess.run(
        [PYTHON, "manage.py", *args], cwd=repo, env=env, capture_output=True, text=True
    )
    if result.returncode != 0:
        raise SystemExit(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")


def run_import(path: Path, database_url: str, repo: Path = REPO):
    """One import in a child process of ``repo``'s code: (rows/s, peak RSS MB, inserted,
    duplicates).

    The rate is the command's own (rows over the time spent reading, parsing and writing
    them), without the ~1 s of Python and Django start-up. Peak RSS is the largest of the
    importing process and the processes it waited for (ru_maxrss of wait4)."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "pie.settings.local",
        "DEBUG": "false",
    }
    process = subprocess.Popen(
        [PYTHON, "manage.py", "bulk_insert_intents", str(path), "--quiet"],
        cwd=repo,
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
FLOOR_COLUMNS = "lms_user_id, program_uuid, reason_id, certainty, effective_timestamp, created"
FLOOR_PRAGMAS = (
    "journal_mode=WAL",
    "synchronous=NORMAL",
    "cache_size=-65536",
    "wal_autocheckpoint=100000",
)


def floor_insert(table: str = "intents_programintent") -> str:
    return f"INSERT INTO {table} ({FLOOR_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"


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
            rows.append((*row, stamp))
    return rows


def remove_sqlite_database(target: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)


def fresh_sqlite(directory: Path, template: Path) -> str:
    target = directory / "bench.sqlite3"
    remove_sqlite_database(target)
    shutil.copy(template, target)
    return f"sqlite:///{target}"


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
    parser = argparse.ArgumentParser(description="bulk_insert_intents benchmark")
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--runs", type=int, default=3, help="runs per size (medians reported)")
    parser.add_argument("--postgres", help="PostgreSQL URL of a scratch database (dropped!)")
    parser.add_argument("--mysql", help="MySQL/MariaDB URL of a scratch database (dropped!)")
    parser.add_argument(
        "--no-sqlite", action="store_true", help="only the server databases named by the options"
    )
    parser.add_argument(
        "--before",
        type=Path,
        help="a checkout of an earlier commit: its imports alternate with this tree's, and "
        "each row gives both and their ratio",
    )
    parser.add_argument("--no-rerun", action="store_true", help="first imports only")
    parser.add_argument("--data-dir", default=str(REPO / "bench" / "data"))
    options = parser.parse_args()
    data_dir = Path(options.data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    trees = {"after": REPO, **({"before": options.before.resolve()} if options.before else {})}

    print(
        f"# {datetime.date.today()} {platform.node()}: {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        templates = {}
        for name, repo in trees.items():
            templates[name] = scratch / f"template-{name}.sqlite3"
            manage(["migrate", "--noinput"], f"sqlite:///{templates[name]}", repo)
        print(
            f"{'backend':10} {'rows':>9} {'tree':6} {'first rows/s':>13} {'re-run rows/s':>14} "
            f"{'peak RSS MB':>12} {'first after/before':>19}"
        )
        for rows in options.rows:
            path = csv_for(rows, data_dir)
            backends = [
                (backend, url, recreate)
                for backend, url, recreate in (
                    ("sqlite", None if options.no_sqlite else "sqlite", None),
                    ("postgres", options.postgres, postgres_url_reachable),
                    ("mysql", options.mysql, mysql_url_reachable),
                )
                if url
            ]
            for backend, url, recreate in backends:
                results = {name: ([], [], []) for name in trees}
                for run in range(options.runs):
                    # Alternating, and in turn first, so that neither tree always meets the
                    # machine in the same state.
                    order = list(trees) if run % 2 == 0 else list(reversed(trees))
                    for name in order:
                        repo = trees[name]
                        if backend == "sqlite":
                            target = fresh_sqlite(scratch, templates[name])
                        elif recreate(url):
                            manage(["migrate", "--noinput"], url, repo)
                            target = url
                        else:
                            break
                        firsts, reruns, peaks = results[name]
                        rate, peak, inserted, _ = run_import(path, target, repo)
                        firsts.append(rate)
                        peaks.append(peak)
                        if not options.no_rerun:
                            rate, peak, again, duplicates = run_import(path, target, repo)
                            assert again == 0 and duplicates == inserted, "re-run inserted rows"
                            reruns.append(rate)
                            peaks.append(peak)
                medians = {
                    name: statistics.median(firsts)
                    for name, (firsts, _, _) in results.items()
                    if firsts
                }
                for name, (firsts, reruns, peaks) in results.items():
                    if not firsts:
                        continue
                    ratio = ""
                    if name == "after" and "before" in medians:
                        ratio = f"{medians['after'] / medians['before']:.2f}"
                    print(
                        f"{backend:10} {rows:>9,} {name:6} {medians[name]:>13,.0f} "
                        f"{statistics.median(reruns) if reruns else 0:>14,.0f} "
                        f"{max(peaks):>12.0f} {ratio:>19}"
                    )
    print(
        f"rows/s: as the command reports it (start-up excluded), medians of {options.runs} "
        "runs, each first import into a freshly created and migrated database; peak RSS: the "
        "largest of every run."
    )


if __name__ == "__main__":
    main()

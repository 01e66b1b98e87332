"""
``manage.py bulk_insert_intents``: rows/s and peak RSS of a first import and of a re-run of
the same file (every row a duplicate); with --before, against an earlier commit's checkout,
alternating run by run, with the ratio of their medians.

    .venv/bin/python -m bench.imports --rows 1000000 --runs 3 \
        [--database postgres://postgres@127.0.0.1:5432/pie_bench] [--before /tmp/pie-before]

Data: bench/intents_csv.py (seed 1, 500 programs, rows/4 learners). Each import runs in its
own process, each first import into a freshly created and migrated database (a SQLite file,
or the database --database names, created and dropped per run). rows/s is the command's own
figure (start-up excluded); peak RSS is ru_maxrss of the importing process and its children.
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path

from bench import harness
from bench.intents_csv import rows as intent_rows

SUMMARY = re.compile(r"inserted: ([\d,]+), duplicates skipped: ([\d,]+).* ([\d,]+) rows/s")


def manage(tree: Path, database_url: str, *arguments: str):
    """``manage.py`` of ``tree`` in a child process: (stdout, peak RSS in MB)."""
    process = subprocess.Popen(
        [sys.executable, "manage.py", *arguments],
        cwd=tree,
        env=harness.django_environment(database_url),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    output = process.stdout.read().decode()
    _, status, usage = os.wait4(process.pid, 0)
    if status != 0:
        raise SystemExit(f"manage.py {' '.join(arguments)} in {tree} failed:\n{output}")
    return output, usage.ru_maxrss / 1024


def import_once(tree: Path, database_url: str, csv_path: Path) -> tuple[int, int, int, float]:
    """(rows/s, inserted, duplicates, peak RSS MB) of one import."""
    output, peak = manage(tree, database_url, "bulk_insert_intents", str(csv_path), "--quiet")
    inserted, duplicates, rate = (int(n.replace(",", "")) for n in SUMMARY.search(output).groups())
    return rate, inserted, duplicates, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].strip())
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--runs", type=int, default=3, help="runs per size (medians)")
    harness.add_scratch_arguments(parser)
    parser.add_argument("--before", type=Path, help="a checkout of an earlier commit")
    parser.add_argument("--no-rerun", action="store_true", help="first imports only")
    options = parser.parse_args()
    trees = {"after": harness.REPO}
    if options.before:
        trees["before"] = options.before.resolve()
    harness.exit_cleanly_on_signals()
    with harness.workdir(options.keep) as workdir:
        print(f"bulk_insert_intents; {os.cpu_count()} cores, load {harness.load_average()}")
        print(
            f"{'rows':>9} {'tree':6} {'first rows/s':>13} {'re-run rows/s':>14} "
            f"{'peak RSS MB':>12} {'after/before':>13}   first imports rows/s"
        )
        for count in options.rows:
            csv_path = workdir / f"intents-{count}.csv"
            harness.write_csv(csv_path, intent_rows(count, seed=1, programs=500))
            results = {name: ([], [], []) for name in trees}
            for run in range(options.runs):
                # Alternating, so neither tree always meets the machine in the same state.
                for name in list(trees) if run % 2 == 0 else list(reversed(trees)):
                    firsts, reruns, peaks = results[name]
                    with harness.scratch_database(options.database, workdir) as url:
                        manage(trees[name], url, "migrate", "--noinput")
                        rate, inserted, _, peak = import_once(trees[name], url, csv_path)
                        firsts.append(rate)
                        peaks.append(peak)
                        if not options.no_rerun:
                            rate, again, duplicates, peak = import_once(trees[name], url, csv_path)
                            if again or duplicates != inserted:
                                raise SystemExit(f"the re-run inserted {again} rows")
                            reruns.append(rate)
                            peaks.append(peak)
            medians = {name: statistics.median(firsts) for name, (firsts, _, _) in results.items()}
            for name, (firsts, reruns, peaks) in results.items():
                ratio = f"{medians['after'] / medians['before']:.2f}" if len(trees) > 1 else "-"
                print(
                    f"{count:>9,} {name:6} {medians[name]:>13,.0f} "
                    f"{statistics.median(reruns) if reruns else 0:>14,.0f} {max(peaks):>12.0f} "
                    f"{ratio if name == 'after' else '':>13}   {', '.join(map(str, firsts))}"
                )


if __name__ == "__main__":
    main()

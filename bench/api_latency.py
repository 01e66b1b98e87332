"""
Latency of the learner API on a local gunicorn, measured against the framework floor.

    .venv/bin/python bench/api_latency.py [--rounds 5] [--requests 200] [--keep]
        [--database postgres://postgres@127.0.0.1:5432/pie_bench]  # an EMPTY scratch database
        [--profile 200]  # cProfile of each GET in process, through Django's WSGI handler
    PIE_BENCH_PORT=18831 .venv/bin/python bench/api_latency.py  # gunicorn on this port

Creates a fresh SQLite database in a temporary directory (or migrates the empty database
named by --database), seeds three learners with 10, 1,000 and 10,000 intents (over 10, 200
and 10 programs) plus a background of other learners, starts gunicorn on 127.0.0.1 with
pie.settings.local and DEBUG=false, and times GET /api/v1/program_intents/most_recent_and_certain/
for each learner, POST of a new intent and GET /health/, interleaved, from one client. It
contacts nothing but 127.0.0.1 and always stops gunicorn.

"ratio" is the median /health/ latency divided by the endpoint's median latency: the share
of the framework floor's throughput the endpoint keeps (1.0 = as fast as /health/).

Before the HTTP measurements it checks, in process, that the selection for the largest
learner is one SQL query, prints SQLite's EXPLAIN QUERY PLAN for it, and times the query,
the ORM and the serializer on their own.
"""

import argparse
import datetime
import http.client
import json
import math
import os
import platform
import random
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
URL = "/api/v1/program_intents/most_recent_and_certain/"
HEALTH_URL = "/health/"

# (lms_user_id, intents, programs)
# 1001 and 1003 share their 10 programs' count, so that their ratio shows the cost of history.
LEARNERS = [(1001, 10, 10), (1002, 1_000, 200), (1003, 10_000, 10)]
POSTING_LEARNER = 1004
OTHER_LEARNERS_FIRST_ID = 100_000
# Share of a learner's programs that only ever get MAYBE intents.
MAYBE_ONLY_PROGRAM_SHARE = 0.3
CERTAINTY_WEIGHTS = {"MAYBE": 0.45, "CERTAIN_YES": 0.40, "CERTAIN_NO": 0.15}
HISTORY = datetime.timedelta(days=3 * 365)
RANDOM_SEED = 20240501


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].strip())
    parser.add_argument("--rounds", type=int, default=5, help="measurement rounds (default 5)")
    parser.add_argument(
        "--requests", type=int, default=200, help="requests per endpoint per round (default 200)"
    )
    parser.add_argument(
        "--warmup", type=int, default=20, help="warm-up requests per endpoint (default 20)"
    )
    parser.add_argument("--workers", type=int, default=1, help="gunicorn workers (default 1)")
    parser.add_argument(
        "--other-learners",
        type=int,
        default=1_000,
        help="background learners with 5 intents each, so the learner's rows are not the "
        "whole table (default 1000)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument(
        "--database",
        help="URL of an EMPTY scratch PostgreSQL or MySQL/MariaDB database (default: SQLite)",
    )
    parser.add_argument("--show-sql", action="store_true", help="print the selection's SQL")
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="N",
        help="before the HTTP run, profile N requests per endpoint in process through the WSGI "
        "handler (cProfile) and print where the time goes",
    )
    args = parser.parse_args()
    for name in ("rounds", "requests", "workers"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")
    if args.warmup < 0 or args.other_learners < 0:
        parser.error("--warmup and --other-learners must not be negative")
    return args


# --- environment -------------------------------------------------------------------------


def bench_environment(database_url: str) -> dict:
    environment = {
        name: value
        for name, value in os.environ.items()
        if name not in ("PIE_CFG", "DATABASE_URL", "CONN_MAX_AGE", "LOG_LEVEL")
        and not name.startswith("GUNICORN_")
    }
    environment.update(
        DJANGO_SETTINGS_MODULE="pie.settings.local",
        DEBUG="false",
        DATABASE_URL=database_url,
        PYTHONDONTWRITEBYTECODE="1",
    )
    return environment


def machine_info() -> list[tuple[str, str]]:
    import django
    import gunicorn

    cpu = platform.processor() or "?"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return [
        ("date", datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")),
        ("nproc", str(len(os.sched_getaffinity(0)))),
        ("cpu", cpu),
        ("os", f"{platform.system()} {platform.release()} {platform.machine()}"),
        ("python", platform.python_version()),
        ("django", django.get_version()),
        ("gunicorn", gunicorn.__version__),
        ("sqlite", sqlite3.sqlite_version),
        ("load", load_average()),
    ]


def load_average() -> str:
    """Other processes on the machine skew the figures; the load average shows them."""
    return " ".join(f"{value:.2f}" for value in os.getloadavg()) + " (1, 5, 15 min)"


# --- database ----------------------------------------------------------------------------


def setup_database(other_learners: int) -> None:
    """Migrate the fresh database and seed it. Runs in this process with the bench settings."""
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", interactive=False, verbosity=0)
    seed(other_learners)


def _intents_for(lms_user_id, count, programs, reasons, rng, now):
    from pie.apps.intents.models import ProgramIntent

    program_uuids = [uuid.UUID(int=rng.getrandbits(128), version=4) for _ in range(programs)]
    maybe_only = {program for program in program_uuids if rng.random() < MAYBE_ONLY_PROGRAM_SHARE}
    certainties, weights = zip(*CERTAINTY_WEIGHTS.items(), strict=True)
    intents = []
    for position in range(count):
        # Every program gets at least one intent; the rest are spread at random.
        program = program_uuids[position] if position < programs else rng.choice(program_uuids)
        certainty = "MAYBE" if program in maybe_only else rng.choices(certainties, weights)[0]
        age = datetime.timedelta(microseconds=rng.randrange(int(HISTORY.total_seconds() * 1e6)))
        intents.append(
            ProgramIntent(
                lms_user_id=lms_user_id,
                program_uuid=program,
                reason=rng.choice(reasons),
                certainty=certainty,
                effective_timestamp=now - age,
            )
        )
    return intents


def seed(other_learners: int) -> None:
    from django.db import connection

    from pie.apps.intents.models import IntentReason, ProgramIntent
    from pie.apps.intents.services import current_intents_rebuild

    rng = random.Random(RANDOM_SEED)
    now = datetime.datetime.now(datetime.UTC)
    reasons = list(IntentReason.objects.order_by("code"))
    intents = []
    for lms_user_id, count, programs in LEARNERS:
        intents += _intents_for(lms_user_id, count, programs, reasons, rng, now)
    for offset in range(other_learners):
        intents += _intents_for(OTHER_LEARNERS_FIRST_ID + offset, 5, 2, reasons, rng, now)
    ProgramIntent.objects.bulk_create(intents, batch_size=2_000, ignore_conflicts=True)
    current_intents_rebuild()  # what the migration does for intents stored before it
    with connection.cursor() as cursor:
        # What an operator's database would have; without it the planner guesses row counts.
        if connection.vendor == "mysql":
            cursor.execute("ANALYZE TABLE intents_programintent, intents_currentintent")
            cursor.fetchall()
        else:
            cursor.execute("ANALYZE")
    connection.close()


def check_query(lms_user_id: int, repeat: int = 20) -> dict:
    """The selection for one learner: query count, SQL, plan, and in-process timings."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from pie.apps.intents.api.v1.serializers import best_intents_representation
    from pie.apps.intents.selectors import intents_most_recent_and_certain

    with CaptureQueriesContext(connection) as captured:
        rows = best_intents_representation(intents_most_recent_and_certain(lms_user_id=lms_user_id))
    sql = captured.captured_queries[0]["sql"] if captured.captured_queries else ""
    plan = ""
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}")
            plan = format_plan(cursor.fetchall())

    def sql_only():
        with connection.cursor() as cursor:
            cursor.execute(sql)
            cursor.fetchall()

    def selector():
        intents_most_recent_and_certain(lms_user_id=lms_user_id)

    def selector_and_representation():
        best_intents_representation(intents_most_recent_and_certain(lms_user_id=lms_user_id))

    timings = {}
    for name, work in (
        ("sql", sql_only),
        ("selector", selector),
        ("selector+representation", selector_and_representation),
    ):
        samples = []
        for _ in range(repeat):
            started = time.perf_counter()
            work()
            samples.append((time.perf_counter() - started) * 1000)
        timings[name] = statistics.median(samples)
    connection.close()
    return {
        "queries": len(captured.captured_queries),
        "rows": len(rows),
        "sql": sql,
        "plan": plan,
        "timings": timings,
    }


def profile_in_process(targets: list[dict], requests: int, top: int = 40) -> None:
    """
    Where the time goes: each GET target called ``requests`` times through Django's WSGI
    handler in this process (the stack gunicorn calls, without the socket), under cProfile.
    Prints the unprofiled median and the functions with the most cumulative time.
    """
    import cProfile
    import io
    import pstats

    from django.core.handlers.wsgi import WSGIHandler
    from django.db import connection

    application = WSGIHandler()

    def call(target):
        environ = {
            "REQUEST_METHOD": "GET",
            "PATH_INFO": target["path"],
            "QUERY_STRING": "",
            "SERVER_NAME": HOST,
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "wsgi.input": io.BytesIO(),
            "wsgi.url_scheme": "http",
            "wsgi.errors": sys.stderr,
        }
        if target.get("token"):
            environ["HTTP_AUTHORIZATION"] = f"JWT {target['token']}"
        statuses = []
        body = b"".join(application(environ, lambda status, headers: statuses.append(status)))
        if not statuses[0].startswith("200"):
            raise SystemExit(f"{target['name']}: {statuses[0]}: {body[:300]!r}")

    for target in targets:
        if target.get("body"):
            continue
        for _ in range(20):
            call(target)
        samples = []
        for _ in range(requests):
            started = time.perf_counter()
            call(target)
            samples.append((time.perf_counter() - started) * 1000)
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(requests):
            call(target)
        profiler.disable()
        report = io.StringIO()
        stats = pstats.Stats(profiler, stream=report)
        stats.sort_stats("cumulative").print_stats(top)
        stats.sort_stats("tottime").print_stats(top // 2)
        print(
            f"\nProfile, in process: {target['label']}, unprofiled median "
            f"{statistics.median(samples):.2f} ms over {requests} requests"
        )
        site_packages = str(Path(django_path()).parent)
        for line in report.getvalue().splitlines():
            if line.strip() and not line.lstrip().startswith(("Ordered by", "List reduced")):
                print(line.replace(site_packages + "/", "").replace(str(REPO) + "/", "")[:150])
    connection.close()


def django_path() -> str:
    import django

    return django.__path__[0]


def format_plan(rows) -> str:
    """SQLite's EXPLAIN QUERY PLAN rows (id, parent, notused, detail) as an indented tree."""
    depth = {0: -1}
    lines = []
    for node, parent, _, detail in rows:
        depth[node] = depth.get(parent, -1) + 1
        lines.append("  " * depth[node] + detail)
    return "\n".join(lines)


def database_vendor() -> str:
    from django.db import connection

    return {"sqlite": "SQLite", "postgresql": "PostgreSQL", "mysql": "MySQL/MariaDB"}[
        connection.vendor
    ]


def learner_row_counts() -> dict:
    from django.db import connection
    from django.db.models import Count

    from pie.apps.intents.models import ProgramIntent

    counts = dict(
        ProgramIntent.objects.values_list("lms_user_id")
        .filter(lms_user_id__in=[learner for learner, _, _ in LEARNERS])
        .annotate(n=Count("id"))
        .order_by()
    )
    total = ProgramIntent.objects.count()
    connection.close()
    return {"per_learner": counts, "total": total}


# --- gunicorn ----------------------------------------------------------------------------


def free_port() -> int:
    """PIE_BENCH_PORT when set (machines whose engineers share port ranges), else any free port."""
    if os.environ.get("PIE_BENCH_PORT"):
        return int(os.environ["PIE_BENCH_PORT"])
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def start_gunicorn(environment: dict, port: int, workers: int, log_path: Path):
    gunicorn = Path(sys.executable).parent / "gunicorn"
    if not gunicorn.exists():
        raise SystemExit(f"gunicorn not found next to {sys.executable}; run with .venv/bin/python")
    environment = {
        **environment,
        "GUNICORN_BIND": f"{HOST}:{port}",
        "GUNICORN_WORKERS": str(workers),
    }
    log = open(log_path, "wb")  # closed by stop_gunicorn
    process = subprocess.Popen(
        [str(gunicorn), "-c", "gunicorn.conf.py", "pie.wsgi:application"],
        cwd=REPO,
        env=environment,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    process.log = log
    return process


def stop_gunicorn(process) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)  # gunicorn's graceful shutdown stops its workers
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # the session started for this gunicorn
            process.wait(timeout=5)
    process.log.close()


def wait_until_ready(process, port: int, log_path: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited ({process.returncode}):\n{log_path.read_text()}")
        try:
            status, _, _ = request(port, HEALTH_URL)
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"gunicorn did not answer /health/ in {timeout}s:\n{log_path.read_text()}")


# --- client ------------------------------------------------------------------------------


def request(port: int, path: str, token: str | None = None, body: dict | None = None):
    """
    One GET (or, with a body, POST) on a new connection (gunicorn's sync workers close it
    after each response).
    """
    headers = {"Authorization": f"JWT {token}"} if token else {}
    payload = None
    if body is not None:
        headers["Content-Type"] = "application/json"
        payload = json.dumps(body)
    connection = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        started = time.perf_counter()
        connection.request("GET" if body is None else "POST", path, body=payload, headers=headers)
        response = connection.getresponse()
        body = response.read()
        elapsed = time.perf_counter() - started
    finally:
        connection.close()
    return response.status, body, elapsed


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def measure(port: int, targets: list[dict], args) -> None:
    """Interleave the targets request by request so drift hits them all alike."""

    def one(target):
        make_body = target.get("body")
        status, body, elapsed = request(
            port, target["path"], target.get("token"), make_body() if make_body else None
        )
        if status != target.get("status", 200):
            raise SystemExit(f"{target['name']}: HTTP {status}: {body[:300]!r}")
        if "programs" in target and len(json.loads(body)) != target["programs"]:
            raise SystemExit(f"{target['name']}: expected {target['programs']} rows")
        return elapsed * 1000

    for _ in range(args.warmup):
        for target in targets:
            one(target)
    for round_number in range(args.rounds):
        for target in targets:
            target.setdefault("samples", []).append([])
        order = list(targets)
        for position in range(args.requests):
            # Rotate the order so no target always follows the same one.
            shift = (position + round_number) % len(order)
            for target in order[shift:] + order[:shift]:
                target["samples"][-1].append(one(target))


# --- report ------------------------------------------------------------------------------


def print_table(targets: list[dict]) -> None:
    health = next(target for target in targets if target["name"] == "health")
    health_median = statistics.median(sample for r in health["samples"] for sample in r)
    header = (
        f"{'endpoint':<28}{'rows':>6}{'median ms':>11}{'p90 ms':>9}{'req/s':>9}"
        f"{'ratio':>8}   round medians ms"
    )
    print(header)
    print("-" * len(header))
    for target in targets:
        samples = [sample for r in target["samples"] for sample in r]
        median = statistics.median(samples)
        round_medians = " ".join(f"{statistics.median(r):.2f}" for r in target["samples"])
        print(
            f"{target['label']:<28}{target.get('programs', '-')!s:>6}{median:>11.2f}"
            f"{percentile(samples, 0.9):>9.2f}{1000 / statistics.fmean(samples):>9.0f}"
            f"{health_median / median:>8.2f}   {round_medians}"
        )


def print_query_check(lms_user_id: int, result: dict, show_sql: bool) -> None:
    print(f"\nSelection for learner {lms_user_id} (in process, same database):")
    print(f"  SQL queries: {result['queries']}   rows: {result['rows']}")
    if show_sql:
        print(f"  SQL: {result['sql']}")
    if result["plan"]:
        print("  EXPLAIN QUERY PLAN:")
    for line in result["plan"].splitlines():
        print(f"    {line}")
    timings = "   ".join(f"{name} {ms:.2f} ms" for name, ms in result["timings"].items())
    print(f"  medians of 20: {timings}")


def print_targets_ratios(targets: list[dict]) -> None:
    """The issue's ratios, from this run's medians."""
    medians = {
        target["name"]: statistics.median(sample for r in target["samples"] for sample in r)
        for target in targets
    }
    small, large = LEARNERS[0][0], LEARNERS[-1][0]
    print(
        f"\nlatency({LEARNERS[-1][1]:,} intents) / latency({LEARNERS[0][1]:,} intents), both over "
        f"{LEARNERS[0][2]} programs: "
        f"{medians[f'learner{large}'] / medians[f'learner{small}']:.2f} (target <= 2)"
    )


def main() -> int:
    args = parse_args()
    # Interrupted or terminated, the script still runs the finally block that stops gunicorn.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for signal_number in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signal_number, lambda number, _: sys.exit(128 + number))
    workdir = Path(tempfile.mkdtemp(prefix="pie-bench-"))
    database_url = args.database or f"sqlite:///{workdir / 'bench.sqlite3'}"
    log_path = workdir / "gunicorn.log"
    process = None
    try:
        environment = bench_environment(database_url)
        for name in set(os.environ) - set(environment):
            del os.environ[name]
        os.environ.update(environment)
        sys.path.insert(0, str(REPO))
        os.chdir(REPO)

        started = time.perf_counter()
        setup_database(args.other_learners)
        counts = learner_row_counts()
        print("PIE learner API latency")
        for name, value in machine_info():
            print(f"  {name:<9} {value}")
        print(
            f"  data      {counts['total']:,} intents in {database_vendor()}, seeded in "
            f"{time.perf_counter() - started:.1f}s"
        )
        for learner, _, programs in LEARNERS:
            intents = counts["per_learner"].get(learner, 0)
            print(f"            learner {learner}: {intents:,} intents over {programs} programs")
        print(f"            {args.other_learners:,} other learners: 5 intents each over 2 programs")
        print(
            f"  server    gunicorn, {args.workers} sync worker(s), pie.settings.local, "
            f"DEBUG=false, {database_vendor()}, CONN_MAX_AGE=0"
        )
        print(
            f"  client    1 connection per request, warm-up {args.warmup}, "
            f"{args.rounds} rounds x {args.requests} requests per endpoint, interleaved"
        )

        largest = LEARNERS[-1][0]
        print_query_check(largest, check_query(largest), args.show_sql)

        from pie.apps.core.dev_tokens import create_dev_token

        targets = [{"name": "health", "label": "GET /health/", "path": HEALTH_URL}]
        for learner, count, programs in LEARNERS:
            targets.append(
                {
                    "name": f"learner{learner}",
                    "label": f"most_recent ({count:,} intents)",
                    "path": URL,
                    "token": create_dev_token(lms_user_id=learner, lifetime_seconds=6 * 3600),
                    "programs": programs,
                }
            )

        posted = iter(range(10**9))
        targets.append(
            {
                "name": "post",
                "label": "POST a new intent",
                "path": "/api/v1/program_intents/",
                "token": create_dev_token(lms_user_id=POSTING_LEARNER, lifetime_seconds=6 * 3600),
                "status": 201,
                "body": lambda: {
                    "program_uuid": str(uuid.UUID(int=next(posted) % 50 + 1)),
                    "reason": "BUNDLE_PURCHASE",
                    "certainty": "MAYBE",
                    "effective_timestamp": (
                        datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)
                        + datetime.timedelta(seconds=next(posted))
                    ).isoformat(),
                },
            }
        )

        if args.profile:
            profile_in_process(targets, args.profile)

        port = free_port()
        process = start_gunicorn(environment, port, args.workers, log_path)
        wait_until_ready(process, port, log_path)
        started = time.perf_counter()
        measure(port, targets, args)
        print(
            f"\nHTTP on {HOST}:{port} ({time.perf_counter() - started:.0f}s, "
            f"load afterwards {load_average()}):"
        )
        print_table(targets)
        print_targets_ratios(targets)
        return 0
    finally:
        if process is not None:
            stop_gunicorn(process)
        if args.keep:
            print(f"\nKept {workdir} (bench.sqlite3, gunicorn.log)")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

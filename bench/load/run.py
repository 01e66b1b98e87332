#!/usr/bin/env python3
"""
Load benchmark: PIE under gunicorn with production settings, driven by wrk on loopback.

    .venv/bin/python bench/load/run.py                       # SQLite file in a temp directory
    .venv/bin/python bench/load/run.py --database postgres://postgres@127.0.0.1:5432/pie_load
    .venv/bin/python bench/load/run.py --database mysql://root@127.0.0.1:3306/pie_load

Needs wrk on PATH (Debian/Ubuntu: ``apt-get install wrk``); installs nothing itself.

What it does, contacting nothing but 127.0.0.1 (and the PostgreSQL or MariaDB server named
by --database):

1. Writes a temporary PIE_CFG YAML for ``pie.settings.production``: a random 64-character
   SECRET_KEY, one JWT issuer with a random 48-character secret, ALLOWED_HOSTS 127.0.0.1 and
   localhost, SECURE_SSL_REDIRECT false (there is no TLS proxy on loopback), DATABASE_URL and
   CONN_MAX_AGE.
2. Creates the database (a SQLite file in the temporary directory, or the named PostgreSQL
   database, which must not exist: it is created here and dropped at the end), migrates it,
   and seeds --learners learners with 1 to 5 intents each through ``bulk_insert_intents``.
3. Signs JWTs for a random sample of the learners with PyJWT and writes them, each with one
   of the learner's stored intents, to the file bench/load/pie.lua reads.
4. Starts gunicorn (gunicorn.conf.py, --workers sync workers), visits PIE once as each
   sampled learner (the first visit creates PIE's user row: the scenarios measure returning
   learners), and runs wrk for --duration seconds per scenario on the same server: GET
   /health/ alone (the framework floor), GET most_recent_and_certain alone, and the mix (90%
   GET most_recent_and_certain, 9% POST of a new intent, 1% POST of a duplicate, which must
   be a 400).
5. Prints throughput, p50/p90/p99 latency, gunicorn's CPU time per request and the HTTP
   statuses of each scenario, and the ratio of most_recent_and_certain's throughput to
   /health/'s (the issue aims for >= 0.5).

It passes (exit 0) when no response is a 5xx and every status is the expected one. gunicorn
is stopped, the scratch database dropped and the temporary directory deleted in every
case, also on Ctrl-C (--keep keeps the directory: config, CSV, tokens, gunicorn's log).
"""

import argparse
import csv
import datetime
import json
import os
import random
import re
import secrets
import shutil
import signal
import string
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import jwt

LOAD_DIR = Path(__file__).resolve().parent
REPO = LOAD_DIR.parent.parent
sys.path.insert(0, str(REPO / "bench"))

from api_latency import (  # noqa: E402
    free_port,
    load_average,
    machine_info,
    start_gunicorn,
    stop_gunicorn,
    wait_until_ready,
)
from generate_intents_csv import REASONS, SPAN_SECONDS, START  # noqa: E402

HOST = "127.0.0.1"
LUA_SCRIPT = LOAD_DIR / "pie.lua"
RECENT_PATH = "/api/v1/program_intents/most_recent_and_certain/"
CREATE_PATH = "/api/v1/program_intents/"
ISSUER = "http://127.0.0.1/pie-load/oauth2"
AUDIENCE = "pie-load"
RATIO_TARGET = 0.5
ANALYZE = (
    "from django.db import connection; cursor = connection.cursor(); cursor.execute("
    "'ANALYZE TABLE intents_programintent, intents_currentintent, core_user' "
    "if connection.vendor == 'mysql' else 'ANALYZE'); cursor.fetchall() "
    "if connection.vendor == 'mysql' else None"
)
# Settings a caller's environment could set that would override the generated PIE_CFG file.
SCRUBBED_ENVIRONMENT = (
    "ALLOWED_HOSTS",
    "CONN_MAX_AGE",
    "DATABASE_URL",
    "DEBUG",
    "DJANGO_SETTINGS_MODULE",
    "JWT_ISSUERS",
    "JWT_PUBLIC_SIGNING_JWK_SET",
    "LOG_LEVEL",
    "PIE_CFG",
    "SECRET_KEY",
    "STATIC_ROOT",
)
# scenario name, wrk mode in pie.lua, expected statuses, label
SCENARIOS = [
    ("health", "health", {200}, "GET /health/"),
    ("recent", "recent", {200}, "GET most_recent_and_certain"),
    ("mix", "mix", {200, 201, 400}, "mix 90% GET / 9% POST / 1% dup"),
]


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].strip())
    parser.add_argument(
        "--database",
        default="sqlite",
        help="'sqlite' (a file in the temporary directory, the default) or a scratch "
        "postgres:// or mysql://USER[:PASSWORD]@HOST:PORT/NAME that does not exist yet",
    )
    parser.add_argument("--learners", type=int, default=100_000, help="default 100000")
    parser.add_argument("--duration", type=int, default=20, help="seconds per scenario (20)")
    parser.add_argument(
        "--workers",
        type=int,
        default=int(os.environ.get("GUNICORN_WORKERS") or 3),
        help="gunicorn sync workers (default GUNICORN_WORKERS or 3)",
    )
    parser.add_argument("--connections", type=int, default=8, help="wrk connections (8)")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (1)")
    parser.add_argument(
        "--conn-max-age",
        type=int,
        default=60,
        help="CONN_MAX_AGE in seconds (default 60, as in docs/operations.rst's example)",
    )
    parser.add_argument("--tokens", type=int, default=2_000, help="learners with a JWT (2000)")
    parser.add_argument("--seed", type=int, default=20240501, help="data seed")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of warm-up (3)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()
    for name in ("learners", "duration", "workers", "connections", "threads", "tokens"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")
    if args.tokens > args.learners:
        parser.error("--tokens cannot exceed --learners")
    if args.database != "sqlite" and not re.match(r"^(postgres(ql)?|mysql)://", args.database):
        parser.error("--database must be 'sqlite' or a postgres:// or mysql:// URL")
    return args


def random_secret(length: int) -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(length))


# --- databases ---------------------------------------------------------------------------


class ScratchPostgres:
    """A PostgreSQL database created for the run and dropped (with its sessions) after it."""

    def __init__(self, url: str):
        import dj_database_url

        self.url = url
        parts = dj_database_url.parse(url)
        self.name = parts["NAME"]
        if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", self.name or ""):
            raise SystemExit(f"--database: use a plain lower-case name, not {self.name!r}")
        self.server = {
            "host": parts["HOST"] or HOST,
            "port": parts["PORT"] or 5432,
            "user": parts["USER"] or None,
            "password": parts["PASSWORD"] or None,
            "dbname": "postgres",
        }
        self.created = False

    def connect(self):
        try:
            import psycopg
        except ImportError:
            raise SystemExit("psycopg is missing: make requirements-postgres") from None
        return psycopg.connect(**self.server, autocommit=True, connect_timeout=10)

    def create(self) -> None:
        with self.connect() as connection:
            exists = connection.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", [self.name]
            ).fetchone()
            if exists:
                raise SystemExit(
                    f"The database {self.name} exists. This script creates and drops its own "
                    "scratch database: name another, or drop it first."
                )
            connection.execute(f'CREATE DATABASE "{self.name}"')
            self.created = True

    def version(self) -> str:
        with self.connect() as connection:
            return connection.execute("SHOW server_version").fetchone()[0]

    def drop(self) -> None:
        if self.created:
            with self.connect() as connection:
                connection.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
            self.created = False


class ScratchMariaDB:
    """A MySQL/MariaDB database created for the run (utf8mb4) and dropped after it."""

    def __init__(self, url: str):
        import dj_database_url

        parts = dj_database_url.parse(url)
        self.name = parts["NAME"]
        if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", self.name or ""):
            raise SystemExit(f"--database: use a plain lower-case name, not {self.name!r}")
        self.server = {
            "host": parts["HOST"] or HOST,
            "port": int(parts["PORT"] or 3306),
            "user": parts["USER"] or "root",
            "password": parts["PASSWORD"] or "",
        }
        self.created = False

    def execute(self, sql: str, parameters=()) -> list:
        try:
            import MySQLdb
        except ImportError:
            raise SystemExit("mysqlclient is missing: make requirements-mysql") from None
        connection = MySQLdb.connect(**self.server, connect_timeout=10)
        try:
            cursor = connection.cursor()
            cursor.execute(sql, parameters)
            return list(cursor.fetchall())
        finally:
            connection.close()

    def create(self) -> None:
        if self.execute("SHOW DATABASES LIKE %s", [self.name]):
            raise SystemExit(
                f"The database {self.name} exists. This script creates and drops its own "
                "scratch database: name another, or drop it first."
            )
        self.execute(f"CREATE DATABASE `{self.name}` CHARACTER SET utf8mb4")
        self.created = True

    def version(self) -> str:
        return self.execute("SELECT VERSION()")[0][0]

    def drop(self) -> None:
        if self.created:
            self.execute(f"DROP DATABASE IF EXISTS `{self.name}`")
            self.created = False


def write_config(workdir: Path, database_url: str, conn_max_age: int) -> tuple[Path, dict]:
    import yaml

    issuer = {"ISSUER": ISSUER, "AUDIENCE": AUDIENCE, "SECRET_KEY": random_secret(48)}
    config = {
        "SECRET_KEY": random_secret(64),
        "ALLOWED_HOSTS": ["127.0.0.1", "localhost"],
        "SECURE_SSL_REDIRECT": False,
        "DATABASE_URL": database_url,
        "CONN_MAX_AGE": conn_max_age,
        "JWT_AUTH": {"JWT_ISSUERS": [issuer]},
    }
    path = workdir / "pie.yml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    path.chmod(0o600)
    return path, issuer


def server_environment(config_path: Path) -> dict:
    environment = {
        name: value
        for name, value in os.environ.items()
        if name not in SCRUBBED_ENVIRONMENT and not name.startswith("GUNICORN_")
    }
    environment.update(
        DJANGO_SETTINGS_MODULE="pie.settings.production",
        PIE_CFG=str(config_path),
        PYTHONDONTWRITEBYTECODE="1",
    )
    return environment


def manage(environment: dict, *arguments: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *arguments],
        cwd=REPO,
        env=environment,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise SystemExit(
            f"manage.py {' '.join(arguments)} failed ({result.returncode}):\n"
            f"{result.stdout}{result.stderr}"
        )
    return result.stdout


# --- data --------------------------------------------------------------------------------


def write_intents_csv(path: Path, learners: int, seed: int, sample: set[int]) -> tuple[int, dict]:
    """
    Learners 1..N with 1 to 5 intents each for 1 to 3 programs of a catalogue of 500, with
    the reasons, certainties and warehouse timestamp form of bench/generate_intents_csv.py.
    Returns the row count and, for each sampled learner, one of its intents as an API body.
    """
    import uuid

    rng = random.Random(seed)
    programs = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(500)]
    weights = [weight for _, _, weight in REASONS]
    stored = {}
    rows = 0
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["program_uuid", "user_id", "intent_reason", "intent_certainty", "effective_time"]
        )
        for lms_user_id in range(1, learners + 1):
            learner_programs = rng.sample(programs, rng.randint(1, 3))
            for _ in range(rng.randint(1, 5)):
                program = rng.choice(learner_programs)
                reason, certainty, _ = rng.choices(REASONS, weights)[0]
                if rng.random() < 0.05:
                    certainty = "CERTAIN_NO"
                when = START + datetime.timedelta(
                    seconds=rng.randrange(SPAN_SECONDS), microseconds=rng.randrange(1000) * 1000
                )
                effective = (
                    when.strftime("%Y-%m-%d %H:%M:%S.") + f"{when.microsecond // 1000:03d} Z"
                )
                writer.writerow([program, lms_user_id, reason, certainty, effective])
                rows += 1
                if lms_user_id in sample and lms_user_id not in stored:
                    stored[lms_user_id] = {
                        "program_uuid": program,
                        "reason": reason,
                        "certainty": certainty,
                        "effective_timestamp": when.isoformat(timespec="milliseconds").replace(
                            "+00:00", "Z"
                        ),
                    }
    return rows, stored


def write_tokens(path: Path, issuer: dict, stored: dict, lifetime: int) -> None:
    """One line per sampled learner: an HS256 JWT shaped like the LMS's, a stored intent."""
    now = int(time.time())
    with open(path, "w", encoding="utf-8") as handle:
        for lms_user_id, intent in stored.items():
            claims = {
                "iss": issuer["ISSUER"],
                "aud": issuer["AUDIENCE"],
                "iat": now,
                "exp": now + lifetime,
                "user_id": lms_user_id,
                "preferred_username": f"learner{lms_user_id}",
                "email": f"learner{lms_user_id}@example.com",
                "administrator": False,
                "version": "1.2.0",
                "scopes": ["read", "write", "email", "profile"],
            }
            token = jwt.encode(claims, issuer["SECRET_KEY"], algorithm="HS256")
            handle.write(f"{token}\t{json.dumps(intent)}\n")


# --- HTTP checks and wrk -----------------------------------------------------------------


def http(port: int, method: str, path: str, token: str | None = None, body=None):
    import http.client

    headers = {"Authorization": f"JWT {token}"} if token else {}
    payload = None
    if body is not None:
        headers["Content-Type"] = "application/json"
        payload = json.dumps(body)
    connection = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        connection.request(method, path, body=payload, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def sanity_check(port: int, tokens_path: Path) -> None:
    """Before timing anything: the endpoints answer what the scenarios expect."""
    token, duplicate = tokens_path.read_text(encoding="utf-8").splitlines()[0].split("\t")
    expectations = [
        (("GET", RECENT_PATH, token, None), 200),
        (("POST", CREATE_PATH, token, json.loads(duplicate)), 400),
        (("GET", RECENT_PATH, "not-a-token", None), 401),
    ]
    for (method, path, bearer, body), expected in expectations:
        status, content = http(port, method, path, bearer, body)
        if status != expected:
            raise SystemExit(f"{method} {path}: expected {expected}, got {status}: {content[:300]}")


def wrk_version() -> str:
    result = subprocess.run(["wrk", "-v"], capture_output=True, text=True)
    return (result.stdout or result.stderr).splitlines()[0].split(" Copyright")[0]


def first_visits(port: int, tokens_path: Path) -> float:
    """
    One GET per sampled learner before timing anything: a learner's first request creates
    PIE's user row (an INSERT and two UPDATEs); the scenarios measure returning learners.
    """
    from concurrent.futures import ThreadPoolExecutor

    tokens = [line.split("\t")[0] for line in tokens_path.read_text().splitlines()]
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=4) as pool:
        for status, content in pool.map(
            lambda token: http(port, "GET", RECENT_PATH, token), tokens
        ):
            if status != 200:
                raise SystemExit(f"first visit: expected 200, got {status}: {content[:300]}")
    return time.perf_counter() - started


def server_cpu_seconds(master_pid: int) -> float:
    """
    CPU time used so far by gunicorn: the master, its live workers and the workers it has
    reaped (recycled after GUNICORN_MAX_REQUESTS). Divided by a scenario's requests it gives
    the server's CPU per request, which other work on the machine disturbs far less than
    the request rate.
    """

    def stat(pid) -> list[str]:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            text = handle.read()
        return text[text.rindex(")") + 2 :].split()  # fields from the 3rd (state) on

    def cpu(fields, *indexes) -> int:
        return sum(int(fields[index]) for index in indexes)

    master = stat(master_pid)
    ticks = cpu(master, 11, 12, 13, 14)  # utime, stime, cutime, cstime
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = stat(entry)
            except OSError:
                continue  # exited meanwhile
            if fields[1] == str(master_pid):  # ppid
                ticks += cpu(fields, 11, 12)
    return ticks / os.sysconf("SC_CLK_TCK")


def run_wrk(port: int, mode: str, seconds: int, args, tokens_path: Path, server=None) -> dict:
    cpu_before = server_cpu_seconds(server.pid) if server else None
    command = [
        "wrk",
        f"--threads={args.threads}",
        f"--connections={args.connections}",
        f"--duration={seconds}s",
        "--timeout=10s",
        f"--script={LUA_SCRIPT}",
        f"http://{HOST}:{port}",
        "--",
        mode,
        str(tokens_path),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    match = re.search(r"^PIE_RESULT (.*)$", result.stdout, re.MULTILINE)
    if result.returncode != 0 or not match:
        raise SystemExit(f"wrk failed ({result.returncode}):\n{result.stdout}{result.stderr}")
    outcome = json.loads(match.group(1))
    outcome["statuses"] = {int(status): count for status, count in outcome["statuses"].items()}
    outcome["rate"] = outcome["requests"] / (outcome["duration_us"] / 1e6)
    if server:
        cpu = server_cpu_seconds(server.pid) - cpu_before
        outcome["cpu_ms"] = 1000 * cpu / max(outcome["requests"], 1)
        outcome["cpu_share"] = cpu / (outcome["duration_us"] / 1e6)
    return outcome


# --- report ------------------------------------------------------------------------------


def print_results(results: dict) -> bool:
    header = (
        f"{'scenario':<32}{'requests':>9}{'req/s':>8}{'p50 ms':>8}{'p90 ms':>8}{'p99 ms':>8}"
        f"{'max ms':>8}{'cpu ms':>8}   statuses"
    )
    print(header)
    print("-" * len(header))
    passed = True
    for name, _, expected, label in SCENARIOS:
        outcome = results[name]
        latency = outcome["latency_us"]
        statuses = " ".join(f"{code}:{n}" for code, n in sorted(outcome["statuses"].items()))
        print(
            f"{label:<32}{outcome['requests']:>9,}{outcome['rate']:>8.0f}"
            f"{latency['p50'] / 1000:>8.1f}{latency['p90'] / 1000:>8.1f}"
            f"{latency['p99'] / 1000:>8.1f}{latency['max'] / 1000:>8.1f}"
            f"{outcome['cpu_ms']:>8.2f}   {statuses}"
        )
        server_errors = sum(n for code, n in outcome["statuses"].items() if code >= 500)
        unexpected = sum(n for code, n in outcome["statuses"].items() if code not in expected)
        socket_errors = sum(outcome["socket_errors"].values())
        outcome.update(server_errors=server_errors, unexpected=unexpected)
        if server_errors or unexpected or socket_errors:
            passed = False
    print()
    for name, _, expected, label in SCENARIOS:
        outcome = results[name]
        non_2xx = sum(n for code, n in outcome["statuses"].items() if not 200 <= code < 300)
        socket = ", ".join(f"{kind} {n}" for kind, n in outcome["socket_errors"].items())
        print(
            f"{label}: non-2xx {non_2xx:,} (400 {outcome['statuses'].get(400, 0):,}), "
            f"5xx {outcome['server_errors']:,}, unexpected statuses {outcome['unexpected']:,} "
            f"(expected {'/'.join(map(str, sorted(expected)))}), socket errors: {socket}"
        )
    mix = results["mix"]
    if mix["requests"]:
        shares = {code: 100 * n / mix["requests"] for code, n in mix["statuses"].items()}
        print(
            "mix by status: "
            + ", ".join(f"{code} {share:.1f}%" for code, share in sorted(shares.items()))
            + " (aimed at 200 90%, 201 9%, 400 1%)"
        )
    recent, health = results["recent"], results["health"]
    ratio = recent["rate"] / health["rate"]
    print(
        f"\nratio most_recent_and_certain / health: {recent['rate']:.0f} / "
        f"{health['rate']:.0f} req/s = {ratio:.2f} (aim >= {RATIO_TARGET})"
    )
    print(
        f"server CPU per request: health {health['cpu_ms']:.2f} ms, most_recent_and_certain "
        f"{recent['cpu_ms']:.2f} ms, ratio {health['cpu_ms'] / recent['cpu_ms']:.2f}; gunicorn "
        f"used {health['cpu_share']:.2f} and {recent['cpu_share']:.2f} CPUs of {os.cpu_count()}"
    )
    total_5xx = sum(results[name]["server_errors"] for name, *_ in SCENARIOS)
    print(f"zero 5xx: {'yes' if total_5xx == 0 else f'NO ({total_5xx})'}")
    print(f"result: {'PASS' if passed else 'FAIL'}")
    return passed


def count_log_errors(log_path: Path) -> int:
    text = log_path.read_text(encoding="utf-8", errors="replace")
    return len(re.findall(r'"level": "(?:ERROR|CRITICAL)"|\[ERROR\]|Traceback', text))


def main() -> int:
    args = parse_args()
    if shutil.which("wrk") is None:
        print("wrk is not installed. On Debian/Ubuntu: apt-get install wrk", file=sys.stderr)
        return 2
    # Interrupted or terminated, the script still runs the finally block.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for signal_number in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signal_number, lambda number, _: sys.exit(128 + number))
    workdir = Path(tempfile.mkdtemp(prefix="pie-load-"))
    log_path = workdir / "gunicorn.log"
    scratch_database = None
    process = None
    try:
        if args.database == "sqlite":
            database_url = f"sqlite:///{workdir / 'load.sqlite3'}"
            database_label = "SQLite file"
        else:
            mysql = args.database.startswith("mysql://")
            scratch_database = (ScratchMariaDB if mysql else ScratchPostgres)(args.database)
            scratch_database.create()
            database_url = args.database
            vendor = "MySQL/MariaDB" if mysql else "PostgreSQL"
            database_label = (
                f"{vendor} {scratch_database.version()}, database {scratch_database.name}"
            )
        config_path, issuer = write_config(workdir, database_url, args.conn_max_age)
        environment = server_environment(config_path)

        started = time.perf_counter()
        manage(environment, "migrate", "--noinput")
        sample = set(random.Random(args.seed + 1).sample(range(1, args.learners + 1), args.tokens))
        csv_path = workdir / "intents.csv"
        rows, stored = write_intents_csv(csv_path, args.learners, args.seed, sample)
        imported = manage(environment, "bulk_insert_intents", str(csv_path), "--quiet").strip()
        # What an operator's database would have after a large import.
        manage(environment, "shell", "-c", ANALYZE)
        seeded = time.perf_counter() - started
        tokens_path = workdir / "tokens.tsv"
        scenario_seconds = args.warmup + args.duration * len(SCENARIOS)
        write_tokens(tokens_path, issuer, stored, lifetime=scenario_seconds + 3600)

        print("PIE load benchmark")
        for name, value in machine_info():
            print(f"  {name:<9} {value}")
        print(f"  wrk       {wrk_version()}")
        print(
            f"  data      {database_label}: {args.learners:,} learners, 1-5 intents each, "
            f"{rows:,} CSV rows, 1-3 of 500 programs each (seed {args.seed}), "
            f"seeded in {seeded:.0f}s"
        )
        print(f"            bulk_insert_intents: {imported}")
        print(
            f"  server    gunicorn {args.workers} sync workers, pie.settings.production "
            f"(PIE_CFG), DEBUG false, CONN_MAX_AGE {args.conn_max_age}, JSON request log at INFO"
        )
        print(
            f"  client    wrk {args.threads} thread(s), {args.connections} connections, "
            f"{args.duration}s per scenario after {args.warmup}s warm-up, JWTs for "
            f"{len(stored):,} learners picked at random per request"
        )

        port = free_port()
        process = start_gunicorn(environment, port, args.workers, log_path)
        wait_until_ready(process, port, log_path)
        sanity_check(port, tokens_path)
        visits = first_visits(port, tokens_path)
        print(f"  first visits of the {len(stored):,} learners (user rows created): {visits:.0f}s")
        if args.warmup:
            run_wrk(port, "recent", args.warmup, args, tokens_path)

        results = {}
        print()
        for name, mode, _, label in SCENARIOS:
            results[name] = run_wrk(port, mode, args.duration, args, tokens_path, process)
            print(f"  {label:<32} done, load average {load_average()}")
        print()
        passed = print_results(results)
        print(f"server log: {count_log_errors(log_path)} error line(s)")
        return 0 if passed else 1
    finally:
        if process is not None:
            stop_gunicorn(process)
        if scratch_database is not None:
            scratch_database.drop()
        if args.keep:
            print(f"\nKept {workdir} (pie.yml, intents.csv, tokens.tsv, gunicorn.log)")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

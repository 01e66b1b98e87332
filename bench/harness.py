"""
What every benchmark shares: the machine's description, a scratch database, seeding through
the import, gunicorn with production settings, learner and staff tokens, and timing against
GET /health/. Nothing here contacts anything but 127.0.0.1 and the database named by a URL.
"""

import contextlib
import csv
import json
import logging
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
HEALTH = "/health/"
CSV_HEADER = ["program_uuid", "user_id", "intent_reason", "intent_certainty", "effective_time"]
ISSUER = {"ISSUER": "http://127.0.0.1/pie-bench/oauth2", "AUDIENCE": "pie-bench"}
# Settings a caller's environment could set that would override the bench's own.
SCRUBBED = ("ALLOWED_HOSTS", "CONN_MAX_AGE", "DATABASE_URL", "DEBUG", "DJANGO_SETTINGS_MODULE")
SCRUBBED += ("JWT_ISSUERS", "JWT_PUBLIC_SIGNING_JWK_SET", "LOG_LEVEL", "PIE_CFG", "SECRET_KEY")


# --- machine -----------------------------------------------------------------------------


def load_average() -> str:
    """Other work on the machine skews every figure; the load average shows it."""
    return " ".join(f"{value:.2f}" for value in os.getloadavg()) + " (1, 5, 15 min)"


def print_machine(title: str) -> None:
    import django
    import gunicorn

    cpu = platform.processor() or "?"
    with contextlib.suppress(OSError), open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
        cpu = next((line.split(":", 1)[1].strip() for line in cpuinfo if "model name" in line), cpu)
    print(title)
    for name, value in (
        ("nproc", len(os.sched_getaffinity(0))),
        ("cpu", cpu),
        ("os", f"{platform.system()} {platform.release()} {platform.machine()}"),
        ("python", platform.python_version()),
        ("django", django.get_version()),
        ("gunicorn", gunicorn.__version__),
        ("sqlite", sqlite3.sqlite_version),
        ("load", load_average()),
    ):
        print(f"  {name:<9} {value}")


def add_scratch_arguments(parser) -> None:
    parser.add_argument(
        "--database",
        help="postgres:// or mysql:// URL of a database to create "
        "and drop (default: a SQLite file)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")


def exit_cleanly_on_signals() -> None:
    """Interrupted or terminated, a benchmark still runs its finally blocks."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for number in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(number, lambda received, _: sys.exit(128 + received))


# --- scratch database --------------------------------------------------------------------


def _server_execute(url: str, sql: str) -> list:
    """One statement on the server of ``url`` (not in its database), autocommitted."""
    import dj_database_url

    parts = dj_database_url.parse(url)
    if url.startswith("mysql"):
        import MySQLdb

        connection = MySQLdb.connect(
            host=parts["HOST"] or HOST,
            port=int(parts["PORT"] or 3306),
            user=parts["USER"] or "root",
            password=parts["PASSWORD"] or "",
        )
        try:
            cursor = connection.cursor()
            cursor.execute(sql)
            return list(cursor.fetchall())
        finally:
            connection.close()
    import psycopg

    with psycopg.connect(
        host=parts["HOST"] or HOST,
        port=parts["PORT"] or 5432,
        user=parts["USER"] or None,
        password=parts["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    ) as connection:
        cursor = connection.execute(sql)
        return cursor.fetchall() if cursor.description else []


@contextlib.contextmanager
def scratch_database(url: str | None, workdir: Path):
    """
    Yields the URL of an empty database: a SQLite file in ``workdir`` when ``url`` is None,
    else the PostgreSQL or MariaDB database ``url`` names, created here (it must not exist)
    and dropped afterwards, whatever happens.
    """
    if not url:
        path = workdir / "bench.sqlite3"
        try:
            yield f"sqlite:///{path}"
        finally:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    if not re.match(r"^(postgres(ql)?|mysql)://", url):
        raise SystemExit(f"--database must be a postgres:// or mysql:// URL, not {url!r}")
    name = url.rsplit("/", 1)[1]
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
        raise SystemExit(f"--database: use a plain lower-case database name, not {name!r}")
    mysql = url.startswith("mysql")
    exists = (
        f"SHOW DATABASES LIKE '{name}'"
        if mysql
        else f"SELECT 1 FROM pg_database WHERE datname = '{name}'"
    )
    if _server_execute(url, exists):
        raise SystemExit(f"The database {name} exists: the benchmark creates and drops its own.")
    charset = " CHARACTER SET utf8mb4" if mysql else ""
    quoted = f"`{name}`" if mysql else f'"{name}"'
    _server_execute(url, f"CREATE DATABASE {quoted}{charset}")
    try:
        yield url
    finally:
        with contextlib.suppress(Exception):
            from django.db import connections

            connections.close_all()
        force = "" if mysql else " WITH (FORCE)"
        _server_execute(url, f"DROP DATABASE IF EXISTS {quoted}{force}")


def django_environment(database_url: str) -> dict:
    """The environment of the bench's own Django processes: local settings, DEBUG off."""
    environment = {
        name: value
        for name, value in os.environ.items()
        if name not in SCRUBBED and not name.startswith("GUNICORN_")
    }
    environment.update(
        DJANGO_SETTINGS_MODULE="pie.settings.local",
        DEBUG="false",
        DATABASE_URL=database_url,
        PYTHONDONTWRITEBYTECODE="1",
    )
    return environment


def django_setup(database_url: str) -> None:
    """Set up Django in this process on ``database_url`` and migrate it."""
    os.environ.clear()
    os.environ.update(django_environment(database_url))
    import django
    from django.core.management import call_command

    django.setup()
    # The bench's own in-process requests would each log a line, drowning its report.
    logging.disable(logging.INFO)
    call_command("migrate", interactive=False, verbosity=0)


def database_label() -> str:
    from django.db import connection

    if connection.vendor == "sqlite":
        return f"SQLite {sqlite3.sqlite_version}"
    with connection.cursor() as cursor:
        cursor.execute("SELECT version()")
        version = cursor.fetchone()[0].split(" on ")[0].split(",")[0]
    return f"{'MariaDB' if connection.vendor == 'mysql' else 'PostgreSQL'} {version}"


# --- seeding -----------------------------------------------------------------------------


def write_csv(path: Path, rows) -> int:
    """Rows of (program_uuid, lms_user_id, reason, certainty, effective_time) as the import
    reads them; returns the row count."""
    count = 0
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_HEADER)
        for row in rows:
            writer.writerow(row)
            count += 1
    return count


def seed(csv_path: Path) -> str:
    """
    Load ``csv_path`` with the import, as an operator would, then gather the planner's
    statistics that an operator's database would have. Returns the import's summary line.
    """
    import io

    from django.core.management import call_command
    from django.db import connection

    output = io.StringIO()
    call_command("bulk_insert_intents", str(csv_path), "--quiet", stdout=output)
    with connection.cursor() as cursor:
        if connection.vendor == "mysql":
            cursor.execute("ANALYZE TABLE intents_programintent, intents_currentintent, core_user")
            cursor.fetchall()
        elif connection.vendor == "postgresql":
            # What autovacuum does on a live database: statistics, and the visibility map
            # that lets a count read an index alone.
            cursor.execute("VACUUM ANALYZE")
        else:
            cursor.execute("ANALYZE")
    connection.close()
    return output.getvalue().strip().splitlines()[0]


# --- gunicorn ----------------------------------------------------------------------------


@dataclass
class Server:
    port: int
    process: subprocess.Popen
    issuer: dict
    log_path: Path

    def timed_get(self, path: str, token: str | None = None, rows: int | None = None):
        """A function that GETs ``path``, checks the answer (``rows`` items) and returns ms."""

        def call() -> float:
            status, body, seconds = request(self.port, path, token)
            if status != 200 or (rows and len(json.loads(body)) != rows):
                raise SystemExit(f"GET {path}: {status} {body[:300]!r}")
            return seconds * 1000

        return call

    def cpu_seconds(self) -> float:
        """
        CPU time of gunicorn's master, its workers and the workers it reaped. Per request, it
        is a figure that other work on the machine disturbs far less than requests/s.
        """
        master, ticks = str(self.process.pid), 0
        for entry in os.listdir("/proc"):
            with contextlib.suppress(OSError):
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
                if entry == master:
                    ticks += sum(map(int, fields[11:15]))  # utime, stime, cutime, cstime
                elif fields[1] == master:  # a worker
                    ticks += sum(map(int, fields[11:13]))
        return ticks / os.sysconf("SC_CLK_TCK")

    def learner_token(self, lms_user_id: int, lifetime_seconds: int = 6 * 3600) -> str:
        from pie.apps.core.dev_tokens import dev_token_payload, sign_dev_token

        payload = dev_token_payload(
            lms_user_id=lms_user_id,
            lifetime_seconds=lifetime_seconds,
            iss=self.issuer["ISSUER"],
            aud=self.issuer["AUDIENCE"],
        )
        return sign_dev_token(payload, secret=self.issuer["SECRET_KEY"])

    def staff_token(self, username: str = "bench-staff") -> str:
        """An LMS administrator's client-credentials token: staff may read summaries."""
        from pie.apps.core.dev_tokens import dev_service_token_payload, sign_dev_token

        payload = dev_service_token_payload(
            username=username,
            administrator=True,
            lifetime_seconds=6 * 3600,
            iss=self.issuer["ISSUER"],
            aud=self.issuer["AUDIENCE"],
        )
        return sign_dev_token(payload, secret=self.issuer["SECRET_KEY"])


def bench_port() -> int:
    """PIE_BENCH_PORT when set (engineers sharing a machine share port ranges), else any."""
    if os.environ.get("PIE_BENCH_PORT"):
        return int(os.environ["PIE_BENCH_PORT"])
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def gunicorn(database_url: str, workdir: Path, *, workers: int = 1, conn_max_age: int = 0):
    """
    gunicorn (gunicorn.conf.py) serving pie.settings.production from a PIE_CFG YAML written
    here: random secrets, one JWT issuer, no TLS redirect on loopback. Stopped on exit.
    """
    import yaml

    issuer = {**ISSUER, "SECRET_KEY": secrets.token_urlsafe(48)}
    config_path = workdir / "pie.yml"
    config_path.write_text(
        yaml.safe_dump(
            {
                "SECRET_KEY": secrets.token_urlsafe(64),
                "ALLOWED_HOSTS": [HOST, "localhost"],
                "SECURE_SSL_REDIRECT": False,
                "DATABASE_URL": database_url,
                "CONN_MAX_AGE": conn_max_age,
                "JWT_AUTH": {"JWT_ISSUERS": [issuer]},
            }
        ),
        encoding="utf-8",
    )
    config_path.chmod(0o600)
    port = bench_port()
    environment = {
        **django_environment(database_url),
        "DJANGO_SETTINGS_MODULE": "pie.settings.production",
        "PIE_CFG": str(config_path),
        "GUNICORN_BIND": f"{HOST}:{port}",
        "GUNICORN_WORKERS": str(workers),
    }
    del environment["DEBUG"], environment["DATABASE_URL"]
    executable = Path(sys.executable).parent / "gunicorn"
    log_path = workdir / "gunicorn.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [str(executable), "-c", "gunicorn.conf.py", "pie.wsgi:application"],
            cwd=REPO,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(port, process, issuer, log_path)
    try:
        _wait_until_ready(server)
        yield server
    finally:
        stop(process)


def _wait_until_ready(server: Server, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise SystemExit(f"gunicorn exited:\n{server.log_path.read_text()}")
        with contextlib.suppress(OSError):
            if request(server.port, HEALTH)[0] == 200:
                return
        time.sleep(0.1)
    raise SystemExit(
        f"gunicorn did not answer {HEALTH} in {timeout}s:\n{server.log_path.read_text()}"
    )


def stop(process: subprocess.Popen) -> None:
    """SIGTERM to the process group started for ``process``, SIGKILL if it lingers."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)


@contextlib.contextmanager
def workdir(keep: bool, prefix: str = "pie-bench-"):
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield path
    finally:
        if keep:
            print(f"\nKept {path}")
        else:
            shutil.rmtree(path, ignore_errors=True)


# --- timing ------------------------------------------------------------------------------


def request(port: int, path: str, token: str | None = None, body: dict | None = None):
    """
    One GET (POST with a body) on a new connection: (status, body, seconds). The time runs
    until the server closes the connection, as gunicorn's sync worker does after each
    request: so it includes what the worker does after sending the response (Django's
    request_finished, where SQLite checkpoints the WAL a POST wrote as its connection
    closes), which would otherwise be paid by whichever request came next.
    """
    method = "GET" if body is None else "POST"
    lines = [f"{method} {path} HTTP/1.1", f"Host: {HOST}:{port}", "Connection: close"]
    if token:
        lines.append(f"Authorization: JWT {token}")
    payload = b""
    if body is not None:
        payload = json.dumps(body).encode()
        lines += ["Content-Type: application/json", f"Content-Length: {len(payload)}"]
    message = ("\r\n".join(lines) + "\r\n\r\n").encode() + payload
    started = time.perf_counter()
    with socket.create_connection((HOST, port), timeout=30) as connection:
        connection.sendall(message)
        chunks = []
        while chunk := connection.recv(65536):
            chunks.append(chunk)
    seconds = time.perf_counter() - started
    head, _, content = b"".join(chunks).partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1."):
        raise ConnectionError(f"{method} {path}: no HTTP response ({head[:80]!r})")
    status = int(head.split(b" ", 2)[1])
    if b"\r\ntransfer-encoding: chunked" in head.lower():
        raise ConnectionError(f"{method} {path}: a chunked response; the bench reads whole ones")
    return status, content, seconds


def interleaved(targets: dict, rounds: int, per_round: int, warmup: int) -> dict:
    """
    Calls each target (name -> function returning milliseconds) in turn, rotating the order
    so drift hits them all alike. Returns name -> list of per-round lists of milliseconds.
    """
    names = list(targets)
    for _ in range(warmup):
        for name in names:
            targets[name]()
    samples = {name: [] for name in names}
    for round_number in range(rounds):
        for name in names:
            samples[name].append([])
        for position in range(per_round):
            shift = (position + round_number) % len(names)
            for name in names[shift:] + names[:shift]:
                samples[name][-1].append(targets[name]())
    return samples


def print_ratios(samples: dict, floor: str = "health") -> dict:
    """Median, p90 and ratio to the floor's median (1.0 = as fast as the floor) per target."""
    medians = {
        name: statistics.median(s for r in rounds for s in r) for name, rounds in samples.items()
    }
    print(f"{'target':<34}{'median ms':>10}{'p90 ms':>9}{'ratio':>8}   round medians ms")
    for name, rounds in samples.items():
        flat = sorted(s for r in rounds for s in r)
        per_round = " ".join(f"{statistics.median(r):.2f}" for r in rounds)
        print(
            f"{name:<34}{medians[name]:>10.2f}{flat[int(0.9 * (len(flat) - 1))]:>9.2f}"
            f"{medians[floor] / medians[name]:>8.2f}   {per_round}"
        )
    return medians

#!/usr/bin/env python3
"""
PIE through a PostgreSQL outage: 503s while the database refuses connections, 200s again
once it accepts them, from the same gunicorn processes (no restart).

    .venv/bin/python bench/load/outage_postgres.py \\
        [--database postgres://postgres@127.0.0.1:5432/pie_outage] [--conn-max-age 60]

Creates the scratch database named by --database (it must not exist; it is dropped at the
end), migrates it, and starts gunicorn with pie.settings.production (a generated PIE_CFG, as
bench/load/run.py does) on 127.0.0.1. Then, printing every status code:

* before: /health/, GET most_recent_and_certain and POST of an intent answer normally;
* during: ``ALTER DATABASE ... ALLOW_CONNECTIONS false`` and ``pg_terminate_backend`` on the
  database's sessions (PIE's open connections die, new ones are refused) while the server
  itself keeps running, as when a database fails over or is restarted. Every request must
  be a 503 with a JSON body (/health/ naming the database);
* after: ``ALLOW_CONNECTIONS true``; the same requests must succeed again, with the same
  gunicorn master and workers.

It needs a role that may create databases and terminate sessions (the default URL's
``postgres``), and never stops or reconfigures the server itself. gunicorn is stopped, the
database re-opened and dropped in every case. Exit 0 when every status is as expected.
"""

import argparse
import itertools
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import (  # noqa: E402
    CREATE_PATH,
    RECENT_PATH,
    ScratchPostgres,
    free_port,
    http,
    load_average,
    manage,
    server_environment,
    start_gunicorn,
    stop_gunicorn,
    wait_until_ready,
    write_config,
    write_tokens,
)

LEARNER = 5
INTENT = {
    "program_uuid": "3a0fd5a0-f5c0-4b1f-a3b8-f0f4c6a7e9d1",
    "reason": "BUNDLE_PURCHASE",
    "certainty": "CERTAIN_YES",
    "effective_timestamp": "2024-05-01T12:00:00Z",
}


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].strip())
    parser.add_argument(
        "--database",
        default="postgres://postgres@127.0.0.1:5432/pie_outage",
        help="a scratch database that does not exist yet (created and dropped here)",
    )
    parser.add_argument(
        "--conn-max-age",
        type=int,
        default=60,
        help="CONN_MAX_AGE: 60 (default) keeps connections that the outage then kills; 0 "
        "opens one per request",
    )
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (2)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    return parser.parse_args()


def worker_pids(master_pid: int) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as handle:
                    text = handle.read()
            except OSError:
                continue
            if text[text.rindex(")") + 2 :].split()[1] == str(master_pid):
                pids.append(int(entry))
    return sorted(pids)


def main() -> int:
    args = parse_args()
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for signal_number in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signal_number, lambda number, _: sys.exit(128 + number))
    workdir = Path(tempfile.mkdtemp(prefix="pie-outage-"))
    log_path = workdir / "gunicorn.log"
    postgres = ScratchPostgres(args.database)
    process = None
    closed = False
    failures = []

    def set_connections(allowed: bool) -> None:
        with postgres.connect() as connection:
            connection.execute(
                f'ALTER DATABASE "{postgres.name}" ALLOW_CONNECTIONS {str(allowed).lower()}'
            )
            if not allowed:
                connection.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = %s AND pid <> pg_backend_pid()",
                    [postgres.name],
                )

    try:
        postgres.create()
        config_path, issuer = write_config(workdir, args.database, args.conn_max_age)
        environment = server_environment(config_path)
        manage(environment, "migrate", "--noinput")
        tokens_path = workdir / "tokens.tsv"
        write_tokens(tokens_path, issuer, {LEARNER: INTENT}, lifetime=3600)
        token = tokens_path.read_text(encoding="utf-8").split("\t")[0]

        port = free_port()
        process = start_gunicorn(environment, port, args.workers, log_path)
        wait_until_ready(process, port, log_path)
        workers = worker_pids(process.pid)
        print("PIE through a PostgreSQL outage")
        print(f"  date      {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}")
        print(f"  database  PostgreSQL {postgres.version()}, scratch database {postgres.name}")
        print(
            f"  server    gunicorn master {process.pid}, {args.workers} sync workers {workers}, "
            f"pie.settings.production, CONN_MAX_AGE {args.conn_max_age}"
        )
        print(f"  load      {load_average()}")
        print()
        print(f"{'phase':<8}{'request':<44}{'status':>7}  {'type':<18}body")
        print("-" * 110)

        new_days = itertools.count(1)  # each POST of a new intent: one day later

        def probe(phase: str, expected: dict, repeat: int) -> None:
            requests = [
                ("GET /health/", "GET", "/health/", None, None),
                ("GET most_recent_and_certain", "GET", RECENT_PATH, token, None),
                ("POST a new intent", "POST", CREATE_PATH, token, "new"),
                ("POST a duplicate intent", "POST", CREATE_PATH, token, INTENT),
            ]
            for _ in range(repeat):
                for label, method, path, bearer, body in requests:
                    if body == "new":
                        day = next(new_days)
                        body = {**INTENT, "effective_timestamp": f"2024-06-{day:02d}T12:00:00Z"}
                    status, content, content_type = request(method, path, bearer, body)
                    wanted = expected[label]
                    mark = "" if status == wanted else f"   <-- expected {wanted}"
                    if status != wanted:
                        failures.append(f"{phase}: {label}: {status}, expected {wanted}")
                    if status >= 500 and content_type != "application/json":
                        failures.append(f"{phase}: {label}: {status} is not JSON")
                    print(
                        f"{phase:<8}{label:<44}{status:>7}  {content_type:<18}"
                        f"{summary(content)}{mark}"
                    )

        def request(method, path, bearer, body):
            import http.client

            headers = {"Authorization": f"JWT {bearer}"} if bearer else {}
            payload = None
            if body is not None:
                headers["Content-Type"] = "application/json"
                payload = json.dumps(body)
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            try:
                connection.request(method, path, body=payload, headers=headers)
                response = connection.getresponse()
                content_type = (response.getheader("Content-Type") or "").split(";")[0]
                return response.status, response.read(), content_type
            finally:
                connection.close()

        normal = {
            "GET /health/": 200,
            "GET most_recent_and_certain": 200,
            "POST a new intent": 201,
            "POST a duplicate intent": 400,
        }
        http(port, "POST", CREATE_PATH, token, INTENT)  # the duplicate's original
        probe("before", normal, repeat=1)

        set_connections(False)
        closed = True
        # Two rounds, so that every worker meets both its killed connection and a refused one.
        probe("during", dict.fromkeys(normal, 503), repeat=2 * args.workers)

        set_connections(True)
        closed = False
        probe("after", normal, repeat=2)
        print()
        same = process.poll() is None and worker_pids(process.pid) == workers
        print(
            f"same gunicorn master and workers throughout (no restart): {'yes' if same else 'NO'}"
        )
        if not same:
            failures.append("gunicorn restarted a worker")
        errors = [
            line
            for line in log_path.read_text(encoding="utf-8", errors="replace").splitlines()
            if '"level": "ERROR"' in line
        ]
        print(f"server log: {len(errors)} ERROR line(s) (the outage's database errors)")
        print(f"result: {'PASS' if not failures else 'FAIL'}")
        for failure in failures:
            print(f"  {failure}")
        return 0 if not failures else 1
    finally:
        if process is not None:
            stop_gunicorn(process)
        if closed:
            set_connections(True)
        postgres.drop()
        if args.keep:
            print(f"\nKept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def summary(content: bytes) -> str:
    try:
        body = json.loads(content)
    except ValueError:
        return repr(content[:60])
    if isinstance(body, dict) and "overall_status" in body:
        return json.dumps(body)
    if isinstance(body, dict) and "title" in body:
        return f"{body['title']}: {str(body.get('detail'))[:50]}"
    if isinstance(body, list):
        return f"{len(body)} intent(s)"
    if isinstance(body, dict) and "program_uuid" in body:
        return f"intent {body.get('id')} recorded"
    return json.dumps(body)[:60]


if __name__ == "__main__":
    sys.exit(main())

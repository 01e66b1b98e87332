"""
The learner and staff API against the framework floor, GET /health/ on the same gunicorn
(pie.settings.production) in the same run. "ratio" is /health/'s median latency (or its
throughput, under load) divided by the endpoint's: 1.0 is as fast as /health/.

    .venv/bin/python -m bench.api sequential [--rounds 3 --requests 100] [--profile 200]
    .venv/bin/python -m bench.api load [--learners 100000 --duration 20 --workers 3]
    .venv/bin/python -m bench.api summary [--learners 100000 --requests 100]
    ... [--database postgres://postgres@127.0.0.1:5432/pie_bench]  # created, then dropped

sequential: learners with 10, 1,000 and 10,000 intents (over 10, 200 and 10 programs) and
--other-learners with 5; one client, one connection per request, GET most_recent_and_certain
per learner, POST of a new intent and GET /health/ interleaved; --profile N first runs each
GET N times in process under cProfile. load: wrk (bench/load.lua) against --learners learners
with 1 to 5 intents: /health/ alone, most_recent_and_certain alone, then a mix of 90% GET, 9%
POST, 1% duplicate POST (a 400); fails on any 5xx. summary: a program with --learners
learners, GET its summary as staff, over HTTP and in process.
"""

import argparse
import datetime
import json
import random
import re
import shutil
import statistics
import subprocess
import time
import uuid
from pathlib import Path

from bench import harness
from bench.intents_csv import reason_and_certainty

RECENT = "/api/v1/program_intents/most_recent_and_certain/"
CREATE = "/api/v1/program_intents/"
# (lms_user_id, intents, programs): 1001 and 1003 share a programs count, so their ratio
# shows the cost of history alone.
LEARNERS = [(1001, 10, 10), (1002, 1_000, 200), (1003, 10_000, 10)]
POSTING_LEARNER = 1004
MAYBE_ONLY_PROGRAM_SHARE = 0.3
HISTORY_START = datetime.datetime(2021, 1, 1, tzinfo=datetime.UTC)
HISTORY_SECONDS = 3 * 365 * 86400


def moment(rng: random.Random | None = None, seconds: int = 0) -> str:
    """A random moment of the three years (or ``seconds`` into them), in ISO 8601 with ms."""
    offset = rng.randrange(HISTORY_SECONDS * 1000) if rng else seconds * 1000
    when = HISTORY_START + datetime.timedelta(milliseconds=offset)
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].strip())
    parser.add_argument("mode", choices=["sequential", "load", "summary"])
    harness.add_scratch_arguments(parser)
    parser.add_argument("--rounds", type=int, default=5, help="sequential: rounds (5)")
    parser.add_argument("--requests", type=int, default=200, help="requests per target/round")
    parser.add_argument("--warmup", type=int, help="warm-up requests (20; load: seconds, 3)")
    parser.add_argument("--other-learners", type=int, default=1_000, help="sequential (1000)")
    parser.add_argument("--profile", type=int, default=0, metavar="N", help="sequential")
    parser.add_argument("--learners", type=int, default=100_000, help="load, summary (100000)")
    parser.add_argument("--duration", type=int, default=20, help="load: seconds per scenario")
    parser.add_argument("--workers", type=int, default=None, help="gunicorn workers (1; load 3)")
    parser.add_argument("--connections", type=int, default=8, help="load: wrk connections")
    parser.add_argument("--tokens", type=int, default=2_000, help="load: learners with a JWT")
    parser.add_argument("--conn-max-age", type=int, default=None, help="(0; load 60)")
    args = parser.parse_args()
    load = args.mode == "load"
    args.workers = args.workers or (3 if load else 1)
    args.warmup = args.warmup if args.warmup is not None else (3 if load else 20)
    args.conn_max_age = args.conn_max_age if args.conn_max_age is not None else 60 * load
    if load and shutil.which("wrk") is None:
        parser.error("load needs wrk on PATH (Debian/Ubuntu: apt-get install wrk)")
    if min(args.rounds, args.requests, args.learners, args.duration, args.tokens) < 1:
        parser.error("counts must be at least 1")
    args.tokens = min(args.tokens, args.learners)
    return args


def main() -> int:
    args = parse_args()
    harness.exit_cleanly_on_signals()
    with (
        harness.workdir(args.keep) as workdir,
        harness.scratch_database(args.database, workdir) as database_url,
    ):
        harness.django_setup(database_url)
        return MODES[args.mode](args, workdir, database_url)


# --- sequential --------------------------------------------------------------------------


def learner_rows(rng, lms_user_id: int, count: int, programs: int):
    program_uuids = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(programs)]
    maybe_only = {p for p in program_uuids if rng.random() < MAYBE_ONLY_PROGRAM_SHARE}
    for position in range(count):
        # Every program gets at least one intent; the rest are spread at random.
        program = program_uuids[position] if position < programs else rng.choice(program_uuids)
        reason, certainty = reason_and_certainty(rng)
        if program in maybe_only:
            certainty = "MAYBE"
        yield program, lms_user_id, reason, certainty, moment(rng)


def sequential(args, workdir: Path, database_url: str) -> int:
    rng = random.Random(20240501)
    rows = [row for learner in LEARNERS for row in learner_rows(rng, *learner)]
    for offset in range(args.other_learners):
        rows += learner_rows(rng, 100_000 + offset, 5, 2)
    csv_path = workdir / "intents.csv"
    harness.write_csv(csv_path, rows)
    started = time.perf_counter()
    imported = harness.seed(csv_path)
    harness.print_machine("PIE learner API, sequential client")
    print(
        f"  data      {harness.database_label()}: {imported} ({time.perf_counter() - started:.0f}s)"
    )
    for learner, count, programs in LEARNERS:
        print(f"            learner {learner}: {count:,} intents over {programs} programs")
    print(f"            {args.other_learners:,} other learners: 5 intents over 2 programs")
    print(
        f"  server    gunicorn {args.workers} sync worker(s), production settings, "
        f"CONN_MAX_AGE {args.conn_max_age}\n  client    1 connection per request, "
        f"{args.rounds} rounds x {args.requests}, interleaved, warm-up {args.warmup}"
    )
    if args.profile:
        profile_in_process(args.profile)

    with harness.gunicorn(
        database_url, workdir, workers=args.workers, conn_max_age=args.conn_max_age
    ) as server:
        posted = iter(range(10**9))
        poster = server.learner_token(POSTING_LEARNER)

        def post():
            number = next(posted)
            body = {
                "program_uuid": str(uuid.UUID(int=number % 50 + 1)),
                "reason": "BUNDLE_PURCHASE",
                "certainty": "MAYBE",
                "effective_timestamp": moment(seconds=number),
            }
            status, content, seconds = harness.request(server.port, CREATE, poster, body)
            if status != 201:
                raise SystemExit(f"POST {CREATE}: {status} {content[:300]!r}")
            return seconds * 1000

        targets = {"health": server.timed_get(harness.HEALTH)}
        for learner, count, programs in LEARNERS:
            targets[f"most_recent ({count:,} intents)"] = server.timed_get(
                RECENT, server.learner_token(learner), programs
            )
        targets["POST a new intent"] = post
        samples = harness.interleaved(targets, args.rounds, args.requests, args.warmup)
    print(f"\nHTTP (load afterwards {harness.load_average()}):")
    medians = harness.print_ratios(samples)
    small, large = (f"most_recent ({LEARNERS[i][1]:,} intents)" for i in (0, -1))
    print(
        f"\nlatency(10,000 intents) / latency(10 intents), same 10 programs: "
        f"{medians[large] / medians[small]:.2f} (target <= 2)"
    )
    return 0


def profile_in_process(requests: int, top: int = 30) -> None:
    """Where the time goes: each learner's GET in process (Django's test client), cProfile."""
    import cProfile
    import io
    import pstats

    from django.db import connection
    from django.test import Client

    from pie.apps.core.dev_tokens import create_dev_token

    client = Client(HTTP_HOST=harness.HOST)
    for learner, count, _ in LEARNERS:
        headers = {"HTTP_AUTHORIZATION": f"JWT {create_dev_token(lms_user_id=learner)}"}

        def call(headers=headers):
            response = client.get(RECENT, **headers)
            if response.status_code != 200:
                raise SystemExit(f"{RECENT}: {response.status_code}")

        samples = []
        for _ in range(requests):
            started = time.perf_counter()
            call()
            samples.append((time.perf_counter() - started) * 1000)
        profiler = cProfile.Profile()
        profiler.runcall(lambda: [call() for _ in range(requests)])
        report = io.StringIO()
        pstats.Stats(profiler, stream=report).sort_stats("cumulative").print_stats(top)
        print(
            f"\nProfile, in process: most_recent ({count:,} intents), unprofiled median "
            f"{statistics.median(samples):.2f} ms over {requests} requests"
        )
        print(report.getvalue().replace(str(harness.REPO) + "/", ""))
    connection.close()


# --- load --------------------------------------------------------------------------------

SCENARIOS = [("health", {200}), ("recent", {200}), ("mix", {200, 201, 400})]


def load(args, workdir: Path, database_url: str) -> int:
    rng = random.Random(20240501)
    programs = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(500)]
    sample = set(random.Random(1).sample(range(1, args.learners + 1), args.tokens))
    stored = {}

    def rows():
        for learner in range(1, args.learners + 1):
            own = rng.sample(programs, rng.randint(1, 3))
            for _ in range(rng.randint(1, 5)):
                reason, certainty = reason_and_certainty(rng)
                row = (rng.choice(own), learner, reason, certainty, moment(rng))
                if learner in sample:
                    fields = ("program_uuid", "reason", "certainty", "effective_timestamp")
                    stored.setdefault(learner, dict(zip(fields, row[:1] + row[2:], strict=True)))
                yield row

    csv_path = workdir / "intents.csv"
    harness.write_csv(csv_path, rows())
    imported = harness.seed(csv_path)
    with harness.gunicorn(
        database_url, workdir, workers=args.workers, conn_max_age=args.conn_max_age
    ) as server:
        tokens_path = workdir / "tokens.tsv"
        lifetime = args.warmup + 3 * args.duration + 3600
        tokens_path.write_text(
            "".join(
                f"{server.learner_token(learner, lifetime)}\t{json.dumps(body)}\n"
                for learner, body in stored.items()
            )
        )
        harness.print_machine("PIE under wrk load")
        print(f"  data      {harness.database_label()}: {args.learners:,} learners, {imported}")
        print(
            f"  server    gunicorn {args.workers} sync workers, production settings, "
            f"CONN_MAX_AGE {args.conn_max_age}"
        )
        print(
            f"  client    wrk 1 thread, {args.connections} connections, {args.duration}s per "
            f"scenario, JWTs of {len(stored):,} learners, after their first visit"
        )
        for token in (line.split("\t")[0] for line in tokens_path.read_text().splitlines()):
            # A learner's first request creates PIE's user row; the scenarios measure returns.
            status, body, _ = harness.request(server.port, RECENT, token)
            if status != 200:
                raise SystemExit(f"first visit: {status} {body[:300]!r}")
        if args.warmup:
            wrk(server, "recent", args.warmup, args, tokens_path)
        results = {
            name: wrk(server, name, args.duration, args, tokens_path) for name, _ in SCENARIOS
        }
    print(
        f"\n{'scenario':<10}{'requests':>10}{'req/s':>8}{'p50 ms':>8}{'p99 ms':>8}{'cpu ms':>8}"
        "   statuses"
    )
    passed = True
    for name, expected in SCENARIOS:
        outcome = results[name]
        latency = outcome["latency_us"]
        print(
            f"{name:<10}{outcome['requests']:>10,}{outcome['rate']:>8.0f}"
            f"{latency['p50'] / 1000:>8.1f}{latency['p99'] / 1000:>8.1f}"
            f"{outcome['cpu_ms']:>8.2f}   {outcome['statuses']}"
        )
        passed &= set(outcome["statuses"]) <= expected and not any(
            outcome["socket_errors"].values()
        )
    ratio = results["recent"]["rate"] / results["health"]["rate"]
    cpu = results["health"]["cpu_ms"] / results["recent"]["cpu_ms"]
    print(f"\nmost_recent_and_certain / health: throughput {ratio:.2f} (aim >= 0.5), CPU {cpu:.2f}")
    print(f"load afterwards {harness.load_average()}; result: {'PASS' if passed else 'FAIL'}")
    return 0 if passed else 1


def wrk(server, mode: str, seconds: int, args, tokens_path: Path) -> dict:
    cpu_before = server.cpu_seconds()
    command = [
        "wrk",
        "--threads=1",
        f"--connections={args.connections}",
        f"--duration={seconds}s",
        "--timeout=10s",
        f"--script={harness.REPO / 'bench/load.lua'}",
        f"http://{harness.HOST}:{server.port}",
        "--",
        mode,
        str(tokens_path),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    match = re.search(r"^PIE_RESULT (.*)$", result.stdout, re.MULTILINE)
    if result.returncode != 0 or not match:
        raise SystemExit(f"wrk failed ({result.returncode}):\n{result.stdout}{result.stderr}")
    outcome = json.loads(match.group(1))
    outcome["statuses"] = {int(code): n for code, n in outcome["statuses"].items()}
    outcome["rate"] = outcome["requests"] / (outcome["duration_us"] / 1e6)
    outcome["cpu_ms"] = 1000 * (server.cpu_seconds() - cpu_before) / max(outcome["requests"], 1)
    return outcome


# --- summary -----------------------------------------------------------------------------


def summary(args, workdir: Path, database_url: str) -> int:
    from django.contrib.auth import get_user_model
    from django.test import Client

    from pie.apps.intents.selectors import program_intent_summary

    rng = random.Random(7)
    program = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    others = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(50)]

    def rows():
        for learner in range(1, args.learners + 1):
            for _ in range(rng.randint(1, 5)):
                for target in (program, rng.choice(others)):
                    reason, _ = reason_and_certainty(rng)
                    certainty = rng.choice(["CERTAIN_YES", "CERTAIN_NO", "MAYBE", "MAYBE"])
                    yield target, learner, reason, certainty, moment(rng)

    csv_path = workdir / "intents.csv"
    harness.write_csv(csv_path, rows())
    imported = harness.seed(csv_path)
    harness.print_machine("PIE program summary")
    print(
        f"  data      {harness.database_label()}: {args.learners:,} learners in the program, "
        f"as many intents again over 50 others; {imported}"
    )
    timings = []
    for _ in range(7):
        started = time.perf_counter()
        counts = program_intent_summary(program_uuid=program)
        timings.append((time.perf_counter() - started) * 1000)
    print(
        f"program_intent_summary: median {statistics.median(timings):.0f} ms of 7 "
        f"(min {min(timings):.0f}, max {max(timings):.0f}); {counts}"
    )

    path = f"/api/v1/programs/{program}/intents/summary/"
    client = Client(HTTP_HOST="localhost")
    client.force_login(get_user_model().objects.create(username="bench-staff", is_staff=True))

    def in_process(url):
        def call():
            started = time.perf_counter()
            response = client.get(url)
            if response.status_code != 200:
                raise SystemExit(f"{url}: {response.status_code}")
            return (time.perf_counter() - started) * 1000

        return call

    print(f"\nin process, {args.requests} requests each (target >= 0.1):")
    harness.print_ratios(
        harness.interleaved(
            {"health": in_process(harness.HEALTH), "summary": in_process(path)},
            1,
            args.requests,
            20,
        )
    )
    from django.db import connection

    connection.close()
    with harness.gunicorn(database_url, workdir) as server:
        token = server.staff_token("bench-summary-staff")

        samples = harness.interleaved(
            {"health": server.timed_get(harness.HEALTH), "summary": server.timed_get(path, token)},
            1,
            args.requests,
            20,
        )
    print(f"\nover HTTP (gunicorn, 1 sync worker), {args.requests} requests each:")
    harness.print_ratios(samples)
    return 0


MODES = {"sequential": sequential, "load": load, "summary": summary}

if __name__ == "__main__":
    raise SystemExit(main())

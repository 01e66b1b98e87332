"""
A real database outage, on SQLite: PIE runs in its own server process (gunicorn, or
runserver where gunicorn is not installed) with production settings on a SQLite file; the
file is then made unusable under the running server and put back.

While the database is unavailable, /health/ answers 503 naming the database and the API
answers 503 in its JSON error envelope (never a 500 or an HTML page); once the file is back,
the same server process answers 200 again, without a restart.
"""

import http.client
import importlib.util
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import jwt
import pytest
import yaml

REPO = Path(__file__).resolve().parents[4]
HOST = "127.0.0.1"
ISSUER = "http://127.0.0.1/outage-test/oauth2"
AUDIENCE = "pie-outage-test"
RECENT = "/api/v1/program_intents/most_recent_and_certain/"
INTENT = {
    "program_uuid": "3a0fd5a0-f5c0-4b1f-a3b8-f0f4c6a7e9d1",
    "reason": "BUNDLE_PURCHASE",
    "certainty": "CERTAIN_YES",
    "effective_timestamp": "2024-05-01T12:00:00Z",
}
HEALTHY = {"overall_status": "OK", "detailed_status": {"database_status": "OK"}}
UNAVAILABLE = {
    "overall_status": "UNAVAILABLE",
    "detailed_status": {"database_status": "UNAVAILABLE"},
}


class Server:
    """PIE in a subprocess on a SQLite file, with production settings."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.database = workdir / "pie.sqlite3"
        self.log_path = workdir / "server.log"
        self.jwt_secret = secrets.token_hex(24)
        config = {
            "SECRET_KEY": secrets.token_hex(32),
            "ALLOWED_HOSTS": [HOST],
            "SECURE_SSL_REDIRECT": False,  # no TLS proxy on loopback
            "DATABASE_URL": f"sqlite:///{self.database}",
            "JWT_AUTH": {
                "JWT_ISSUERS": [
                    {"ISSUER": ISSUER, "AUDIENCE": AUDIENCE, "SECRET_KEY": self.jwt_secret}
                ]
            },
        }
        config_path = workdir / "pie.yml"
        config_path.write_text(yaml.safe_dump(config), encoding="utf-8")
        self.environment = {
            name: value
            for name, value in os.environ.items()
            if name not in ("DATABASE_URL", "CONN_MAX_AGE", "SECRET_KEY", "ALLOWED_HOSTS")
            and not name.startswith(("GUNICORN_", "JWT_"))
        }
        self.environment.update(
            DJANGO_SETTINGS_MODULE="pie.settings.production",
            PIE_CFG=str(config_path),
            PYTHONDONTWRITEBYTECODE="1",
        )
        self.process = None
        self.port = None

    def migrate(self) -> None:
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
            cwd=REPO,
            env=self.environment,
            check=True,
            capture_output=True,
            timeout=120,
        )

    def start(self) -> None:
        with socket.socket() as probe:
            probe.bind((HOST, 0))
            self.port = probe.getsockname()[1]
        address = f"{HOST}:{self.port}"
        if importlib.util.find_spec("gunicorn"):
            command = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py"]
            command += ["pie.wsgi:application"]
            environment = {**self.environment, "GUNICORN_BIND": address, "GUNICORN_WORKERS": "1"}
        else:
            command = [sys.executable, "manage.py", "runserver", "--noreload", address]
            environment = self.environment
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                command,
                cwd=REPO,
                env=environment,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"PIE exited ({self.process.returncode}):\n{self.log()}")
            try:
                if self.request("GET", "/health/")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        pytest.fail(f"PIE did not answer /health/ within 60s:\n{self.log()}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)  # its own session: it and its workers
            self.process.wait(timeout=10)

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")[-4000:]

    def token(self, lms_user_id: int) -> str:
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "iat": now,
            "exp": now + 600,
            "user_id": lms_user_id,
            "preferred_username": f"learner{lms_user_id}",
            "email": f"learner{lms_user_id}@example.com",
            "administrator": False,
            "version": "1.2.0",
        }
        return jwt.encode(claims, self.jwt_secret, algorithm="HS256")

    def request(self, method: str, path: str, token: str | None = None, body=None):
        headers = {"Authorization": f"JWT {token}"} if token else {}
        payload = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            payload = json.dumps(body)
        connection = http.client.HTTPConnection(HOST, self.port, timeout=30)
        try:
            connection.request(method, path, body=payload, headers=headers)
            response = connection.getresponse()
            return response.status, response.getheader("Content-Type", ""), response.read()
        finally:
            connection.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    running = Server(tmp_path_factory.mktemp("outage"))
    try:
        running.migrate()
        running.start()
        yield running
    finally:
        running.stop()


def database_files(database: Path) -> list[Path]:
    """The database and its write-ahead log and shared-memory files (WAL mode)."""
    return [database.with_name(database.name + suffix) for suffix in ("", "-wal", "-shm")]


def unusable_as_a_directory(database: Path) -> None:
    database.mkdir()  # sqlite3 cannot open a directory: "unable to open database file"


def unusable_as_a_missing_file(database: Path) -> None:
    """SQLite creates an empty database in place of a missing file: it has no PIE tables."""


def unusable_as_garbage(database: Path) -> None:
    database.write_bytes(b"not an SQLite database " * 512)  # "file is not a database"


@pytest.mark.parametrize(
    "make_unusable",
    [unusable_as_a_directory, unusable_as_a_missing_file, unusable_as_garbage],
    ids=["file-replaced-by-a-directory", "file-missing", "file-replaced-by-garbage"],
)
def test_database_outage_is_503_json_and_the_server_recovers_without_restart(
    server, make_unusable, tmp_path
):
    token = server.token(lms_user_id=5)
    status, _, _ = server.request("POST", "/api/v1/program_intents/", token, INTENT)
    assert status in (201, 400)  # 400: recorded by the other parametrization already
    status, _, body = server.request("GET", RECENT, token)
    assert status == 200
    assert [intent["program_uuid"] for intent in json.loads(body)] == [INTENT["program_uuid"]]
    server_pid = server.process.pid

    backup = tmp_path / "backup"
    backup.mkdir()
    moved = []
    try:
        for path in database_files(server.database):
            if path.exists():
                moved.append(path)
                shutil.move(path, backup / path.name)
        make_unusable(server.database)

        status, content_type, body = server.request("GET", "/health/")
        assert (status, content_type) == (503, "application/json"), server.log()
        assert json.loads(body) == UNAVAILABLE

        for method, path, payload in (
            ("GET", RECENT, None),
            ("POST", "/api/v1/program_intents/", {**INTENT, "certainty": "MAYBE"}),
        ):
            status, content_type, body = server.request(method, path, token, payload)
            assert (status, content_type) == (503, "application/json"), (body, server.log())
            error = json.loads(body)
            assert error["status"] == 503
            assert error["title"] == "Service Unavailable"
    finally:
        if server.database.is_dir():
            server.database.rmdir()
        for path in database_files(server.database):
            path.unlink(missing_ok=True)  # garbage, or what SQLite created in the file's place
        for path in moved:
            shutil.move(backup / path.name, path)

    status, _, body = server.request("GET", "/health/")
    assert status == 200
    assert json.loads(body) == HEALTHY
    status, _, body = server.request("GET", RECENT, token)
    assert status == 200
    assert [intent["program_uuid"] for intent in json.loads(body)] == [INTENT["program_uuid"]]
    assert server.process.pid == server_pid and server.process.poll() is None

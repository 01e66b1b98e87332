"""
Fixtures for the checks of what Tutor renders with the plugin enabled. They run Tutor's own
command line from the virtualenv this pytest runs in (`make tutor-check` makes it), in
scratch TUTOR_ROOTs, and never need a Docker engine: where Tutor would call `docker`, a fake
one on PATH records the arguments instead.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPOSITORY = Path(__file__).resolve().parents[2]
TUTOR = Path(sys.executable).with_name("tutor")
FAKE_DOCKER = """#!{python}
import json, os, sys
with open(os.environ["FAKE_DOCKER_LOG"], "a", encoding="utf-8") as log:
    log.write(json.dumps(sys.argv[1:]) + "\\n")
if sys.argv[-3:] == ["ls", "--format", "json"]:  # `docker compose ls`: no project running
    print("[]")
"""


class TutorRoot:
    """A TUTOR_ROOT made by `tutor config save`, `tutor plugins enable ...`, `tutor config save`."""

    def __init__(self, path: Path, fake_bin: Path):
        self.path = path
        self.env_dir = path / "env"
        self._fake_bin = fake_bin

    def tutor(self, *args: str, docker_log: Path | None = None) -> str:
        environment = {**os.environ, "TUTOR_ROOT": str(self.path)}
        environment["TUTOR_PLUGINS_ROOT"] = str(self.path / "plugins")
        if docker_log is not None:
            environment["PATH"] = f"{self._fake_bin}{os.pathsep}{environment['PATH']}"
            environment["FAKE_DOCKER_LOG"] = str(docker_log)
        result = subprocess.run(
            [str(TUTOR), *args], env=environment, capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, f"tutor {' '.join(args)}:\n{result.stdout}{result.stderr}"
        return result.stdout

    def config(self) -> dict:
        return yaml.safe_load((self.path / "config.yml").read_text(encoding="utf-8"))

    def value(self, name: str) -> str:
        """A setting as Tutor renders it (defaults included), e.g. JWT_COMMON_ISSUER."""
        return self.tutor("config", "printvalue", name).strip()

    def yaml(self, relative: str) -> dict:
        return yaml.safe_load((self.env_dir / relative).read_text(encoding="utf-8"))

    def yaml_documents(self, relative: str) -> list[dict]:
        text = (self.env_dir / relative).read_text(encoding="utf-8")
        return [document for document in yaml.safe_load_all(text) if document]

    def text(self, relative: str) -> str:
        return (self.env_dir / relative).read_text(encoding="utf-8")

    def pie_cfg(self) -> dict:
        return self.yaml("plugins/pie/apps/pie.yml")

    def docker_calls(self, *args: str) -> list[list[str]]:
        """Runs `tutor ARGS...` with the fake docker and returns each call's arguments."""
        log = self.path / f"docker-{len(list(self.path.glob('docker-*.log')))}.log"
        log.touch()
        self.tutor(*args, docker_log=log)
        return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="session")
def fake_bin(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("fake-bin")
    docker = directory / "docker"
    docker.write_text(FAKE_DOCKER.format(python=sys.executable), encoding="utf-8")
    docker.chmod(0o755)
    return directory


@pytest.fixture(scope="session")
def make_tutor_root(tmp_path_factory, fake_bin):
    """make_tutor_root(plugins=("pie",), **settings): a rendered TUTOR_ROOT, one per arguments."""
    made = {}

    def make(plugins=("pie",), **settings) -> TutorRoot:
        key = (tuple(plugins), tuple(sorted(settings.items())))
        if key not in made:
            root = TutorRoot(tmp_path_factory.mktemp("tutor-root"), fake_bin)
            root.tutor("config", "save")
            root.tutor("plugins", "enable", *plugins)
            sets = [f"--set={name}={value}" for name, value in settings.items()]
            root.tutor("config", "save", *sets)
            made[key] = root
        return made[key]

    return make


@pytest.fixture(scope="session")
def default_root(make_tutor_root) -> TutorRoot:
    return make_tutor_root()


@pytest.fixture(scope="session")
def pie_python() -> Path:
    """PIE's own virtualenv (`make requirements`), for manage.py."""
    python = Path(os.environ.get("PIE_PYTHON", REPOSITORY / ".venv" / "bin" / "python"))
    assert python.exists(), f"{python} is missing: run `make requirements` (or set PIE_PYTHON)"
    return python

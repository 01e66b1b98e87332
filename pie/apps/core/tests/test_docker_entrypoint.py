"""
docker-entrypoint.sh, run as the image runs it (its own #!/bin/sh), with stub ``python`` and
``gunicorn`` programs first on PATH that print their arguments and their process id: a
management command goes to manage.py, anything that is a program runs unchanged, and both
replace the entry point's process (exec), as Tutor's jobs and Kubernetes expect.
"""

import subprocess
from pathlib import Path

import pytest

ENTRYPOINT = Path(__file__).resolve().parents[4] / "docker-entrypoint.sh"
STUB = '#!/bin/sh\necho "pid=$$"\nprintf "%s|" "$(basename "$0")" "$@"\necho\n'


@pytest.fixture
def run(tmp_path):
    stubs = tmp_path / "bin"
    stubs.mkdir()
    for name in ("python", "gunicorn"):
        (stubs / name).write_text(STUB)
        (stubs / name).chmod(0o755)

    def run_entrypoint(*args):
        process = subprocess.Popen(
            [str(ENTRYPOINT), *args],
            cwd=tmp_path,
            env={"PATH": f"{stubs}:/usr/bin:/bin"},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        stdout, stderr = process.communicate(timeout=30)
        lines = stdout.splitlines()
        calls = [line for line in lines if "|" in line]
        pids = [int(line.removeprefix("pid=")) for line in lines if line.startswith("pid=")]
        return process, calls, pids, stdout, stderr

    return run_entrypoint


def test_serve_collects_static_files_then_becomes_gunicorn(run):
    process, calls, pids, _, stderr = run("serve")
    assert process.returncode == 0, stderr
    assert calls == [
        "python|manage.py|collectstatic|--noinput|--verbosity|0|",
        "gunicorn|--config|gunicorn.conf.py|pie.wsgi:application|",
    ]
    assert pids[-1] == process.pid  # exec: gunicorn is the container's main process


def test_no_arguments_means_serve(run):
    _, calls, _, _, _ = run()
    assert calls[-1] == "gunicorn|--config|gunicorn.conf.py|pie.wsgi:application|"


@pytest.mark.parametrize(
    ("args", "call"),
    [
        (["migrate"], "python|manage.py|migrate|--noinput|"),
        (["migrate", "intents", "0002"], "python|manage.py|migrate|--noinput|intents|0002|"),
        (
            ["bulk_insert_intents", "/data/intents of 2024.csv", "--strict"],
            "python|manage.py|bulk_insert_intents|/data/intents of 2024.csv|--strict|",
        ),
        (["check", "--deploy"], "python|manage.py|check|--deploy|"),
        (["consume_events", "-t", "topic"], "python|manage.py|consume_events|-t|topic|"),
        # `test` is a shell builtin, not a program: a manage.py command, as is `manage X`.
        (["test"], "python|manage.py|test|"),
        (["manage", "sh"], "python|manage.py|sh|"),
    ],
)
def test_a_management_command_runs_in_manage_py_with_its_arguments_intact(run, args, call):
    process, calls, pids, _, stderr = run(*args)
    assert process.returncode == 0, stderr
    assert calls == [call]
    assert pids == [process.pid]


def test_a_program_on_path_runs_unchanged(run):
    process, calls, pids, _, stderr = run("gunicorn", "--check-config", "pie.wsgi:application")
    assert process.returncode == 0, stderr
    assert calls == ["gunicorn|--check-config|pie.wsgi:application|"]
    assert pids == [process.pid]


def test_tutors_sh_e_c_job_step_runs_unchanged_with_its_exit_status(run):
    script = 'echo "step: $1"; python manage.py migrate; exit 3'
    process, calls, _, stdout, _ = run("sh", "-e", "-c", script, "sh", "one arg")
    assert process.returncode == 3
    assert "step: one arg" in stdout
    # The job's own `python manage.py migrate`, not an entry point's rewrite of it.
    assert calls == ["python|manage.py|migrate|"]


def test_sh_e_stops_the_job_at_the_first_failing_step(run):
    process, _, _, stdout, _ = run("sh", "-e", "-c", "false; echo unreachable")
    assert process.returncode == 1
    assert "unreachable" not in stdout


def test_a_program_given_by_path_runs_unchanged(run, tmp_path):
    script = tmp_path / "job.sh"
    script.write_text('#!/bin/sh\necho "job ran with $#: $*"\n')
    script.chmod(0o755)
    process, _, _, stdout, _ = run(str(script), "a", "b c")
    assert process.returncode == 0
    assert stdout == "job ran with 2: a b c\n"

"""
The docs run as written. A ``.. code-block:: console`` shows commands (``$ ...``) and their
output; this test runs each command and compares. In the same document, a ``text`` block
with a ``:caption:`` is a file the commands use, written under that name first. In the
expected output, ``...`` stands for anything (a duration, a rate, an id).
"""

import io
import re
import shlex
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from pie.apps.intents.models import IntentReason

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[4]
DOCUMENTS = [ROOT / "README.rst", *sorted((ROOT / "docs").rglob("*.rst"))]
VENV_MANAGE = ".venv/bin/python manage.py "
_DIRECTIVE = re.compile(r"^\.\. code-block:: *(\S+)\s*$")
_OPTION = re.compile(r"^\s+:(\w+):\s*(.*)$")


def code_blocks(text: str) -> list[dict]:
    """Each code block of a reStructuredText document: language, options and dedented body."""
    lines, blocks, index = text.splitlines(), [], 0
    while index < len(lines):
        directive = _DIRECTIVE.match(lines[index])
        index += 1
        if not directive:
            continue
        options = {}
        while index < len(lines) and (option := _OPTION.match(lines[index])):
            options[option.group(1)] = option.group(2).strip()
            index += 1
        body = []
        while index < len(lines) and (not lines[index].strip() or lines[index][:1] == " "):
            body.append(lines[index])
            index += 1
        indent = min(len(line) - len(line.lstrip()) for line in body if line.strip())
        text_lines = [line[indent:] for line in body]
        while text_lines and not text_lines[-1].strip():
            text_lines.pop()
        while text_lines and not text_lines[0].strip():
            text_lines.pop(0)
        blocks.append({"language": directive.group(1), "options": options, "lines": text_lines})
    return blocks


def sessions(lines: list[str]) -> list[tuple[str, list[str]]]:
    """(command, expected output lines) for each ``$ `` line of a console block."""
    result = []
    for line in lines:
        if line.startswith("$ "):
            result.append((line[2:], []))
        else:
            assert result, f"output before any command: {line!r}"
            result[-1][1].append(line)
    return result


def run_manage_py(command: str) -> list[str]:
    """What ``.venv/bin/python manage.py ...`` prints, stdout and stderr as a terminal shows."""
    assert command.startswith(VENV_MANAGE), (
        f"{command!r}: run commands with the venv's python ({VENV_MANAGE}...), which works "
        "without an activated venv"
    )
    name, *arguments = shlex.split(command.removeprefix(VENV_MANAGE))
    output = io.StringIO()
    try:
        call_command(name, *arguments, stdout=output, stderr=output)
    except CommandError as error:  # manage.py prints it so and exits non-zero
        output.write(f"CommandError: {error}\n")
    return output.getvalue().splitlines()


def matches(expected: str, actual: str) -> bool:
    pattern = ".*".join(re.escape(part) for part in expected.split("..."))
    return re.fullmatch(pattern, actual) is not None


def documents_with_examples() -> list[Path]:
    return [
        path
        for path in DOCUMENTS
        if any(block["language"] == "console" for block in code_blocks(path.read_text()))
    ]


def test_the_harness_finds_the_examples():
    assert ROOT / "docs" / "bulk_import.rst" in documents_with_examples()


@pytest.mark.parametrize("document", documents_with_examples(), ids=lambda path: path.name)
def test_each_documented_command_prints_what_the_doc_shows(document, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for block in code_blocks(document.read_text()):
        if block["language"] == "text" and "caption" in block["options"]:
            (tmp_path / block["options"]["caption"]).write_text("\n".join(block["lines"]) + "\n")
        elif block["language"] == "console":
            for command, expected in sessions(block["lines"]):
                actual = run_manage_py(command)
                assert len(actual) == len(expected) and all(map(matches, expected, actual)), (
                    f"{document.name}: {command}\nexpected:\n"
                    + "\n".join(expected)
                    + "\nactual:\n"
                    + "\n".join(actual)
                )


def test_the_readme_names_every_reason_the_migrations_seed():
    """The test database is migrated: its reasons are the ones the data migrations seed."""
    readme = (ROOT / "README.rst").read_text()
    seeded = list(IntentReason.objects.values_list("code", flat=True))
    assert "CERTIFICATE_REVOKED" in seeded
    for code in seeded:
        assert f"``{code}``" in readme, f"README.rst does not name the reason {code}"

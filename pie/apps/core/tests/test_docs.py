"""
The docs run as written. A ``.. code-block:: console`` shows commands (``$ ...``, a trailing
backslash continues a command on the next line) and their output; this test runs each command
and compares. Commands are ``.venv/bin/python manage.py ...`` (run with call_command),
``curl ...`` against PIE on 127.0.0.1:18781 (run with Django's test client; the output is the
response body), and shell variables (``NAME='value'``, ``NAME=$(command)``) that later
commands use as ``$NAME``. In the same document, a ``text`` block with a ``:caption:`` is a
file the commands use, written under that name first. In the expected output, ``...`` stands
for anything (a duration, a rate, an id, a token).
"""

import io
import re
import shlex
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from pie.apps.intents.models import IntentReason

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[4]
DOCUMENTS = [ROOT / "README.rst", *sorted((ROOT / "docs").rglob("*.rst"))]
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
        if result and result[-1][0].endswith("\\") and not result[-1][1]:
            result[-1] = (result[-1][0][:-1] + line.strip(), [])
        elif line.startswith("$ "):
            result.append((line[2:], []))
        else:
            assert result, f"output before any command: {line!r}"
            result[-1][1].append(line)
    return result


_ASSIGNMENT = re.compile(r"^([A-Z_]+)=(.*)$")
_VARIABLE = re.compile(r"\$\{?([A-Z_]+)\}?")
PIE_URL = "http://127.0.0.1:18781"


def run(command: str, variables: dict[str, str]) -> list[str]:
    """Run one documented command; an assignment sets ``variables`` and prints nothing."""
    if assignment := _ASSIGNMENT.match(command):
        name, value = assignment.groups()
        if value.startswith("$(") and value.endswith(")"):
            variables[name] = "\n".join(run(value[2:-1], variables))
        else:
            variables[name] = shlex.split(value)[0]
        return []
    # As a shell does: split into words, then expand the variables in each.
    words = [
        _VARIABLE.sub(lambda match: variables[match.group(1)], word)
        for word in shlex.split(command)
    ]
    if words[0] == "curl":
        return run_curl(words[1:])
    assert words[:2] == [".venv/bin/python", "manage.py"], (
        f"{command!r}: run commands with the venv's python (.venv/bin/python manage.py ...), "
        "which works without an activated venv"
    )
    return run_manage_py(words[2], words[3:])


def run_manage_py(name: str, arguments: list[str]) -> list[str]:
    """What manage.py prints for a command, stdout and stderr as a terminal shows them."""
    output = io.StringIO()
    try:
        call_command(name, *arguments, stdout=output, stderr=output)
    except CommandError as error:  # manage.py prints it so and exits non-zero
        output.write(f"CommandError: {error}\n")
    return output.getvalue().splitlines()


def run_curl(arguments: list[str]) -> list[str]:
    """The body curl prints for ``-X``, ``-H`` and ``-d`` (a form unless told otherwise)."""
    words = iter(arguments)
    method, headers, data, url = None, {}, None, None
    for word in words:
        if word == "-X":
            method = next(words)
        elif word == "-H":
            name, _, value = next(words).partition(":")
            headers[name.strip()] = value.strip()
        elif word == "-d":
            data = next(words)
        else:
            assert word.startswith(PIE_URL), f"unsupported curl argument {word!r}"
            url = word
    content_type = headers.pop("Content-Type", "application/x-www-form-urlencoded")
    response = Client().generic(
        method or ("POST" if data is not None else "GET"),
        url.removeprefix(PIE_URL),
        data or "",
        content_type=content_type,
        headers=headers,
    )
    return response.content.decode().splitlines()


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
    variables = {}
    for block in code_blocks(document.read_text()):
        if block["language"] == "text" and "caption" in block["options"]:
            (tmp_path / block["options"]["caption"]).write_text("\n".join(block["lines"]) + "\n")
        elif block["language"] == "console":
            for command, expected in sessions(block["lines"]):
                actual = run(command, variables)
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

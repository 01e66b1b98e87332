"""bulk_insert_intents through call_command: formats, duplicates, bad rows, strictness."""

import datetime
import gzip
import io
import os
import re
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from unittest import mock

import pytest
from django.core.management import CommandError, call_command

from pie.apps.intents.models import IntentReason, ProgramIntent
from pie.apps.intents.tests.factories import ProgramIntentFactory, reason

pytestmark = pytest.mark.django_db

HEADER = "program_uuid,user_id,intent_reason,intent_certainty,effective_time\n"
PROGRAM = "3a0fd5a0-f5c0-4b1f-a3b8-f0f4c6a7e9d1"
GOOD_ROWS = (
    f"{PROGRAM},11,BUNDLE_PURCHASE,CERTAIN_YES,2024-05-01 12:00:00\n"
    f"{PROGRAM},12,ENROLLED_ALL_COURSES,MAYBE,2024-05-02T08:30:00Z\n"
    f"{PROGRAM},13,EARNED_PROGRAM_CERT,CERTAIN_YES,2024-05-03 09:15:00.250 Z\n"
)


def write(tmp_path, text: str, name="intents.csv", encoding="utf-8") -> str:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    return str(path)


def run(*args, stdin: bytes | None = None):
    """Run the command; return (stdout, stderr, error or None)."""
    out, err = io.StringIO(), io.StringIO()
    error = None
    stdin_file = tempfile.TemporaryFile()
    stdin_file.write(stdin or b"")
    stdin_file.seek(0)
    with stdin_file, mock.patch.object(sys, "stdin", io.TextIOWrapper(stdin_file)):
        try:
            call_command("bulk_insert_intents", *args, stdout=out, stderr=err)
        except CommandError as raised:
            error = raised
    return out.getvalue(), err.getvalue(), error


def stored():
    return sorted(
        (i.lms_user_id, str(i.program_uuid), i.reason.code, i.certainty, i.effective_timestamp)
        for i in ProgramIntent.objects.select_related("reason")
    )


def test_imports_every_row_and_prints_a_summary(tmp_path):
    out, err, error = run(write(tmp_path, HEADER + GOOD_ROWS))
    assert error is None, err
    assert "Rows read: 3, inserted: 3, duplicates skipped: 0, invalid: 0" in out
    assert "rows/s" in out
    assert stored() == [
        (
            11,
            PROGRAM,
            "BUNDLE_PURCHASE",
            "CERTAIN_YES",
            datetime.datetime(2024, 5, 1, 12, tzinfo=datetime.UTC),
        ),
        (
            12,
            PROGRAM,
            "ENROLLED_ALL_COURSES",
            "MAYBE",
            datetime.datetime(2024, 5, 2, 8, 30, tzinfo=datetime.UTC),
        ),
        (
            13,
            PROGRAM,
            "EARNED_PROGRAM_CERT",
            "CERTAIN_YES",
            datetime.datetime(2024, 5, 3, 9, 15, 0, 250000, tzinfo=datetime.UTC),
        ),
    ]


def test_user_id_is_the_lms_user_id_and_needs_no_pie_user(tmp_path):
    run(write(tmp_path, HEADER + GOOD_ROWS))
    assert {intent.lms_user_id for intent in ProgramIntent.objects.all()} == {11, 12, 13}


def test_running_the_same_file_twice_leaves_the_table_unchanged_and_says_so(tmp_path):
    path = write(tmp_path, HEADER + GOOD_ROWS)
    run(path)
    before = stored()
    out, _, error = run(path)
    assert error is None
    assert "inserted: 0, duplicates skipped: 3" in out
    assert "Nothing new" in out
    assert stored() == before


def test_repeated_rows_in_the_file_and_rows_already_stored_are_stored_once(tmp_path):
    ProgramIntentFactory(
        lms_user_id=11,
        program_uuid=uuid.UUID(PROGRAM),
        reason=reason("BUNDLE_PURCHASE"),
        certainty="CERTAIN_YES",
        effective_timestamp=datetime.datetime(2024, 5, 1, 12, tzinfo=datetime.UTC),
    )
    same_instant_other_form = (
        f"{PROGRAM.replace('-', '').upper()},12,enrolled_all_courses,maybe,"
        "2024-05-02T10:30:00+02:00\n"
    )
    text = HEADER + GOOD_ROWS + GOOD_ROWS + same_instant_other_form
    out, _, error = run(write(tmp_path, text), "--batch_size", "2")
    assert error is None
    assert "Rows read: 7, inserted: 2, duplicates skipped: 5, invalid: 0" in out
    assert ProgramIntent.objects.count() == 3


def test_api_and_import_agree_on_what_a_duplicate_is(tmp_path, learner_client):
    response = learner_client.post(
        "/api/v1/program_intents/",
        {
            "program_uuid": PROGRAM,
            "reason": "BUNDLE_PURCHASE",
            "certainty": "CERTAIN_YES",
            "effective_timestamp": "2024-05-01T12:00:00.5Z",
        },
        format="json",
    )
    assert response.status_code == 201
    row = f"{PROGRAM},1001,BUNDLE_PURCHASE,CERTAIN_YES,2024-05-01 12:00:00.500000\n"
    out, _, _ = run(write(tmp_path, HEADER + row))
    assert "inserted: 0, duplicates skipped: 1" in out


def test_header_names_are_case_insensitive_quoted_in_any_order_with_extra_columns(tmp_path):
    text = (
        '"Effective_Time", extra, "USER_ID" ,Intent_Certainty,intent_reason,PROGRAM_UUID\n'
        f"2024-05-01 12:00:00,ignored,11,CERTAIN_YES,BUNDLE_PURCHASE,{PROGRAM}\n"
    )
    out, err, error = run(write(tmp_path, text))
    assert error is None, err
    assert stored()[0][:4] == (11, PROGRAM, "BUNDLE_PURCHASE", "CERTAIN_YES")


def test_odd_but_valid_values_are_accepted(tmp_path):
    text = HEADER + (
        f"  {PROGRAM.upper()} , 21 , bundle_purchase , certain_no , 2024-05-01T12:00:00+05:30 \n"
        f"{PROGRAM.replace('-', '')},22,Earned_Program_Cert,Maybe,2024-05-01 12:00:00.123456\n"
        f'"{PROGRAM}","23","BUNDLE_PURCHASE","CERTAIN_YES","2024-05-01 12:00:00.5 UTC"\n'
    )
    out, err, error = run(write(tmp_path, text, encoding="utf-8-sig"))
    assert error is None, err
    assert [row[:4] for row in stored()] == [
        (21, PROGRAM, "BUNDLE_PURCHASE", "CERTAIN_NO"),
        (22, PROGRAM, "EARNED_PROGRAM_CERT", "MAYBE"),
        (23, PROGRAM, "BUNDLE_PURCHASE", "CERTAIN_YES"),
    ]
    assert [row[4] for row in stored()] == [
        datetime.datetime(2024, 5, 1, 6, 30, tzinfo=datetime.UTC),
        datetime.datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=datetime.UTC),
        datetime.datetime(2024, 5, 1, 12, 0, 0, 500000, tzinfo=datetime.UTC),
    ]


def test_bad_rows_are_reported_by_line_the_good_ones_imported_and_exit_is_nonzero(tmp_path):
    text = HEADER + (
        f"{PROGRAM},11,BUNDLE_PURCHASE,CERTAIN_YES,2024-05-01 12:00:00\n"  # line 2, good
        f"not-a-uuid,12,BUNDLE_PURCHASE,CERTAIN_YES,2024-05-01 12:00:00\n"  # 3
        f"{PROGRAM},abc,BUNDLE_PURCHASE,CERTAIN_YES,2024-05-01 12:00:00\n"  # 4
        f"{PROGRAM},14,NO_SUCH_REASON,CERTAIN_YES,2024-05-01 12:00:00\n"  # 5
        f"{PROGRAM},15,BUNDLE_PURCHASE,PROBABLY,2024-05-01 12:00:00\n"  # 6
        f"{PROGRAM},16,BUNDLE_PURCHASE,CERTAIN_YES,last tuesday\n"  # 7
        f"{PROGRAM},17,BUNDLE_PURCHASE\n"  # 8, short row
        "\n"  # 9, blank: skipped
        f"{PROGRAM},18,BUNDLE_PURCHASE,MAYBE,2024-05-01 12:00:00\n"  # 10, good
    )
    out, err, error = run(write(tmp_path, text))
    assert error is not None and error.returncode == 1
    assert "6 invalid row(s)" in str(error)
    assert "Rows read: 8, inserted: 2, duplicates skipped: 0, invalid: 6" in out
    lines = err.strip().splitlines()
    assert [line.split(":")[0] for line in lines] == [f"line {n}" for n in (3, 4, 5, 6, 7, 8)]
    assert "program_uuid" in lines[0]
    assert "user_id" in lines[1]
    assert "NO_SUCH_REASON" in lines[2] and "BUNDLE_PURCHASE" in lines[2]
    assert "intent_certainty" in lines[3]
    assert "effective_time" in lines[4]
    assert "intent_certainty: missing value" in lines[5] and "effective_time: missing" in lines[5]
    assert [row[0] for row in stored()] == [11, 18]


def test_errors_file_lists_each_rejected_row_with_its_line_and_problem(tmp_path):
    import csv

    bad = "".join(f"{PROGRAM},{n},BUNDLE_PURCHASE,NOPE,2024-05-01 12:00:00\n" for n in range(30))
    errors = tmp_path / "rejected.csv"
    out, err, error = run(write(tmp_path, HEADER + GOOD_ROWS + bad), "--errors", str(errors))
    assert "30 invalid row(s) (see" in str(error)
    rows = list(csv.DictReader(errors.open()))
    assert len(rows) == 30
    assert rows[0]["line_number"] == "5" and "intent_certainty" in rows[0]["error"]
    assert rows[0]["intent_certainty"] == "NOPE"
    assert "and 10 more invalid row(s)" in err
    assert ProgramIntent.objects.count() == 3


def test_strict_imports_nothing_when_any_row_is_invalid(tmp_path):
    text = HEADER + GOOD_ROWS + f"{PROGRAM},99,BUNDLE_PURCHASE,NOPE,2024-05-01 12:00:00\n"
    out, err, error = run(write(tmp_path, text), "--strict", "--batch_size", "1")
    assert "Nothing was imported (--strict)" in str(error)
    assert "inserted: 0" in out
    assert ProgramIntent.objects.count() == 0


def test_strict_imports_everything_when_all_rows_are_valid(tmp_path):
    out, err, error = run(write(tmp_path, HEADER + GOOD_ROWS), "--strict")
    assert error is None
    assert ProgramIntent.objects.count() == 3


def test_dry_run_validates_and_counts_but_writes_nothing(tmp_path):
    text = HEADER + GOOD_ROWS + f"{PROGRAM},99,NEW_REASON,MAYBE,2024-05-01 12:00:00\n"
    out, err, error = run(write(tmp_path, text), "--dry-run", "--create-missing-reasons")
    assert error is None, err
    assert "Dry run, nothing written. Rows read: 4, valid: 4, invalid: 0" in out
    assert "Reasons would be created: NEW_REASON" in out
    assert ProgramIntent.objects.count() == 0
    assert not IntentReason.objects.filter(code="NEW_REASON").exists()


def test_unknown_reason_is_invalid_unless_missing_reasons_are_created(tmp_path):
    text = HEADER + f"{PROGRAM},31,partner_referral,MAYBE,2024-05-01 12:00:00\n"
    path = write(tmp_path, text)
    _, err, error = run(path)
    assert "unknown reason 'PARTNER_REFERRAL'" in err
    assert ProgramIntent.objects.count() == 0

    out, _, error = run(path, "--create-missing-reasons")
    assert error is None
    assert "Reasons created: PARTNER_REFERRAL" in out
    assert IntentReason.objects.get(code="PARTNER_REFERRAL").default_certainty == "MAYBE"
    assert stored()[0][2] == "PARTNER_REFERRAL"


def test_strict_rollback_also_undoes_and_does_not_report_created_reasons(tmp_path):
    text = HEADER + (
        f"{PROGRAM},31,partner_referral,MAYBE,2024-05-01 12:00:00\n"
        f"{PROGRAM},32,BUNDLE_PURCHASE,CERTAIN_YES,not a time\n"
    )
    out, _, error = run(write(tmp_path, text), "--strict", "--create-missing-reasons")
    assert "Nothing was imported (--strict)" in str(error)
    assert "Reasons created" not in out
    assert not IntentReason.objects.filter(code="PARTNER_REFERRAL").exists()


def test_gzip_file_is_read(tmp_path):
    path = tmp_path / "intents.csv.gz"
    path.write_bytes(gzip.compress((HEADER + GOOD_ROWS).encode()))
    out, _, error = run(str(path))
    assert error is None
    assert ProgramIntent.objects.count() == 3


def test_stdin_is_read_with_a_dash():
    out, _, error = run("-", stdin=(HEADER + GOOD_ROWS).encode())
    assert error is None
    assert ProgramIntent.objects.count() == 3


def test_original_flags_are_accepted(tmp_path):
    path = write(tmp_path, HEADER + GOOD_ROWS)
    out, _, error = run("--csv_filepath", path, "--batch_size", "1", "--sleep_time", "0.001")
    assert error is None
    assert ProgramIntent.objects.count() == 3


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            "program_uuid,user_id,intent_reason\n",
            "Missing required column(s): intent_certainty, effective_time",
        ),
        ("", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "not UTF-8 CSV"),
        (b"\xff\xfe\x00p\x00r\x00o", "not UTF-8 CSV"),
    ],
)
def test_file_that_cannot_be_imported_stops_before_writing_with_one_line(
    tmp_path, content, message
):
    out, err, error = run(write(tmp_path, content))
    assert error is not None
    assert message in str(error)
    assert "\n" not in str(error)
    assert ProgramIntent.objects.count() == 0


def test_missing_file_directory_and_bad_gzip_are_clear_errors(tmp_path):
    _, _, error = run(str(tmp_path / "nope.csv"))
    assert "Cannot open" in str(error) and "No such file" in str(error)
    _, _, error = run(str(tmp_path))
    assert "is a directory" in str(error)
    _, _, error = run(write(tmp_path, b"not gzip at all", name="x.csv.gz"))
    assert "cannot be read as CSV" in str(error)


@pytest.mark.parametrize(
    "args",
    [
        (),
        ("a.csv", "--csv_filepath", "b.csv"),
        ("x.csv", "--batch_size", "0"),
        ("x.csv", "--sleep_time", "-1"),
    ],
)
def test_bad_arguments_are_command_errors(args):
    _, _, error = run(*args)
    assert error is not None


def test_row_with_invalid_utf8_is_one_bad_row_not_a_crash(tmp_path):
    text = (
        HEADER.encode()
        + GOOD_ROWS.encode()
        + b"\xff\xfe-uuid,1,BUNDLE_PURCHASE,MAYBE,2024-05-01 12:00:00\n"
    )
    errors = tmp_path / "rejected.csv"
    out, err, error = run(write(tmp_path, text), "--errors", str(errors))
    assert "1 invalid row(s)" in str(error)
    assert "line 5: program_uuid" in err
    assert ProgramIntent.objects.count() == 3
    assert b"\xff\xfe-uuid" in errors.read_bytes()  # the rejected bytes, as they were read


def test_oversized_field_is_one_bad_row(tmp_path):
    text = (
        HEADER
        + GOOD_ROWS
        + f'{PROGRAM},7,"{"x" * 200_000}",MAYBE,2024-05-01 12:00:00\n'
        + (f"{PROGRAM},8,BUNDLE_PURCHASE,MAYBE,2024-05-01 12:00:00\n")
    )
    out, err, error = run(write(tmp_path, text))
    assert "1 invalid row(s)" in str(error)
    assert "not a valid CSV record" in err
    assert ProgramIntent.objects.count() == 4


def test_interrupted_import_keeps_committed_batches_and_a_rerun_completes_it(tmp_path):
    rows = "".join(
        f"{PROGRAM},{n},BUNDLE_PURCHASE,CERTAIN_YES,2024-05-01 12:00:00\n" for n in range(1, 11)
    )
    path = write(tmp_path, HEADER + rows)
    from pie.apps.intents.importing import writers

    real_write = writers.IntentWriter.write
    calls = {"n": 0}

    def write_then_interrupt(self, batch):
        calls["n"] += 1
        if calls["n"] == 3:
            real_write(self, batch)  # the batch in flight is written, then rolled back
            raise KeyboardInterrupt
        return real_write(self, batch)

    with mock.patch.object(writers.IntentWriter, "write", write_then_interrupt):
        out, _, error = run(path, "--batch_size", "3")
    assert error is not None and error.returncode == 130
    assert "run the same file again" in str(error)
    assert ProgramIntent.objects.count() == 6  # two committed batches; the third rolled back

    out, _, error = run(path, "--batch_size", "3")
    assert error is None
    assert "inserted: 4, duplicates skipped: 6" in out
    assert sorted(ProgramIntent.objects.values_list("lms_user_id", flat=True)) == list(range(1, 11))


def test_progress_lines_when_not_a_terminal(tmp_path):
    from pie.apps.intents.management.commands import bulk_insert_intents

    rows = "".join(
        f"{PROGRAM},{n},BUNDLE_PURCHASE,MAYBE,2024-05-01 12:00:00\n" for n in range(1, 7)
    )
    with mock.patch.object(bulk_insert_intents, "PROGRESS_INTERVAL_LOG", 0):
        out, _, _ = run(write(tmp_path, HEADER + rows), "--batch_size", "2")
        quiet, _, _ = run(
            write(tmp_path, HEADER + rows, name="b.csv"), "--batch_size", "2", "--quiet"
        )
    progress = [line for line in out.splitlines() if line.startswith("Progress: ")]
    assert len(progress) == 3  # one per batch of two
    assert ", 2 inserted," in progress[0] and "% of the file)" in progress[0]
    assert "Progress" not in quiet


def test_progress_bar_on_a_terminal(tmp_path):
    from pie.apps.intents.management.commands import bulk_insert_intents

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    rows = "".join(
        f"{PROGRAM},{n},BUNDLE_PURCHASE,MAYBE,2024-05-01 12:00:00\n" for n in range(1, 7)
    )
    out = Terminal()
    with mock.patch.object(bulk_insert_intents, "PROGRESS_INTERVAL_TTY", 0):
        call_command(
            "bulk_insert_intents", write(tmp_path, HEADER + rows), "--batch_size", "2", stdout=out
        )
    bar, summary = out.getvalue().rsplit("\n", 2)[:2]
    redraws = bar.split("\r")[1:]
    assert len(redraws) == 3  # one per batch, each over the last
    assert re.fullmatch(r"\[#{30}\] 100% 6 rows, 6 inserted, 0 invalid, [\d,]+ rows/s", redraws[-1])
    assert redraws[0].startswith("[") and ", 2 inserted," in redraws[0]
    assert summary.startswith("Rows read: 6, inserted: 6,")


def test_import_service_is_callable_without_the_command(tmp_path):
    from pie.apps.intents.importing import intents_import, open_intent_csv

    rejected = []
    summary = intents_import(
        rows=open_intent_csv(write(tmp_path, HEADER + GOOD_ROWS + "x,y,z,w,v\n")).rows,
        on_rejected=rejected.append,
    )
    assert (summary.rows_read, summary.inserted, summary.invalid) == (4, 3, 1)
    assert rejected[0].line_number == 5


def _fail_on_batch(number: int, message: str = "disk I/O error"):
    """A writer that raises a database error on the given batch, after writing it."""
    from django.db import OperationalError

    from pie.apps.intents.importing import writers

    real_write = writers.IntentWriter.write
    calls = {"n": 0}

    def write(self, batch):
        calls["n"] += 1
        inserted = real_write(self, batch)
        if calls["n"] == number:
            raise OperationalError(message)
        return inserted

    return mock.patch.object(writers.IntentWriter, "write", write)


def _ten_rows(tmp_path) -> str:
    rows = "".join(
        f"{PROGRAM},{n},BUNDLE_PURCHASE,CERTAIN_YES,2024-05-01 12:00:00\n" for n in range(1, 11)
    )
    return write(tmp_path, HEADER + rows)


def test_database_failure_keeps_committed_batches_says_so_and_a_rerun_completes(tmp_path):
    path = _ten_rows(tmp_path)
    with _fail_on_batch(2):
        out, err, error = run(path, "--batch_size", "4")
    assert error is not None and error.returncode == 1
    assert str(error) == (
        "The database failed: disk I/O error. The 4 row(s) inserted before it are kept; "
        "run the same file again once it is fixed to finish the import."
    )
    assert "Rows read: 8, inserted: 4, duplicates skipped: 0, invalid: 0" in out
    assert ProgramIntent.objects.count() == 4  # the failed batch was rolled back whole

    out, _, error = run(path, "--batch_size", "4")
    assert error is None
    assert "inserted: 6, duplicates skipped: 4" in out
    assert sorted(ProgramIntent.objects.values_list("lms_user_id", flat=True)) == list(range(1, 11))


def test_database_failure_under_strict_imports_nothing(tmp_path):
    with _fail_on_batch(2):
        out, _, error = run(_ten_rows(tmp_path), "--batch_size", "4", "--strict")
    assert str(error).startswith("The database failed: disk I/O error. Nothing was imported")
    assert "inserted: 0" in out
    assert ProgramIntent.objects.count() == 0


def test_a_multi_line_database_message_is_reported_on_one_line(tmp_path):
    message = 'connection to server at "db" failed: Connection refused\n\tIs the server running?'
    with _fail_on_batch(1, message):
        _, _, error = run(_ten_rows(tmp_path), "--batch_size", "4")
    assert str(error) == (
        'The database failed: connection to server at "db" failed: Connection refused Is the '
        "server running? Nothing was inserted before it; run the file again once it is fixed."
    )


@pytest.mark.parametrize(
    ("database", "message"),
    [
        (
            "empty.sqlite3",
            r"The database is not migrated \(\d+ migration\(s\) to apply\): "
            r"run \./manage\.py migrate first\.",
        ),
        (
            "missing-directory/pie.sqlite3",
            r"Cannot use the database: unable to open database file\.",
        ),
    ],
)
def test_unmigrated_or_unreachable_database_is_one_clear_line(tmp_path, database, message):
    """As an operator meets it: manage.py in a fresh interpreter, local settings."""
    repo = Path(__file__).resolve().parents[4]
    environment = {key: value for key, value in os.environ.items() if key != "PIE_CFG"}
    environment.update(
        DJANGO_SETTINGS_MODULE="pie.settings.local",
        DATABASE_URL=f"sqlite:///{tmp_path / database}",
        DEBUG="false",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "bulk_insert_intents", _ten_rows(tmp_path)],
        cwd=repo,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert re.fullmatch(f"CommandError: {message}", result.stderr.strip()), result.stderr
    assert result.stdout == ""

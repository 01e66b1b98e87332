"""
./manage.py bulk_insert_intents FILE.csv — load historical intents from a CSV export.

The work is done by pie.apps.intents.importing; this command parses arguments, reports
progress, writes rejected rows and prints the summary. See docs/bulk_import.rst.
"""

import contextlib
import csv
import time

from django.core.management.base import BaseCommand, CommandError
from edx_django_utils.monitoring import function_trace, set_custom_attribute

from pie.apps.intents.importing import (
    DEFAULT_BATCH_SIZE,
    REQUIRED_COLUMNS,
    DatabaseNotReady,
    ImportDatabaseError,
    ImportSummary,
    IntentFileError,
    RejectedRow,
    database_ready_check,
    intents_import,
    open_intent_csv,
)
from pie.apps.intents.spreadsheets import spreadsheet_safe

# Invalid rows echoed to stderr when they are also written to --errors FILE.
ECHOED_REJECTIONS = 20
PROGRESS_INTERVAL_TTY = 0.5
PROGRESS_INTERVAL_LOG = 10.0


class Command(BaseCommand):
    help = (
        "Import program intents from a CSV file (.csv, .csv.gz, or - for stdin) with the "
        f"columns {', '.join(REQUIRED_COLUMNS)}. Duplicates are skipped; invalid rows are "
        "reported and make the exit code non-zero."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", nargs="?", help="CSV file, .csv.gz, or - for stdin.")
        parser.add_argument(
            "--csv_filepath", "--csv-filepath", dest="csv_filepath", help="Same as FILE."
        )
        parser.add_argument(
            "--batch_size",
            "--batch-size",
            dest="batch_size",
            type=int,
            default=DEFAULT_BATCH_SIZE,
            help=f"Rows per committed batch (default {DEFAULT_BATCH_SIZE}).",
        )
        parser.add_argument(
            "--sleep_time",
            "--sleep-time",
            dest="sleep_time",
            type=float,
            default=0.0,
            help="Seconds to pause between batches to spare the database (default 0).",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Validate and count; write nothing."
        )
        parser.add_argument(
            "--strict", action="store_true", help="If any row is invalid, import nothing."
        )
        parser.add_argument(
            "--create-missing-reasons",
            action="store_true",
            help="Create unknown reasons (default certainty MAYBE) instead of rejecting rows.",
        )
        parser.add_argument("--errors", metavar="FILE", help="Write rejected rows to FILE as CSV.")
        parser.add_argument(
            "--quiet", action="store_true", help="No progress output; summary and errors only."
        )

    # A span of its own, so that the counts below reach a tracing backend (OPENEDX_TELEMETRY)
    # even outside a web request.
    @function_trace("bulk_insert_intents")
    def handle(self, *args, **options):
        source = self._source(options)
        if options["batch_size"] < 1:
            raise CommandError("--batch_size must be at least 1.")
        if options["sleep_time"] < 0:
            raise CommandError("--sleep_time cannot be negative.")
        database_error = None
        with contextlib.ExitStack() as cleanup:
            try:
                intent_csv = open_intent_csv(source)
                cleanup.callback(intent_csv.close)
                database_ready_check()
                rejections = cleanup.enter_context(_Rejections(self.stderr, options["errors"]))
                progress = cleanup.enter_context(
                    _Progress(self.stdout, intent_csv, quiet=options["quiet"])
                )
                summary = intents_import(
                    rows=intent_csv.rows,
                    batch_size=options["batch_size"],
                    sleep_seconds=options["sleep_time"],
                    dry_run=options["dry_run"],
                    strict=options["strict"],
                    create_missing_reasons=options["create_missing_reasons"],
                    on_rejected=rejections.add,
                    on_batch=progress.update,
                )
            except IntentFileError as error:
                raise CommandError(f"{source}: {error}") from None
            except DatabaseNotReady as error:
                raise CommandError(str(error)) from None
            except ImportDatabaseError as error:
                database_error, summary = error, error.summary
        self._report(summary, database_error, options)

    def _report(self, summary: ImportSummary, database_error, options) -> None:
        """The summary line, then the outcome: a CommandError for anything but success."""
        self.stdout.write(_summary_line(summary))
        _report_to_monitoring(summary, database_failed=database_error is not None)
        if summary.reasons_created:
            verb = "would be created" if summary.dry_run else "created"
            self.stdout.write(f"Reasons {verb}: {', '.join(summary.reasons_created)}")
        if database_error:
            raise CommandError(_database_failure(database_error))
        if summary.interrupted:
            raise CommandError(
                "Interrupted: committed batches are kept; run the same file again to finish.",
                returncode=130,
            )
        if summary.invalid:
            where = f" (see {options['errors']})" if options["errors"] else ""
            outcome = " Nothing was imported (--strict)." if summary.rolled_back else ""
            raise CommandError(f"{summary.invalid:,} invalid row(s){where}.{outcome}")
        if (
            summary.inserted == 0
            and summary.duplicates
            and not summary.retired
            and not summary.dry_run
        ):
            self.stdout.write("Nothing new: every row was already stored.")

    def _source(self, options) -> str:
        file, alias = options["file"], options["csv_filepath"]
        if file and alias and file != alias:
            raise CommandError("Give the CSV file once: as FILE or as --csv_filepath.")
        if not (file or alias):
            raise CommandError("No CSV file given: bulk_insert_intents FILE.csv (or - for stdin).")
        return file or alias


def _database_failure(error: ImportDatabaseError) -> str:
    summary = error.summary
    if summary.dry_run:
        outcome = "Nothing was written (--dry-run)."
    elif summary.rolled_back:
        outcome = "Nothing was imported (--strict); run the file again once it is fixed."
    elif not summary.inserted:
        outcome = "Nothing was inserted before it; run the file again once it is fixed."
    else:
        outcome = (
            f"The {summary.inserted:,} row(s) inserted before it are kept; "
            "run the same file again once it is fixed to finish the import."
        )
    return f"The database failed: {error} {outcome}"


def _report_to_monitoring(summary: ImportSummary, *, database_failed: bool) -> None:
    """The import's counts as custom attributes: numbers only, never a row's values."""
    # .. custom_attribute_name: pie.import.rows_read
    # .. custom_attribute_description: Data rows read from the CSV by bulk_insert_intents.
    set_custom_attribute("pie.import.rows_read", summary.rows_read)
    # .. custom_attribute_name: pie.import.inserted
    # .. custom_attribute_description: Intents stored (0 for a dry run).
    set_custom_attribute("pie.import.inserted", summary.inserted)
    # .. custom_attribute_name: pie.import.duplicates
    # .. custom_attribute_description: Rows skipped because the same intent was stored.
    set_custom_attribute("pie.import.duplicates", summary.duplicates)
    # .. custom_attribute_name: pie.import.retired
    # .. custom_attribute_description: Rows skipped because their learner is retired.
    set_custom_attribute("pie.import.retired", summary.retired)
    # .. custom_attribute_name: pie.import.invalid
    # .. custom_attribute_description: Rows rejected as invalid (reported by line number).
    set_custom_attribute("pie.import.invalid", summary.invalid)
    # .. custom_attribute_name: pie.import.outcome
    # .. custom_attribute_description: completed, dry_run, rolled_back (--strict with invalid
    #    rows), interrupted, or database_failed.
    if database_failed:
        outcome = "database_failed"
    elif summary.interrupted:
        outcome = "interrupted"
    elif summary.rolled_back:
        outcome = "rolled_back"
    elif summary.dry_run:
        outcome = "dry_run"
    else:
        outcome = "completed"
    set_custom_attribute("pie.import.outcome", outcome)


def _summary_line(summary: ImportSummary) -> str:
    if summary.dry_run:
        head = (
            f"Dry run, nothing written. Rows read: {summary.rows_read:,}, "
            f"valid: {summary.valid:,}{_retired(summary)}, invalid: {summary.invalid:,}"
        )
    else:
        head = (
            f"Rows read: {summary.rows_read:,}, inserted: {summary.inserted:,}, "
            f"duplicates skipped: {summary.duplicates:,}{_retired(summary)}, "
            f"invalid: {summary.invalid:,}"
        )
    return (
        f"{head}, elapsed: {summary.elapsed_seconds:.1f}s, {summary.rows_per_second:,.0f} rows/s."
    )


def _retired(summary: ImportSummary) -> str:
    """Shown only when it happened: most imports never meet a retired learner."""
    return f", skipped: retired learner: {summary.retired:,}" if summary.retired else ""


class _Rejections:
    """Reports each rejected row: to --errors FILE if given, else every one to stderr."""

    def __init__(self, stderr, path: str | None):
        self.stderr = stderr
        self.count = 0
        self.file = None
        if path:
            try:
                # surrogateescape writes undecodable input bytes back as they were read.
                self.file = open(path, "w", newline="", encoding="utf-8", errors="surrogateescape")
            except OSError as error:
                raise CommandError(f"--errors {path}: {error.strerror}.") from None
            self.writer = csv.writer(self.file)
            self.writer.writerow(["line_number", "error", *REQUIRED_COLUMNS])

    def __enter__(self) -> "_Rejections":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def add(self, rejected: RejectedRow) -> None:
        self.count += 1
        if self.file:
            self.writer.writerow(
                [
                    rejected.line_number,
                    spreadsheet_safe(rejected.problem),
                    *(spreadsheet_safe(rejected.values.get(name, "")) for name in REQUIRED_COLUMNS),
                ]
            )
            if self.count > ECHOED_REJECTIONS:
                return
        self.stderr.write(f"line {rejected.line_number}: {rejected.problem}")

    def close(self) -> None:
        if self.file:
            if self.count > ECHOED_REJECTIONS:
                self.stderr.write(
                    f"... and {self.count - ECHOED_REJECTIONS:,} more invalid row(s) in "
                    f"{self.file.name}."
                )
            self.file.close()


class _Progress:
    """A progress bar on a terminal; a log line every few seconds otherwise."""

    def __init__(self, stdout, intent_csv, *, quiet: bool):
        self.stdout = stdout
        self.intent_csv = intent_csv
        self.quiet = quiet
        self.tty = stdout.isatty()
        self.interval = PROGRESS_INTERVAL_TTY if self.tty else PROGRESS_INTERVAL_LOG
        self.last = time.monotonic()
        self.drawn = False

    def __enter__(self) -> "_Progress":
        return self

    def __exit__(self, *exc_info) -> None:
        self.finish()

    def update(self, summary: ImportSummary) -> None:
        if self.quiet or time.monotonic() - self.last < self.interval:
            return
        self.last = time.monotonic()
        counts = (
            f"{summary.rows_read:,} rows, {summary.inserted:,} inserted, "
            f"{summary.invalid:,} invalid, {summary.rows_per_second:,.0f} rows/s"
        )
        fraction = self._fraction()
        if self.tty:
            bar = ""
            if fraction is not None:
                filled = int(fraction * 30)
                bar = f"[{'#' * filled}{'.' * (30 - filled)}] {fraction:4.0%} "
            self.stdout.write(f"\r{bar}{counts}", ending="")
            self.stdout.flush()
            self.drawn = True
        else:
            done = f" ({fraction:.0%} of the file)" if fraction is not None else ""
            self.stdout.write(f"Progress: {counts}{done}")

    def _fraction(self) -> float | None:
        size, position = self.intent_csv.size_bytes, self.intent_csv.position()
        if not size or position is None:
            return None
        return min(position / size, 1.0)

    def finish(self) -> None:
        if self.drawn:
            self.stdout.write("")

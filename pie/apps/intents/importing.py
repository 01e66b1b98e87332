"""
Bulk import of historical intents from CSV (``manage.py bulk_insert_intents``).

The file is streamed: a forked reader process parses and validates rows one by one with the
same parsers as the API (intents.values) and hands them over in batches; this process writes
each batch with one set-based INSERT that lets the database's unique constraint drop
duplicates. Each batch commits on its own, so an interrupted import loses at most the batch
in flight and a re-run of the same file completes it without duplicates.
"""

import contextlib
import csv
import datetime
import gzip
import io
import multiprocessing
import os
import queue
import signal
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import DatabaseError, OperationalError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from pie.apps.core.selectors import retired_lms_user_ids
from pie.apps.intents.models import IntentReason, ProgramIntent
from pie.apps.intents.services import current_intents_offer
from pie.apps.intents.values import (
    InvalidValue,
    normalize_reason_code,
    parse_certainty,
    parse_effective_timestamp,
    parse_lms_user_id,
    parse_program_uuid,
    parse_program_uuid_hex,
)

REQUIRED_COLUMNS = (
    "program_uuid",
    "user_id",
    "intent_reason",
    "intent_certainty",
    "effective_time",
)
DEFAULT_BATCH_SIZE = 5000
# PostgreSQL binds at most 65,535 parameters per statement.
_MAX_STATEMENT_PARAMETERS = 65535


class IntentFileError(Exception):
    """The file cannot be imported at all (unreadable, not CSV, missing columns)."""


class DatabaseNotReady(Exception):
    """The database cannot take an import: unreachable, or PIE's tables not migrated."""


class ImportDatabaseError(Exception):
    """
    The database failed during the import. ``summary`` says what was done before it:
    batches committed until then are kept (none under --strict), the rest is not written.
    """

    def __init__(self, error: DatabaseError, summary: "ImportSummary"):
        super().__init__(_sentence(error))
        self.summary = summary


def _sentence(error: Exception) -> str:
    """A database's message as one line ending in punctuation (drivers add line breaks)."""
    text = " ".join(str(error).split()) or type(error).__name__
    return text if text.endswith((".", "?", "!")) else f"{text}."


class MalformedRecord(dict):
    """Stands in for a record the CSV reader could not split into fields."""

    def __init__(self, problem: str):
        super().__init__()
        self.problem = problem


@dataclass(frozen=True)
class RejectedRow:
    line_number: int
    problem: str
    values: dict[str, str]


@dataclass
class ImportSummary:
    rows_read: int = 0
    inserted: int = 0
    duplicates: int = 0
    retired: int = 0
    invalid: int = 0
    reasons_created: list[str] = field(default_factory=list)
    elapsed_seconds: float = 0.0
    interrupted: bool = False
    dry_run: bool = False
    rolled_back: bool = False

    @property
    def valid(self) -> int:
        return self.rows_read - self.invalid

    @property
    def rows_per_second(self) -> float:
        return self.rows_read / self.elapsed_seconds if self.elapsed_seconds else 0.0


@dataclass(frozen=True)
class IntentCsv:
    """An open CSV of intents: its rows as (line number, {column: value}) and its size."""

    rows: Iterator[tuple[int, dict[str, str]]]
    columns: list[str]
    size_bytes: int | None
    position: Callable[[], int | None]
    close: Callable[[], None]


def open_intent_csv(source: str | io.IOBase) -> IntentCsv:
    """
    Open a CSV file (``.gz`` is decompressed; ``-`` is standard input), read its header and
    check the required columns. Raises ``IntentFileError`` with one clear line otherwise.
    """
    raw, size = _open_binary(source)
    compressed = isinstance(source, str) and source.endswith(".gz")
    binary = gzip.GzipFile(fileobj=raw) if compressed else raw
    # surrogateescape keeps a row with invalid UTF-8 readable, so it is reported as one bad
    # row instead of stopping the import; utf-8-sig drops a byte-order mark.
    text = io.TextIOWrapper(binary, encoding="utf-8-sig", errors="surrogateescape", newline="")
    reader = csv.reader(text)
    try:
        columns = _read_header(reader)
    except IntentFileError:
        text.close()
        raise
    positions = {name: columns.index(name) for name in REQUIRED_COLUMNS}

    def position() -> int | None:
        try:
            return raw.tell()
        except (OSError, ValueError):
            return None

    def close() -> None:
        text.close()

    return IntentCsv(
        rows=_rows(reader, positions),
        columns=columns,
        size_bytes=size,
        position=position,
        close=close,
    )


def _read_header(reader) -> list[str]:
    """The header's column names, normalized; the required ones must all be there."""
    try:
        header = next(reader)
    except StopIteration:
        raise IntentFileError("The file is empty: a header row is required.") from None
    except (OSError, EOFError, csv.Error) as error:
        raise IntentFileError(f"The file cannot be read as CSV: {error}") from None
    columns = [name.strip().strip('"').strip().lower() for name in header]
    if any("\x00" in name or _has_undecodable(name) for name in columns):
        raise IntentFileError("The file is not UTF-8 CSV text (its header is binary).")
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    if missing:
        raise IntentFileError(
            f"Missing required column(s): {', '.join(missing)}. "
            f"Found: {', '.join(columns) or 'none'}. Required: {', '.join(REQUIRED_COLUMNS)}."
        )
    return columns


def _db_timestamp_adapter() -> Callable[[datetime.datetime], object]:
    """
    How the database takes an aware UTC datetime. Django's own adapter costs several
    microseconds a row; where the connection's time zone is UTC (always, unless DATABASES
    sets TIME_ZONE) the same value is made directly.
    """
    adapt = connection.ops.adapt_datetimefield_value
    if connection.features.supports_timezones:
        return adapt
    if connection.timezone_name == "UTC":
        return lambda value: str(value.replace(tzinfo=None))
    return adapt


def _open_binary(source) -> tuple:
    if not isinstance(source, str):
        return source, None
    if source == "-":
        # A file of our own on a copy of the descriptor: the reading process (multiprocessing)
        # closes sys.stdin as it starts.
        try:
            return os.fdopen(os.dup(sys.stdin.fileno()), "rb"), None
        except (OSError, ValueError, io.UnsupportedOperation) as error:
            raise IntentFileError(f"Cannot read standard input: {error}") from None
    path = Path(source)
    try:
        handle = path.open("rb")
        return handle, path.stat().st_size
    except IsADirectoryError:
        raise IntentFileError(f"{source} is a directory, not a CSV file.") from None
    except OSError as error:
        raise IntentFileError(f"Cannot open {source}: {error.strerror}.") from None


def _has_undecodable(text: str) -> bool:
    return any("\udc80" <= character <= "\udcff" for character in text)


def _rows(reader, positions: dict[str, int]) -> Iterator[tuple[int, dict[str, str]]]:
    width = max(positions.values()) + 1
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            # A malformed record (e.g. a field over the size limit): report it, carry on.
            yield reader.line_num, MalformedRecord(str(error))
            continue
        except (OSError, EOFError) as error:
            raise IntentFileError(
                f"Reading stopped at line {reader.line_num}: {error}. "
                "Batches before it are committed; re-run the fixed file to finish."
            ) from None
        if not values or (len(values) == 1 and not values[0].strip()):
            continue  # blank line
        if len(values) < width:
            values = values + [""] * (width - len(values))
        yield reader.line_num, {name: values[index] for name, index in positions.items()}


class _RowParser:
    """
    Turns one CSV record into the column values of an INSERT, or raises InvalidValue.

    It runs in the reading process, so it never touches the database: reasons are looked up
    in a snapshot taken at the start, and a reason to be created is left as its code for
    ``_ReasonResolver`` to replace in the importing process.
    """

    def __init__(self, *, known_reason_ids: dict[str, int], create_missing_reasons: bool):
        self.reason_ids = known_reason_ids
        self.create_missing_reasons = create_missing_reasons
        self.now = timezone.now()
        self.program_uuid = (
            parse_program_uuid
            if connection.features.has_native_uuid_field
            else parse_program_uuid_hex
        )
        self.db_timestamp = _db_timestamp_adapter()
        self.stamp = self.db_timestamp(self.now)
        self.columns = (
            ("user_id", parse_lms_user_id),
            ("program_uuid", self.program_uuid),
            ("intent_reason", self._reason),
            ("intent_certainty", parse_certainty),
            ("effective_time", self._timestamp),
        )

    def parse(self, values: dict[str, str]) -> tuple:
        if isinstance(values, MalformedRecord):
            raise InvalidValue(f"not a valid CSV record: {values.problem}")
        try:
            return (
                parse_lms_user_id(values["user_id"]),
                self.program_uuid(values["program_uuid"]),
                self._reason(values["intent_reason"]),
                parse_certainty(values["intent_certainty"]),
                self.db_timestamp(self._timestamp(values["effective_time"])),
                self.stamp,
                self.stamp,
            )
        except InvalidValue:
            raise InvalidValue(self._problems(values)) from None

    def _problems(self, values: dict[str, str]) -> str:
        """Every problem of an invalid row, column by column (the slow path)."""
        problems = []
        for column, parser in self.columns:
            raw = values[column]
            if not raw.strip():
                problems.append(f"{column}: missing value")
                continue
            try:
                parser(raw)
            except InvalidValue as error:
                problems.append(f"{column}: {error}")
        return "; ".join(problems)

    def _timestamp(self, raw: str) -> datetime.datetime:
        return parse_effective_timestamp(raw, now=self.now)

    def _reason(self, raw: str) -> int | str:
        """The reason's id; or, for a reason to be created, its code."""
        code = normalize_reason_code(raw)
        reason_id = self.reason_ids.get(code)
        if reason_id is not None:
            return reason_id
        if not self.create_missing_reasons:
            raise InvalidValue(
                f"unknown reason {code!r} (known: {', '.join(sorted(self.reason_ids))}; "
                "--create-missing-reasons adds it)"
            )
        try:
            IntentReason(code=code, default_certainty="MAYBE").clean()
        except ValidationError:
            raise InvalidValue(f"{code!r} is not a valid reason code") from None
        return code


class _ReasonResolver:
    """Creates the reasons a batch needs (--create-missing-reasons), in the importing process."""

    REASON_SLOT = 2

    def __init__(self, *, dry_run: bool):
        self.dry_run = dry_run
        self.created_ids: dict[str, int] = {}

    @property
    def created_codes(self) -> list[str]:
        return list(self.created_ids)

    def resolve(self, batch: "_Batch") -> list[tuple]:
        if not batch.pending_reasons:
            return batch.rows
        for code in batch.pending_reasons - set(self.created_ids):
            self.created_ids[code] = self._create(code)
        slot = self.REASON_SLOT
        return [
            row
            if type(row[slot]) is int
            else (*row[:slot], self.created_ids[row[slot]], *row[slot + 1 :])
            for row in batch.rows
        ]

    def _create(self, code: str) -> int:
        if self.dry_run:
            return -len(self.created_ids) - 1  # never written
        reason, _ = IntentReason.objects.get_or_create(
            code=code, defaults={"default_certainty": "MAYBE", "description": "Created by import."}
        )
        return reason.id


@dataclass
class _Batch:
    """Up to batch_size rows as read: the valid ones parsed, the invalid ones rejected."""

    rows: list[tuple] = field(default_factory=list)
    pending_reasons: set[str] = field(default_factory=set)
    rejected: list[RejectedRow] = field(default_factory=list)
    rows_read: int = 0


class _ParsedBatches:
    """
    Reads and parses the CSV in a child process, so that parsing (Python, bound by one
    core) runs while this process waits for the database to write the previous batch. The
    child never touches the database; it hands over batches through a queue at most two
    deep, so memory stays flat. Uses fork: the child inherits the open file (or stdin).
    """

    _DONE = "done"
    _QUEUE_DEPTH = 2

    def __init__(self, *, rows, parser: _RowParser, batch_size: int):
        context = multiprocessing.get_context("fork")
        self._queue = context.Queue(maxsize=self._QUEUE_DEPTH)
        self._stop = context.Event()
        self._process = context.Process(
            target=self._produce,
            args=(rows, parser, batch_size),
            name="intent-csv-parser",
            daemon=True,
        )
        self._process.start()

    def __iter__(self) -> Iterator[_Batch]:
        while True:
            try:
                kind, payload = self._queue.get(timeout=1)
            except queue.Empty:
                if not self._process.is_alive():
                    raise IntentFileError("The CSV reader stopped unexpectedly.") from None
                continue
            if kind == self._DONE:
                return
            if kind == "error":
                raise payload
            yield payload

    def close(self) -> None:
        """Stop the reader (after an interruption or error) and wait for it."""
        self._stop.set()
        while self._process.is_alive():
            try:
                self._queue.get(timeout=0.1)
            except queue.Empty:
                pass
        self._process.join()
        self._queue.close()

    def _produce(self, rows, parser: _RowParser, batch_size: int) -> None:
        # Ctrl-C reaches the whole process group; the parent decides what happens.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            batch = _Batch()
            for line_number, values in rows:
                batch.rows_read += 1
                try:
                    row = parser.parse(values)
                except InvalidValue as error:
                    batch.rejected.append(RejectedRow(line_number, str(error), dict(values)))
                else:
                    if type(row[_ReasonResolver.REASON_SLOT]) is str:
                        batch.pending_reasons.add(row[_ReasonResolver.REASON_SLOT])
                    batch.rows.append(row)
                if batch.rows_read >= batch_size:
                    if not self._put("batch", batch):
                        return
                    batch = _Batch()
            if batch.rows_read:
                self._put("batch", batch)
            self._put(self._DONE, None)
        except Exception as error:  # noqa: BLE001  (handed to the parent, which raises it)
            if not isinstance(error, IntentFileError):
                error = IntentFileError(f"Reading the CSV failed: {error!r}")
            self._put("error", error)
        finally:
            self._queue.close()
            self._queue.join_thread()

    def _put(self, kind: str, payload) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put((kind, payload), timeout=0.1)
                return True
            except queue.Full:
                continue
        return False


class _IntentWriter:
    """
    Inserts a batch with one set-based statement; the unique constraint skips duplicates.

    - SQLite: one prepared ``INSERT ... ON CONFLICT DO NOTHING`` run over the batch
      (executemany), SQLite's fastest bulk path.
    - PostgreSQL: the batch is streamed with COPY into a temporary table, then one
      ``INSERT ... SELECT ... ON CONFLICT DO NOTHING`` moves it; far faster than binding
      tens of thousands of parameters.
    - MySQL/MariaDB: multi-row ``INSERT IGNORE`` (what bulk_create(ignore_conflicts=True)
      uses there). IGNORE would also skip rows breaking other constraints; every row is
      validated first, so in practice only duplicate keys are skipped.

    Then, in the same transaction, one statement offers the batch's new intents to
    CurrentIntent (services.current_intents_offer).
    """

    COLUMNS = (
        "lms_user_id",
        "program_uuid",
        "reason",
        "certainty",
        "effective_timestamp",
        "created",
        "modified",
    )
    STAGING_TABLE = "pie_intent_import_batch"

    def __init__(self):
        meta = ProgramIntent._meta
        quote = connection.ops.quote_name
        self.table = quote(meta.db_table)
        self.id_column = quote(meta.pk.column)
        self.columns = ", ".join(quote(meta.get_field(name).column) for name in self.COLUMNS)
        self.row_placeholder = "(" + ", ".join(["%s"] * len(self.COLUMNS)) + ")"
        self.vendor = connection.vendor
        self.rows_per_statement = _MAX_STATEMENT_PARAMETERS // len(self.COLUMNS)

    def write(self, rows: list[tuple]) -> int:
        """
        Insert the rows (inside the caller's transaction) and offer the new ones to the
        learners' current intents, set-based, once for the batch; return how many were new.
        """
        with connection.cursor() as cursor:
            # Every id the database allocates from now on is above this one: the batch's new
            # rows are the ones above it (with, at most, other writers' committed rows, which
            # offering again changes nothing).
            cursor.execute(f"SELECT MAX({self.id_column}) FROM {self.table}")
            last_id_before = cursor.fetchone()[0] or 0
        inserted = self._insert(rows)
        if inserted:
            current_intents_offer(intents=ProgramIntent.objects.filter(id__gt=last_id_before))
        return inserted

    def _insert(self, rows: list[tuple]) -> int:
        # In unique-key order (the tuples start with the key's columns), so that imports
        # running at once take their row locks in the same order and cannot deadlock.
        rows = sorted(rows)
        with connection.cursor() as cursor:
            if self.vendor == "postgresql":
                return self._copy_then_insert(cursor, rows)
            if self.vendor == "sqlite":
                cursor.executemany(
                    f"INSERT INTO {self.table} ({self.columns}) VALUES {self.row_placeholder} "
                    "ON CONFLICT DO NOTHING",
                    rows,
                )
                return cursor.rowcount
            inserted = 0
            for start in range(0, len(rows), self.rows_per_statement):
                chunk = rows[start : start + self.rows_per_statement]
                placeholders = ", ".join([self.row_placeholder] * len(chunk))
                cursor.execute(
                    f"INSERT IGNORE INTO {self.table} ({self.columns}) VALUES {placeholders}",
                    [value for row in chunk for value in row],
                )
                inserted += cursor.rowcount
            return inserted

    def _copy_then_insert(self, cursor, rows: list[tuple]) -> int:
        staging = self.STAGING_TABLE
        # Temporary: private to this connection; emptied at each commit.
        cursor.execute(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {staging} ("
            "lms_user_id integer, program_uuid uuid, reason_id bigint, certainty varchar(16), "
            "effective_timestamp timestamptz, created timestamptz, modified timestamptz"
            ") ON COMMIT DELETE ROWS"
        )
        with cursor.cursor.copy(f"COPY {staging} FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        cursor.execute(
            f"INSERT INTO {self.table} ({self.columns}) SELECT * FROM {staging} "
            "ORDER BY 1, 2, 3, 4, 5 ON CONFLICT DO NOTHING"
        )
        inserted = cursor.rowcount
        cursor.execute(f"TRUNCATE {staging}")
        return inserted


DEADLOCK_RETRIES = 3


def _write_batch(writer: _IntentWriter, rows: list[tuple]) -> int:
    """
    Write one batch in its own transaction. Should the database still pick it as a deadlock
    victim (another writer locking in another order), the whole batch is retried: nothing
    of it was kept. Inside --strict's single transaction nothing can be retried.
    """
    for attempt in range(1, DEADLOCK_RETRIES + 1):
        try:
            with transaction.atomic():
                return writer.write(rows)
        except OperationalError as error:
            if connection.in_atomic_block or attempt == DEADLOCK_RETRIES:
                raise
            if not _is_deadlock(error):
                raise
            time.sleep(0.05 * attempt)
    raise AssertionError("unreachable")


def _is_deadlock(error: OperationalError) -> bool:
    cause = error.__cause__
    code = getattr(cause, "sqlstate", None) or (getattr(cause, "args", None) or [None])[0]
    # PostgreSQL: SQLSTATE 40P01; MySQL/MariaDB: errors 1213 (deadlock), 1205 (lock timeout).
    return code in ("40P01", 1213, 1205)


def database_ready_check() -> None:
    """
    Raise ``DatabaseNotReady`` unless the database is reachable and has every migration
    the intents app needs, so an import never starts against a missing or outdated schema.
    """
    try:
        executor = MigrationExecutor(connection)
        targets = [node for node in executor.loader.graph.leaf_nodes() if node[0] == "intents"]
        unapplied = executor.migration_plan(targets)
    except DatabaseError as error:
        raise DatabaseNotReady(f"Cannot use the database: {_sentence(error)}") from None
    if unapplied:
        raise DatabaseNotReady(
            f"The database is not migrated ({len(unapplied)} migration(s) to apply): "
            "run ./manage.py migrate first."
        )


def intents_import(
    *,
    rows: Iterable[tuple[int, dict[str, str]]],
    batch_size: int = DEFAULT_BATCH_SIZE,
    sleep_seconds: float = 0.0,
    dry_run: bool = False,
    strict: bool = False,
    create_missing_reasons: bool = False,
    on_rejected: Callable[[RejectedRow], None] = lambda rejected: None,
    on_batch: Callable[[ImportSummary], None] = lambda summary: None,
) -> ImportSummary:
    """
    Import CSV rows of intents; return what happened (``elapsed_seconds`` includes SQLite's
    final checkpoint; during the import it is the time so far, for progress reports).

    - Every valid row ends up stored exactly once: duplicates in the file, rows already
      stored and re-runs are skipped by the unique constraint (counted as ``duplicates``).
    - Rows of retired learners are never written (counted as ``retired``).
    - Every invalid row goes to ``on_rejected`` with its line number and problem; the others
      are imported, unless ``strict``, where one invalid row means nothing is written.
    - Normally each batch commits on its own. ``strict`` runs in one transaction, rolled back
      if any row is invalid. ``dry_run`` validates and counts, and writes nothing.
    - A KeyboardInterrupt rolls back the batch in flight and ends the import early; the
      summary says so.
    - A database error rolls back the batch in flight (everything, under ``strict``) and
      raises ``ImportDatabaseError`` carrying the summary of what was kept.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    summary = ImportSummary(dry_run=dry_run)
    options = dict(
        summary=summary,
        rows=rows,
        batch_size=batch_size,
        sleep_seconds=sleep_seconds,
        create_missing_reasons=create_missing_reasons,
        on_rejected=on_rejected,
        on_batch=on_batch,
    )
    single_transaction = strict and not dry_run
    started = time.monotonic()
    try:
        with _sqlite_checkpoint_deferred():
            if not single_transaction:
                _import(**options, keep_writing=lambda summary: True)
            else:
                with transaction.atomic():
                    # Once a row is invalid nothing will be kept: stop writing, only validate.
                    _import(**options, keep_writing=lambda summary: not summary.invalid)
                    if summary.invalid or summary.interrupted:
                        transaction.set_rollback(True)
                        _rolled_back(summary)
    except DatabaseError as error:
        if single_transaction:
            _rolled_back(summary)
        summary.elapsed_seconds = time.monotonic() - started
        raise ImportDatabaseError(error, summary) from error
    summary.elapsed_seconds = time.monotonic() - started  # the final checkpoint included
    return summary


def _without_retired_learners(rows: list[tuple], summary: ImportSummary) -> list[tuple]:
    """The rows whose learner is not retired; the others are counted in ``summary.retired``."""
    retired = retired_lms_user_ids(row[0] for row in rows)  # rows start with the LMS user id
    if not retired:
        return rows
    kept = [row for row in rows if row[0] not in retired]
    summary.retired += len(rows) - len(kept)
    return kept


def _rolled_back(summary: ImportSummary) -> None:
    summary.rolled_back = True
    summary.inserted = summary.duplicates = 0
    summary.reasons_created = []  # created in the same transaction


# SQLite copies the write-ahead log into the database every 1,000 pages (4 MB) by default.
# An import dirties pages all over the unique index, so it would copy the same pages again
# and again: at 1M rows that halves the rate. During an import the log may grow to this
# many pages (400 MB of disk at most) and is copied once, at the end.
SQLITE_IMPORT_CHECKPOINT_PAGES = 100_000


@contextlib.contextmanager
def _sqlite_checkpoint_deferred():
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        wal = cursor.fetchone()[0].lower() == "wal"
        if wal:
            cursor.execute("PRAGMA wal_autocheckpoint")
            previous = int(cursor.fetchone()[0])
            cursor.execute(f"PRAGMA wal_autocheckpoint={SQLITE_IMPORT_CHECKPOINT_PAGES}")
    try:
        yield
    finally:
        if wal:
            with connection.cursor() as cursor:
                cursor.execute(f"PRAGMA wal_autocheckpoint={previous}")
                cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def _import(
    *,
    summary,
    rows,
    batch_size,
    sleep_seconds,
    create_missing_reasons,
    on_rejected,
    on_batch,
    keep_writing,
) -> None:
    """Read, check and write the batches, counting in ``summary`` as it goes."""
    dry_run = summary.dry_run
    started = time.monotonic()
    writer = _IntentWriter()
    reasons = _ReasonResolver(dry_run=dry_run)
    parser = _RowParser(
        known_reason_ids=dict(IntentReason.objects.values_list("code", "id")),
        create_missing_reasons=create_missing_reasons,
    )
    batches = _ParsedBatches(rows=rows, parser=parser, batch_size=batch_size)
    try:
        for batch in batches:
            summary.rows_read += batch.rows_read
            summary.invalid += len(batch.rejected)
            for rejected in batch.rejected:
                on_rejected(rejected)
            rows_to_write = _without_retired_learners(reasons.resolve(batch), summary)
            if rows_to_write and not dry_run and keep_writing(summary):
                inserted = _write_batch(writer, rows_to_write)
                summary.inserted += inserted
                summary.duplicates += len(rows_to_write) - inserted
            summary.elapsed_seconds = time.monotonic() - started
            on_batch(summary)
            if sleep_seconds:
                time.sleep(sleep_seconds)
    except KeyboardInterrupt:
        summary.interrupted = True
    finally:
        batches.close()
        summary.reasons_created = reasons.created_codes

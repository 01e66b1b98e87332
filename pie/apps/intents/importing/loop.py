"""
The import loop: batches of parsed rows (rows.py, read in a forked child, forked.py) go to
the database's writer (writers.py), each batch in its own transaction, counted as they go.
"""

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.db import DatabaseError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

from pie.apps.core.selectors import retired_lms_user_ids
from pie.apps.intents.importing.forked import ForkedBatches, forking_is_safe
from pie.apps.intents.importing.rows import (
    LMS_USER_ID_SLOT,
    ReasonResolver,
    RejectedRow,
    RowParser,
    parsed_batches,
)
from pie.apps.intents.importing.writers import intent_writer, write_batch
from pie.apps.intents.models import IntentReason

# Rows per committed batch. Every batch writes its rows and their current intents (ADR
# 0008) into indexes in random order: the more rows share a batch, the more of them share
# each page it dirties. At 1M rows, 5,000 against 20,000 rows a batch: SQLite 23,100-23,500
# against 34,900-36,000 rows/s, PostgreSQL 39,300 against 43,000, MariaDB 15,700 against
# 28,100 (docs/performance.rst). An interrupted import loses the batch in flight; running it
# again skips what was stored.
DEFAULT_BATCH_SIZE = 20_000


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


class DatabaseNotReady(Exception):
    """The database cannot take an import: unreachable, or PIE's tables not migrated."""


class ImportDatabaseError(Exception):
    """
    The database failed during the import. ``summary`` says what was done before it:
    batches committed until then are kept (none under --strict), the rest is not written.
    """

    def __init__(self, error: DatabaseError, summary: ImportSummary):
        super().__init__(_sentence(error))
        self.summary = summary


def _sentence(error: Exception) -> str:
    """A database's message as one line ending in punctuation (drivers add line breaks)."""
    text = " ".join(str(error).split()) or type(error).__name__
    return text if text.endswith((".", "?", "!")) else f"{text}."


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
    Import CSV records of intents (``open_intent_csv(...).rows``); return what happened
    (``elapsed_seconds`` includes SQLite's final checkpoint; during the import it is the time
    so far, for progress reports).

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
    single_transaction = strict and not dry_run
    started = time.monotonic()
    run = _ImportRun(
        summary=summary,
        strict=single_transaction,
        batch_size=batch_size,
        sleep_seconds=sleep_seconds,
        create_missing_reasons=create_missing_reasons,
        on_rejected=on_rejected,
        on_batch=on_batch,
    )
    try:
        with run.writer.session():
            if not single_transaction:
                run.import_rows(rows)
            else:
                with transaction.atomic():
                    run.import_rows(rows)
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


def _rolled_back(summary: ImportSummary) -> None:
    summary.rolled_back = True
    summary.inserted = summary.duplicates = 0
    summary.reasons_created = []  # created in the same transaction


class _ImportRun:
    """One import's parts, and the loop over its batches."""

    def __init__(
        self,
        *,
        summary,
        strict,
        batch_size,
        sleep_seconds,
        create_missing_reasons,
        on_rejected,
        on_batch,
    ):
        self.summary = summary
        self.strict = strict
        self.batch_size = batch_size
        self.sleep_seconds = sleep_seconds
        self.on_rejected = on_rejected
        self.on_batch = on_batch
        self.writer = intent_writer()
        self.reasons = ReasonResolver(dry_run=summary.dry_run)
        self.parser = RowParser(
            known_reason_ids=dict(IntentReason.objects.values_list("code", "id")),
            create_missing_reasons=create_missing_reasons,
        )

    def import_rows(self, records: Iterable) -> None:
        """Read, check and write the batches, counting in the summary as it goes."""
        summary = self.summary
        started = time.monotonic()
        batches = parsed_batches(records, parser=self.parser, batch_size=self.batch_size)
        if forking_is_safe():
            batches = ForkedBatches(batches)
        try:
            for batch in batches:
                summary.rows_read += batch.rows_read
                summary.invalid += len(batch.rejected)
                for rejected in batch.rejected:
                    self.on_rejected(rejected)
                rows = self._without_retired_learners(self.reasons.resolve(batch))
                if rows and self._writing():
                    inserted = write_batch(self.writer, rows)
                    summary.inserted += inserted
                    summary.duplicates += len(rows) - inserted
                summary.elapsed_seconds = time.monotonic() - started
                self.on_batch(summary)
                if self.sleep_seconds:
                    time.sleep(self.sleep_seconds)
        except KeyboardInterrupt:
            summary.interrupted = True
        finally:
            batches.close()
            summary.reasons_created = self.reasons.created_codes

    def _writing(self) -> bool:
        # Under --strict, once a row is invalid nothing will be kept: only validate.
        return not self.summary.dry_run and not (self.strict and self.summary.invalid)

    def _without_retired_learners(self, rows: list[tuple]) -> list[tuple]:
        """The rows whose learner is not retired; the others are counted as ``retired``."""
        retired = retired_lms_user_ids(row[LMS_USER_ID_SLOT] for row in rows)
        if not retired:
            return rows
        kept = [row for row in rows if row[LMS_USER_ID_SLOT] not in retired]
        self.summary.retired += len(rows) - len(kept)
        return kept

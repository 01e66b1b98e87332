"""
Writing parsed rows, one writer per database. Each inserts a batch with one set-based
statement that lets the unique constraint skip duplicates, then, in the same transaction,
offers the batch's new intents to CurrentIntent once, set-based
(services.current_intents_offer).
"""

import contextlib
import time
from collections.abc import Iterator

from django.db import OperationalError, connection, transaction

from pie.apps.intents.importing.rows import ROW_FIELDS
from pie.apps.intents.models import ProgramIntent
from pie.apps.intents.services import current_intents_offer

DEADLOCK_RETRIES = 3


class IntentWriter:
    """What every writer shares: the table, its columns, and the offer after the insert."""

    def __init__(self):
        meta = ProgramIntent._meta
        quote = connection.ops.quote_name
        self.table = quote(meta.db_table)
        self.id_column = quote(meta.pk.column)
        self.columns = ", ".join(quote(meta.get_field(name).column) for name in ROW_FIELDS)
        self.row_placeholder = "(" + ", ".join(["%s"] * len(ROW_FIELDS)) + ")"

    @contextlib.contextmanager
    def session(self) -> Iterator[None]:
        """Around a whole import: database settings that only an import wants."""
        yield

    def write(self, rows: list[tuple]) -> int:
        """
        Insert the rows (inside the caller's transaction) and offer the new ones to the
        learners' current intents; return how many were new.
        """
        with connection.cursor() as cursor:
            # Every id the database allocates from now on is above this one: the batch's new
            # rows are the ones above it (with, at most, other writers' committed rows, which
            # offering again changes nothing).
            cursor.execute(f"SELECT MAX({self.id_column}) FROM {self.table}")
            last_id_before = cursor.fetchone()[0] or 0
            # In unique-key order (rows start with the key's columns), so that imports running
            # at once take their row locks in the same order and cannot deadlock.
            inserted = self.insert(cursor, sorted(rows))
            if not inserted:
                return 0
            cursor.execute(f"SELECT MAX({self.id_column}) FROM {self.table}")
            last_id_after = cursor.fetchone()[0]
        # Bounded on both sides: with only a lower bound, SQLite's planner reads the whole
        # unique index in (learner, program) order to spare itself a sort, so every batch
        # scanned every intent stored so far (at 1M rows, most of the import's time).
        current_intents_offer(
            intents=ProgramIntent.objects.filter(id__gt=last_id_before, id__lte=last_id_after)
        )
        return inserted

    def insert(self, cursor, rows: list[tuple]) -> int:
        raise NotImplementedError


class SqliteIntentWriter(IntentWriter):
    """One prepared ``INSERT ... ON CONFLICT DO NOTHING`` over the batch (executemany)."""

    # SQLite copies the write-ahead log into the database every 1,000 pages (4 MB) by
    # default. An import dirties pages all over the unique index, so it would copy the same
    # pages again and again: at 1M rows that halves the rate. During an import the log may
    # grow to this many pages (400 MB of disk at most) and is copied once, at the end.
    CHECKPOINT_PAGES = 100_000
    # The connection's page cache during an import, in KiB (settings give 64 MB). Past
    # 200,000 rows the indexes written in random order outgrow any cache that size and are
    # read from the OS's; what helps is holding a batch's dirty pages (SQLite spills them to
    # the log mid-batch otherwise). At 1M rows and 20,000-row batches: 48 MB imported 39,300
    # to 39,700 rows/s with a 214 MB peak, 32 MB 34,500 to 36,600 rows/s with 194 MB; the
    # import keeps under 200 MB (docs/performance.rst, "CSV import").
    CACHE_KIB = 32 * 1024

    def insert(self, cursor, rows: list[tuple]) -> int:
        cursor.executemany(
            f"INSERT INTO {self.table} ({self.columns}) VALUES {self.row_placeholder} "
            "ON CONFLICT DO NOTHING",
            rows,
        )
        return cursor.rowcount

    @contextlib.contextmanager
    def session(self) -> Iterator[None]:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA cache_size")
            previous_cache_size = int(cursor.fetchone()[0])
            cursor.execute(f"PRAGMA cache_size=-{self.CACHE_KIB}")
            cursor.execute("PRAGMA journal_mode")
            wal = cursor.fetchone()[0].lower() == "wal"
            if wal:
                cursor.execute("PRAGMA wal_autocheckpoint")
                previous = int(cursor.fetchone()[0])
                cursor.execute(f"PRAGMA wal_autocheckpoint={self.CHECKPOINT_PAGES}")
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute(f"PRAGMA cache_size={previous_cache_size}")
                if wal:
                    cursor.execute(f"PRAGMA wal_autocheckpoint={previous}")
                    cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")


class PostgresIntentWriter(IntentWriter):
    """
    COPY into a temporary table, then one ``INSERT ... SELECT ... ON CONFLICT DO NOTHING``:
    far faster than binding tens of thousands of parameters.
    """

    STAGING_TABLE = "pie_intent_import_batch"

    def insert(self, cursor, rows: list[tuple]) -> int:
        staging = self.STAGING_TABLE
        # Temporary: private to this connection; emptied at each commit.
        cursor.execute(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {staging} ("
            "lms_user_id integer, program_uuid uuid, reason_id bigint, certainty varchar(16), "
            "effective_timestamp timestamptz, created timestamptz"
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


class MysqlIntentWriter(IntentWriter):
    """
    Multi-row ``INSERT IGNORE`` (what bulk_create(ignore_conflicts=True) uses there). IGNORE
    would also skip rows breaking other constraints; every row is validated first, so in
    practice only duplicate keys are skipped.

    The rows are written into the statement rather than bound as parameters: mysqlclient
    binds by converting each value in Python, about 12 µs a row (under cProfile, 2.5 s of a
    200,000-row import's 8.2 s; docs/performance.rst, "CSV import"). By now every value
    has its type: the integers are written by ``%d`` (which takes nothing else), and the
    strings (the program's UUID, the certainty and the timestamps, as the database takes
    them) are quoted and escaped by the driver's own ``string_literal``.
    """

    # Far below max_allowed_packet (16 MB by default) at about 100 bytes a row.
    ROWS_PER_STATEMENT = 10_000

    def insert(self, cursor, rows: list[tuple]) -> int:
        quote = cursor.db.connection.string_literal
        inserted = 0
        for start in range(0, len(rows), self.ROWS_PER_STATEMENT):
            # In ROW_FIELDS' order.
            values = b", ".join(
                b"(%d, %s, %d, %s, %s, %s)"
                % (
                    user,
                    quote(program.encode()),
                    reason,
                    quote(certainty.encode()),
                    quote(effective.encode()),
                    quote(created.encode()),
                )
                for user, program, reason, certainty, effective, created in rows[
                    start : start + self.ROWS_PER_STATEMENT
                ]
            )
            cursor.execute(
                f"INSERT IGNORE INTO {self.table} ({self.columns}) VALUES ".encode() + values
            )
            inserted += cursor.rowcount
        return inserted


def intent_writer() -> IntentWriter:
    """The writer for the default database."""
    writers = {
        "sqlite": SqliteIntentWriter,
        "postgresql": PostgresIntentWriter,
        "mysql": MysqlIntentWriter,
    }
    return writers[connection.vendor]()


def write_batch(writer: IntentWriter, rows: list[tuple]) -> int:
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
            if connection.in_atomic_block or attempt == DEADLOCK_RETRIES or not _is_deadlock(error):
                raise
            time.sleep(0.05 * attempt)
    raise AssertionError("unreachable")


def _is_deadlock(error: OperationalError) -> bool:
    cause = error.__cause__
    code = getattr(cause, "sqlstate", None) or (getattr(cause, "args", None) or [None])[0]
    # PostgreSQL: SQLSTATE 40P01; MySQL/MariaDB: errors 1213 (deadlock), 1205 (lock timeout).
    return code in ("40P01", 1213, 1205)

"""
Bulk import of historical intents from CSV (``manage.py bulk_insert_intents``).

The file is streamed through four parts, each in its own module:

- ``source``: opens the file (``.gz``, ``-`` for stdin), checks its header, yields records;
- ``rows``: parses and validates each record with the API's parsers (intents.values), in
  batches; ``forked`` runs that in a child process while this one writes;
- ``writers``: one per database, each inserting a batch with one set-based statement that
  lets the unique constraint drop duplicates, then updating CurrentIntent once per batch;
- ``loop``: ties them, each batch in its own transaction, so an interrupted import loses at
  most the batch in flight and a re-run of the same file completes it without duplicates.
"""

from pie.apps.intents.importing.loop import (
    DEFAULT_BATCH_SIZE,
    DatabaseNotReady,
    ImportDatabaseError,
    ImportSummary,
    database_ready_check,
    intents_import,
)
from pie.apps.intents.importing.rows import RejectedRow
from pie.apps.intents.importing.source import (
    REQUIRED_COLUMNS,
    IntentCsv,
    IntentFileError,
    open_intent_csv,
)

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "REQUIRED_COLUMNS",
    "DatabaseNotReady",
    "ImportDatabaseError",
    "ImportSummary",
    "IntentCsv",
    "IntentFileError",
    "RejectedRow",
    "database_ready_check",
    "intents_import",
    "open_intent_csv",
]

"""
Batches produced in a forked child process, so that reading and parsing the CSV (Python,
bound by one core) runs while this process waits for the database to write the previous
batch. docs/decisions/0011-forked-csv-reader.rst gives the measurement that keeps it.

The child never touches the database; it hands batches over through a queue at most two
deep, so memory stays flat. Fork, not spawn: the child inherits the open file (or stdin).
"""

import multiprocessing
import queue
import signal
import threading
from collections.abc import Iterator

from pie.apps.intents.importing.source import IntentFileError

_QUEUE_DEPTH = 2
_BATCH, _DONE, _ERROR = "batch", "done", "error"


def forking_is_safe() -> bool:
    """
    Whether this process may fork its reader: only while it runs one thread. In a forked
    child another thread's database connection is garbage (its thread is gone there), and
    once the child's garbage collector frees it, mysqlclient says goodbye to the server
    (COM_QUIT) on the socket that the parent's thread still uses: that thread's next query
    fails ("Lost connection to server during query") or, mid-query, is corrupted
    (test_concurrency.py; psycopg 3 did not). Called from a threaded process (a threaded web
    worker, a task runner, tests), the import reads in its own process instead.
    """
    return threading.active_count() == 1


class ForkedBatches:
    """Iterates over what ``batches`` yields in a child process; ``close()`` stops it."""

    def __init__(self, batches: Iterator):
        context = multiprocessing.get_context("fork")
        self._queue = context.Queue(maxsize=_QUEUE_DEPTH)
        self._stop = context.Event()
        self._process = context.Process(
            target=self._produce, args=(batches,), name="intent-csv-parser", daemon=True
        )
        self._process.start()

    def __iter__(self) -> Iterator:
        while True:
            try:
                kind, payload = self._queue.get(timeout=1)
            except queue.Empty:
                if not self._process.is_alive():
                    raise IntentFileError("The CSV reader stopped unexpectedly.") from None
                continue
            if kind == _DONE:
                return
            if kind == _ERROR:
                raise payload
            yield payload

    def close(self) -> None:
        """Stop the child (after an interruption or error) and wait for it."""
        self._stop.set()
        while self._process.is_alive():
            try:
                self._queue.get(timeout=0.1)
            except queue.Empty:
                pass
        self._process.join()
        self._queue.close()

    def _produce(self, batches: Iterator) -> None:
        # Ctrl-C reaches the whole process group; the parent decides what happens.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            for batch in batches:
                if not self._put(_BATCH, batch):
                    return
            self._put(_DONE, None)
        except Exception as error:  # noqa: BLE001  (handed to the parent, which raises it)
            if not isinstance(error, IntentFileError):
                error = IntentFileError(f"Reading the CSV failed: {error!r}")
            self._put(_ERROR, error)
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

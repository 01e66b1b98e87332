"""
The CSV side of an import: opening the file (``.gz`` decompressed, ``-`` for standard input),
checking its header, and yielding its records as (line number, {required column: value}).
Nothing here knows what a valid intent is (that is ``rows``).
"""

import csv
import gzip
import io
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

REQUIRED_COLUMNS = (
    "program_uuid",
    "user_id",
    "intent_reason",
    "intent_certainty",
    "effective_time",
)


class IntentFileError(Exception):
    """The file cannot be imported at all (unreadable, not CSV, missing columns)."""


class MalformedRecord(dict):
    """Stands in for a record the CSV reader could not split into fields."""

    def __init__(self, problem: str):
        super().__init__()
        self.problem = problem


@dataclass(frozen=True)
class IntentCsv:
    """An open CSV of intents: its records, its size and how far it has been read."""

    rows: Iterator[tuple[int, dict[str, str]]]
    size_bytes: int | None
    position: Callable[[], int | None]
    close: Callable[[], None]


def open_intent_csv(source: str | BinaryIO) -> IntentCsv:
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

    def position() -> int | None:
        try:
            return raw.tell()
        except (OSError, ValueError):
            return None

    return IntentCsv(
        rows=_records(reader, {name: columns.index(name) for name in REQUIRED_COLUMNS}),
        size_bytes=size,
        position=position,
        close=text.close,
    )


def _open_binary(source: str | BinaryIO) -> tuple[BinaryIO, int | None]:
    if not isinstance(source, str):
        return source, None
    if source == "-":
        # A file of our own on a copy of the descriptor: the reading process (forked.py)
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


def _has_undecodable(text: str) -> bool:
    return any("\udc80" <= character <= "\udcff" for character in text)


def _records(reader, positions: dict[str, int]) -> Iterator[tuple[int, dict[str, str]]]:
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

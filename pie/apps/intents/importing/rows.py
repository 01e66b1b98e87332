"""
From CSV records to the rows a writer inserts, in batches: each record is parsed and
validated by the same parsers as the API (intents.values), or rejected with every problem it
has. Nothing here queries the database, so it may run in another process (forked.py).
"""

import datetime
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from pie.apps.intents.importing.source import MalformedRecord
from pie.apps.intents.models import IntentReason
from pie.apps.intents.values import (
    InvalidValue,
    normalize_reason_code,
    parse_certainty,
    parse_effective_timestamp,
    parse_lms_user_id,
    parse_program_uuid_hex,
)

# The values of a parsed row, in the order writers insert them. The first five are the unique
# key of ProgramIntent, so that sorting rows sorts them in key order. Every value is an int or
# a str: the program's UUID is its 32 hex digits, which every database takes (and which sort
# as the UUIDs do), because rows cross from the forked reader to the writer by pickle, where
# a UUID object costs about 3 µs a row to rebuild.
ROW_FIELDS = (
    "lms_user_id",
    "program_uuid",
    "reason",
    "certainty",
    "effective_timestamp",
    "created",
)
LMS_USER_ID_SLOT = 0
REASON_SLOT = 2


@dataclass(frozen=True)
class RejectedRow:
    line_number: int
    problem: str
    values: dict[str, str]


@dataclass
class Batch:
    """Up to batch_size records as read: the valid ones parsed, the invalid ones rejected."""

    rows: list[tuple] = field(default_factory=list)
    pending_reasons: set[str] = field(default_factory=set)
    rejected: list[RejectedRow] = field(default_factory=list)
    rows_read: int = 0


def _db_timestamp_adapter() -> Callable[[datetime.datetime], object]:
    """
    How the database takes an aware UTC datetime. Django's own adapter costs several
    microseconds a row; where the connection's time zone is UTC (always, unless DATABASES
    sets TIME_ZONE) the same value is made directly.
    """
    adapt = connection.ops.adapt_datetimefield_value
    if not connection.features.supports_timezones and connection.timezone_name == "UTC":
        return lambda value: str(value.replace(tzinfo=None))
    return adapt


class RowParser:
    """
    Turns one CSV record into a row of ROW_FIELDS as the database takes them, or raises
    InvalidValue.

    Reasons are looked up in a snapshot taken at the start; a reason to be created is left as
    its code for ``ReasonResolver`` to replace in the process that writes.
    """

    def __init__(self, *, known_reason_ids: dict[str, int], create_missing_reasons: bool):
        self.reason_ids = known_reason_ids
        self.create_missing_reasons = create_missing_reasons
        self.now = timezone.now()
        self.db_timestamp = _db_timestamp_adapter()
        self.stamp = self.db_timestamp(self.now)
        self.columns = (
            ("user_id", parse_lms_user_id),
            ("program_uuid", parse_program_uuid_hex),
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
                parse_program_uuid_hex(values["program_uuid"]),
                self._reason(values["intent_reason"]),
                parse_certainty(values["intent_certainty"]),
                self.db_timestamp(self._timestamp(values["effective_time"])),
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


def parsed_batches(
    records: Iterable[tuple[int, dict[str, str]]], *, parser: RowParser, batch_size: int
) -> Iterator[Batch]:
    """The records, parsed, in batches of ``batch_size`` records read."""
    batch = Batch()
    for line_number, values in records:
        batch.rows_read += 1
        try:
            row = parser.parse(values)
        except InvalidValue as error:
            batch.rejected.append(RejectedRow(line_number, str(error), dict(values)))
        else:
            if type(row[REASON_SLOT]) is str:
                batch.pending_reasons.add(row[REASON_SLOT])
            batch.rows.append(row)
        if batch.rows_read >= batch_size:
            yield batch
            batch = Batch()
    if batch.rows_read:
        yield batch


class ReasonResolver:
    """Creates the reasons a batch needs (--create-missing-reasons), in the writing process."""

    def __init__(self, *, dry_run: bool):
        self.dry_run = dry_run
        self.created_ids: dict[str, int] = {}

    @property
    def created_codes(self) -> list[str]:
        return list(self.created_ids)

    def resolve(self, batch: Batch) -> list[tuple]:
        """The batch's rows with every reason an id."""
        if not batch.pending_reasons:
            return batch.rows
        for code in batch.pending_reasons - set(self.created_ids):
            self.created_ids[code] = self._create(code)
        slot = REASON_SLOT
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

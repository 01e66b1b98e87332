"""
Parsing of the values an intent is made of, shared by the API and the CSV import so that
both accept exactly the same forms.

Every parser raises ``InvalidValue`` with a message fit to show the caller.
"""

import datetime
import re
import uuid

from pie.apps.core.values import MAX_LMS_USER_ID, InvalidValue, parse_lms_user_id
from pie.apps.intents.models import Certainty

__all__ = [
    "MAX_LMS_USER_ID",
    "InvalidValue",
    "normalize_reason_code",
    "parse_certainty",
    "parse_effective_timestamp",
    "parse_lms_user_id",
    "parse_program_uuid",
    "parse_program_uuid_hex",
]

_UUID_FORM = re.compile(
    r"[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE
)
_CERTAINTIES = frozenset(Certainty.values)
# "2024-05-01 12:00:00.123 Z" and "... UTC", as data warehouses export them.
_SPACED_UTC_SUFFIX = re.compile(r"\s+(?:Z|UTC)$", re.IGNORECASE)
_HAS_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")

EARLIEST_EFFECTIVE_TIMESTAMP = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
FUTURE_TOLERANCE = datetime.timedelta(days=1)


def parse_program_uuid(value) -> uuid.UUID:
    """A program UUID, dashed or as 32 hex digits, any case."""
    if isinstance(value, uuid.UUID):
        return value
    return uuid.UUID(hex=parse_program_uuid_hex(value))


def parse_program_uuid_hex(value) -> str:
    """The same validation as ``parse_program_uuid``; returns 32 lower-case hex digits."""
    text = str(value).strip() if value is not None else ""
    if not _UUID_FORM.fullmatch(text):
        raise InvalidValue("Must be a UUID, dashed or as 32 hex digits.")
    return text.replace("-", "").lower()


def parse_certainty(value) -> str:
    text = str(value).strip().upper() if value is not None else ""
    if text not in _CERTAINTIES:
        raise InvalidValue(f"Must be one of {', '.join(Certainty.values)}.")
    return text


def normalize_reason_code(value) -> str:
    """The stored form of a reason code: trimmed and upper case. Existence is checked apart."""
    text = str(value).strip().upper() if value is not None else ""
    if not text:
        raise InvalidValue("A reason is required.")
    return text


def parse_effective_timestamp(value, *, now: datetime.datetime | None = None) -> datetime.datetime:
    """
    An aware UTC datetime from ISO 8601 (``Z`` or an offset), ``YYYY-MM-DD HH:MM:SS[.ffffff]``
    (taken as UTC, as the original service did) or ``YYYY-MM-DD HH:MM:SS[.fff] Z``.

    Times before 1970 or more than a day in the future are refused as data errors.
    """
    if isinstance(value, datetime.datetime):
        parsed = value
    else:
        text = _SPACED_UTC_SUFFIX.sub("Z", str(value).strip()) if value is not None else ""
        if not _HAS_TIME.match(text):
            raise InvalidValue(
                "Must be a date and time: ISO 8601 (e.g. 2024-05-01T12:00:00Z) "
                "or YYYY-MM-DD HH:MM:SS in UTC."
            )
        try:
            parsed = datetime.datetime.fromisoformat(text)
        except ValueError:
            raise InvalidValue(f"{text!r} is not a valid date and time.") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.UTC)
    try:
        parsed = parsed.astimezone(datetime.UTC)
    except OverflowError:
        raise InvalidValue("The date and time is out of range.") from None
    now = now or datetime.datetime.now(datetime.UTC)
    if parsed < EARLIEST_EFFECTIVE_TIMESTAMP:
        raise InvalidValue("Must not be before 1970-01-01T00:00:00Z.")
    if parsed > now + FUTURE_TOLERANCE:
        raise InvalidValue("Must not be more than a day in the future.")
    return parsed

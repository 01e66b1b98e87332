from django.db import DatabaseError, DataError, IntegrityError, NotSupportedError
from rest_framework import exceptions


class ServiceUnavailable(exceptions.APIException):
    status_code = 503
    default_detail = "The service is temporarily unavailable; try again shortly."
    default_code = "service_unavailable"


class Conflict(exceptions.APIException):
    """The request is well formed but the data's state refuses it (e.g. a retired learner)."""

    status_code = 409
    default_detail = "The request conflicts with the current state of the data."
    default_code = "conflict"


# What the database raises because of the request (a value it refuses, a conflicting row)
# or of a query it cannot run at all. Every other database error means it cannot serve
# right now: down, unreachable, unreadable, or its tables not migrated yet.
_NOT_AN_OUTAGE = (DataError, IntegrityError, NotSupportedError)


def is_database_outage(error: BaseException) -> bool:
    """True for a database error that calls for a 503 (retry later), not a 4xx or a 500."""
    return isinstance(error, DatabaseError) and not isinstance(error, _NOT_AN_OUTAGE)

"""How PIE turns exceptions into HTTP errors, ahead of Open edX's ADR 0029 envelope."""

import logging

from django.core.exceptions import SuspiciousOperation
from django.db import DatabaseError
from edx_rest_framework_extensions.errors import register_error_type
from rest_framework import exceptions
from rest_framework.views import exception_handler

from pie.apps.core.api.exceptions import Conflict, ServiceUnavailable, is_database_outage

log = logging.getLogger(__name__)


# The ADR 0029 catalog names only the common errors; without these entries a 400 for
# malformed JSON would be titled "Internal Server Error". The envelope classifies the
# exception the view raised, so the database and Django errors are registered too.
for exception_class, slug, title in (
    (exceptions.ParseError, "malformed-request", "Malformed Request"),
    (SuspiciousOperation, "malformed-request", "Malformed Request"),
    (exceptions.UnsupportedMediaType, "unsupported-media-type", "Unsupported Media Type"),
    (exceptions.MethodNotAllowed, "method-not-allowed", "Method Not Allowed"),
    (exceptions.NotAcceptable, "not-acceptable", "Not Acceptable"),
    (ServiceUnavailable, "service-unavailable", "Service Unavailable"),
    (Conflict, "conflict", "Conflict"),
    # Only outages reach the envelope: other database errors end as a plain 500 below.
    (DatabaseError, "service-unavailable", "Service Unavailable"),
):
    register_error_type(exception_class, slug, title)


# What a caller who sent the wrong thing should do instead: curl -d sends a form, not JSON,
# unless told otherwise; and "credentials were not provided" alone does not say which header.
SEND_JSON = "Send the body as JSON with the header Content-Type: application/json."
SEND_A_JWT = "Send an LMS JWT in the Authorization header: 'JWT <token>' or 'Bearer <token>'."


def validation_summary(detail) -> str:
    """One readable line for a validation error, e.g. "program_uuid: Must be a valid UUID."."""
    if isinstance(detail, dict):
        for field, messages in detail.items():
            message = validation_summary(messages)
            return message if field == "non_field_errors" else f"{field}: {message}"
    if isinstance(detail, list) and detail:
        return validation_summary(detail[0])
    return str(detail)


def pie_exception_handler(exc, context):
    """
    DRF's handler, plus: a database that cannot be reached is a 503 (the request may be
    retried), a request Django finds suspicious (too many fields, too large) is a 400, and a
    validation error gets a one-line ``detail`` (the per-field ``errors`` come from the
    envelope), and a 415 or a missing credential says what to send instead.
    """
    if is_database_outage(exc):
        log.error("Database unavailable: %s", exc.__class__.__name__)
        exc = ServiceUnavailable()
    elif isinstance(exc, SuspiciousOperation):
        exc = exceptions.ParseError(str(exc) or "The request could not be parsed.")
    response = exception_handler(exc, context)
    if response is None:
        # A bug, or a database error that is not an outage: the envelope answers a JSON 500
        # and Django logs one line without the traceback, so the traceback is logged here
        # (the exception and its frames, no request data: no token, no email).
        view = context.get("view")
        log.error("Unhandled %s in %s", type(exc).__name__, type(view).__name__, exc_info=exc)
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = {"detail": validation_summary(exc.detail)}
    elif isinstance(exc, exceptions.UnsupportedMediaType):
        response.data = {"detail": f"{exc.detail} {SEND_JSON}"}
    elif isinstance(exc, exceptions.NotAuthenticated):
        response.data = {"detail": f"{exc.detail} {SEND_A_JWT}"}
    return response

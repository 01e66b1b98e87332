import logging

from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from edx_rest_framework_extensions.errors import error_type_uri

from pie.apps.core.models import User

log = logging.getLogger(__name__)

OK = "OK"
UNAVAILABLE = "UNAVAILABLE"


@never_cache
def health(request):
    """
    Liveness and database reachability, in the shape Open edX IDAs use:
    ``{"overall_status": "OK", "detailed_status": {"database_status": "OK"}}``; 503 when the
    database cannot be queried.

    The check reads one of PIE's tables rather than ``SELECT 1``: that fails too when the
    database is there but is not PIE's, e.g. the empty database SQLite creates in place of a
    missing file.
    """
    try:
        with connection.cursor() as cursor:
            table = connection.ops.quote_name(User._meta.db_table)
            cursor.execute(f"SELECT 1 FROM {table} LIMIT 1")
            cursor.fetchall()
        database_status = OK
    except DatabaseError as error:
        log.error("Health check: database unavailable (%s)", error.__class__.__name__)
        database_status = UNAVAILABLE
    overall_status = OK if database_status == OK else UNAVAILABLE
    return JsonResponse(
        {"overall_status": overall_status, "detailed_status": {"database_status": database_status}},
        status=200 if overall_status == OK else 503,
    )


def _error(status: int, slug: str, title: str, detail: str):
    def view(request, exception=None):
        body = {
            "type": error_type_uri(slug),
            "title": title,
            "status": status,
            "detail": detail,
            "instance": request.path,
        }
        return JsonResponse(body, status=status)

    return view


# Django's own error pages are HTML; PIE answers JSON everywhere, in the same ADR 0029
# envelope as the API's errors.
bad_request = _error(400, "malformed-request", "Bad Request", "Bad request.")
permission_denied = _error(
    403, "authz", "Permission Denied", "You do not have permission to perform this action."
)
page_not_found = _error(404, "not-found", "Not Found", "Not found.")
server_error = _error(
    500,
    "internal",
    "Internal Server Error",
    "An unexpected error occurred. Please try again later.",
)

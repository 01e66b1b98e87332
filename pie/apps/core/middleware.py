import logging
import re
import time
import uuid

from pie.apps.core.logging import current_request_id

log = logging.getLogger("pie.request")

# A client-supplied id is echoed into logs, so it must be short and plain.
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def _level_for(status_code: int) -> int:
    """The level Django's own request logger gives a response: it is silenced (settings)."""
    if status_code >= 500:
        return logging.ERROR
    return logging.WARNING if status_code >= 400 else logging.INFO


class RequestLoggingMiddleware:
    """
    Gives every request an id (the caller's X-Request-ID when it is well formed) and logs one
    line per request: method, path, status, duration and the LMS user id, at WARNING for a
    4xx and ERROR for a 5xx. Never the query string, headers or body, which may carry tokens.
    The id is also kept on the request, for log records that carry it (django.request).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        supplied = request.headers.get("X-Request-ID", "")
        request_id = supplied if _VALID_REQUEST_ID.match(supplied) else uuid.uuid4().hex
        request.request_id = request_id
        token = current_request_id.set(request_id)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            response["X-Request-ID"] = request_id
            user = getattr(request, "user", None)
            log.log(
                _level_for(response.status_code),
                "%s %s %s %.1fms lms_user_id=%s",
                request.method,
                request.path,
                response.status_code,
                (time.perf_counter() - started) * 1000,
                getattr(user, "lms_user_id", None) or "-",
            )
            return response
        finally:
            current_request_id.reset(token)

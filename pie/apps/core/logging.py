"""
Request ids on log lines: the middleware sets one per request, this filter stamps it. And a
filter that keeps learners' personal data out of the event bus library's error lines.
"""

import contextvars
import json
import logging
import re

current_request_id: contextvars.ContextVar[str] = contextvars.ContextVar(
    "current_request_id", default="-"
)


class RequestIdFilter(logging.Filter):
    def filter(self, record):
        # Django logs a request's error response (django.request) after the last middleware
        # has returned, when the context variable is reset; that record carries the request.
        request = getattr(record, "request", None)
        record.request_id = getattr(request, "request_id", None) or current_request_id.get()
        return True


class TracebackOnlyFilter(logging.Filter):
    """
    Keeps only the lines that carry a traceback. For django.request: its other lines ("Bad
    Request: /path", "Internal Server Error: /path") repeat what pie.request's line for the
    same request says, with less (no method, duration, user or request id in the message).
    """

    def filter(self, record):
        return record.exc_info is not None


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for log shippers. Carries the request id of the request."""

    def format(self, record):
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "process": record.process,
            "request_id": getattr(record, "request_id", current_request_id.get()),
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class EventBusPersonalDataFilter(logging.Filter):
    """
    Withholds the event data from edx-event-bus-redis's error lines. When an event fails, the
    library logs the whole message (or the producer's context), and program certificate events
    carry the learner's username, email and name. The event id and stream ids stay: the
    library's preceding "Message received" line has them, for a replay.
    """

    _CONSUMER_DETAILS = re.compile(r" -- event details: .*", re.DOTALL)
    _PRODUCER_DATA = re.compile(r" event_data=.*? event_metadata=", re.DOTALL)

    def filter(self, record):
        message = record.getMessage()
        redacted = self._CONSUMER_DETAILS.sub(" -- event details withheld (personal data)", message)
        redacted = self._PRODUCER_DATA.sub(" event_data=<withheld> event_metadata=", redacted)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True

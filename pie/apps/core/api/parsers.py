from django.conf import settings
from rest_framework.exceptions import ParseError, UnsupportedMediaType
from rest_framework.parsers import FormParser, JSONParser


class BoundedJSONParser(JSONParser):
    """
    JSON parser that refuses bodies over DATA_UPLOAD_MAX_MEMORY_SIZE and documents too deeply
    nested to parse, with a 400 instead of a memory spike or a RecursionError's 500.

    DRF's own JSONParser reads the request stream without Django's size limit. As in
    Django, a limit of None means no limit.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if stream is None:
            body = b""
        else:
            body = stream.read() if limit is None else stream.read(limit + 1)
        if limit is not None and len(body) > limit:
            raise ParseError(f"The request body is larger than {limit} bytes.")
        try:
            return super().parse(_BytesStream(body), media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - the document is nested too deeply.") from None


class _BytesStream:
    def __init__(self, body: bytes):
        self._body = body

    def read(self, size=-1):
        body, self._body = self._body, b""
        return body


class JsonAwareFormParser(FormParser):
    """
    The browsable API's HTML forms, refusing a JSON document sent as a form: ``curl -d
    '{...}'`` without ``-H "Content-Type: application/json"`` labels JSON as a form, and parsed
    as one the whole document becomes a single field name ("Unknown field"). A 415 says what
    to send instead (see pie.apps.core.api.errors).
    """

    def parse(self, stream, media_type=None, parser_context=None):
        body = stream.read() if stream is not None else b""
        if body.lstrip()[:1] in (b"{", b"["):
            raise UnsupportedMediaType(media_type)
        return super().parse(_BytesStream(body), media_type, parser_context)

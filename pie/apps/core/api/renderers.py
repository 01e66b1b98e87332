"""
A JSON renderer for the learner's hot read: the same bytes as DRF's ``JSONRenderer``, encoded
by orjson.
"""

import orjson
from rest_framework.renderers import JSONRenderer

# orjson leaves these two unescaped; DRF escapes them so that its JSON is a JavaScript subset.
_LINE_SEPARATOR = ("\u2028".encode(), b"\\u2028")
_PARAGRAPH_SEPARATOR = ("\u2029".encode(), b"\\u2029")
# Types whose DRF encoding differs from orjson's (DRF cuts datetimes to milliseconds and
# refuses dataclasses) go through DRF's encoder instead.
_ORJSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


class PlainDataJSONRenderer(JSONRenderer):
    """
    ``JSONRenderer`` for responses built of dicts, lists, strings, integers, booleans and None
    (e.g. a learner's current intents, already shown as strings): orjson encodes them in about
    a tenth of the standard library's time, byte for byte as DRF would (compact, UTF-8, U+2028
    and U+2029 escaped). Anything else (an indent asked for, DRF's ASCII or strict settings, a
    value orjson does not encode as DRF does) is rendered by ``JSONRenderer`` itself.

    Not for floats: orjson writes some of them differently (``1e16``, not ``1e+16``).
    """

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if (
            data is None
            or self.ensure_ascii
            or not self.compact
            or self.get_indent(accepted_media_type, renderer_context or {}) is not None
        ):
            return super().render(data, accepted_media_type, renderer_context)
        try:
            rendered = orjson.dumps(data, option=_ORJSON_OPTIONS)
        except orjson.JSONEncodeError:
            return super().render(data, accepted_media_type, renderer_context)
        return rendered.replace(*_LINE_SEPARATOR).replace(*_PARAGRAPH_SEPARATOR)

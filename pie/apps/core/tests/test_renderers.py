"""PlainDataJSONRenderer writes exactly the bytes DRF's JSONRenderer writes."""

import datetime
import uuid

import pytest
from rest_framework.renderers import JSONRenderer

from pie.apps.core.api.renderers import PlainDataJSONRenderer

SAME_BYTES = [
    [],
    {},
    None,
    {"detail": "Authentication credentials were not provided.", "status": 401},
    [{"id": 1, "lms_user_id": 2**40, "program_uuid": str(uuid.UUID(int=7)), "ok": True}],
    {"text": 'é, ☃, \U0001f600, a\u2028line and a\u2029paragraph, "quotes" \\ and \n'},
    {"nested": [[None, False], {"x": -1}], "uuid": uuid.UUID(int=3)},
    # Types orjson encodes differently from DRF's encoder: DRF's encoder renders them.
    {"when": datetime.datetime(2024, 3, 1, 12, 0, 0, 123456, tzinfo=datetime.UTC)},
    {"day": datetime.date(2024, 3, 1), "huge": 2**70},
]


@pytest.mark.parametrize("data", SAME_BYTES)
def test_renders_the_same_bytes_as_drf(data):
    assert PlainDataJSONRenderer().render(data) == JSONRenderer().render(data)


def test_an_indent_asked_for_is_honoured_as_drf_does():
    data = {"a": [1, 2]}
    media_type = "application/json; indent=2"
    rendered = PlainDataJSONRenderer().render(data, media_type, {})
    assert rendered == JSONRenderer().render(data, media_type, {})
    assert b"\n" in rendered

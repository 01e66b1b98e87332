import json
import logging

import pytest

from pie.apps.core.dev_tokens import create_dev_token, dev_token_payload, sign_dev_token
from pie.apps.core.logging import JsonFormatter, RequestIdFilter, current_request_id

pytestmark = pytest.mark.django_db


def test_production_log_lines_are_json_with_the_request_id():
    record = logging.LogRecord("pie.request", logging.INFO, __file__, 1, "GET %s", ("/x",), None)
    token = current_request_id.set("abc123")
    try:
        RequestIdFilter().filter(record)
    finally:
        current_request_id.reset(token)
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "GET /x"
    assert line["request_id"] == "abc123"
    assert line["level"] == "INFO" and line["logger"] == "pie.request"


def test_every_request_logs_one_line_with_its_request_id(client, caplog):
    with caplog.at_level(logging.INFO, logger="pie.request"):
        response = client.get("/health/", HTTP_X_REQUEST_ID="req-42")
    lines = [r for r in caplog.records if r.name == "pie.request"]
    assert len(lines) == 1
    assert lines[0].getMessage().startswith("GET /health/ 200")
    assert lines[0].request_id == "req-42" == response["X-Request-ID"]


@pytest.mark.parametrize("valid", [True, False], ids=["valid-token", "forged-token"])
def test_no_token_or_personal_data_reaches_any_log_line(client, caplog, valid):
    payload = dev_token_payload(lms_user_id=77, email="ada@example.com")
    token = sign_dev_token(payload) if valid else sign_dev_token(payload, secret="forged")
    with caplog.at_level(logging.DEBUG):
        client.get(
            "/api/v1/program_intents/?access_token=x",
            HTTP_AUTHORIZATION=f"JWT {token}",
        )
        client.post(
            "/api/v1/program_intents/",
            {"program_uuid": "bad"},
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {create_dev_token(lms_user_id=77)}",
        )
    text = "\n".join(
        record.getMessage() + (str(record.exc_info) if record.exc_info else "")
        for record in caplog.records
    )
    for secret in (token, token.split(".")[2], "ada@example.com", "access_token"):
        assert secret not in text

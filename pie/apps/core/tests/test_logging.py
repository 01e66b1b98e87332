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


def test_a_500_is_logged_with_its_traceback_and_no_token_or_email(client, caplog):
    from unittest import mock

    token = sign_dev_token(dev_token_payload(lms_user_id=77, email="ada@example.com"))
    client.raise_request_exception = False
    with (
        caplog.at_level(logging.INFO),
        mock.patch(
            "pie.apps.intents.selectors.intents_most_recent_and_certain",
            side_effect=RuntimeError("a bug in the selector"),
        ),
    ):
        response = client.get(
            "/api/v1/program_intents/most_recent_and_certain/", HTTP_AUTHORIZATION=f"JWT {token}"
        )
    assert response.status_code == 500
    assert response.json()["status"] == 500
    with_traceback = [record for record in caplog.records if record.exc_info]
    assert len(with_traceback) == 1
    record = with_traceback[0]
    assert record.levelname == "ERROR"
    assert record.request_id == response["X-Request-ID"]
    rendered = JsonFormatter().format(record)
    assert "a bug in the selector" in rendered
    assert "Traceback" in rendered
    for secret in (token, token.split(".")[2], "ada@example.com"):
        assert secret not in rendered


def test_a_null_upload_limit_means_no_limit_not_a_500(make_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = None
    response = make_client(77).post(
        "/api/v1/program_intents/",
        {
            "program_uuid": "3a0fd5a0-f5c0-4b1f-a3b8-f0f4c6a7e9d1",
            "reason": "BUNDLE_PURCHASE",
            "certainty": "CERTAIN_YES",
            "effective_timestamp": "2024-05-01T12:00:00Z",
        },
        format="json",
    )
    assert response.status_code == 201, response.content


def _lines_about(caplog, path: str) -> list[logging.LogRecord]:
    return [record for record in caplog.records if path in record.getMessage()]


def test_a_failed_request_is_logged_once_with_its_request_id(make_client, caplog):
    with caplog.at_level(logging.DEBUG):
        response = make_client(77).post(
            "/api/v1/program_intents/", {"program_uuid": "bad"}, format="json"
        )
    assert response.status_code == 400
    lines = _lines_about(caplog, "/api/v1/program_intents/")
    assert [(line.name, line.levelname) for line in lines] == [("pie.request", "WARNING")]
    assert lines[0].request_id == response["X-Request-ID"]


def test_a_drf_500_is_one_request_line_and_one_traceback(make_client, caplog):
    from unittest import mock

    client = make_client(77)
    client.raise_request_exception = False
    with (
        caplog.at_level(logging.DEBUG),
        mock.patch(
            "pie.apps.intents.selectors.intents_most_recent_and_certain",
            side_effect=RuntimeError("a bug"),
        ),
    ):
        response = client.get("/api/v1/program_intents/most_recent_and_certain/")
    assert response.status_code == 500
    failures = [record for record in caplog.records if record.levelno >= logging.WARNING]
    assert [record.name for record in failures] == ["pie.apps.core.api.errors", "pie.request"]
    assert {record.request_id for record in failures} == {response["X-Request-ID"]}


def test_django_requests_traceback_line_keeps_the_request_id(client, caplog):
    """A non-DRF view's exception: Django's own traceback line is the one kept."""
    from unittest import mock

    client.raise_request_exception = False
    broken = mock.Mock(cursor=mock.Mock(side_effect=RuntimeError("a bug in a plain view")))
    with caplog.at_level(logging.DEBUG), mock.patch("pie.apps.core.views.connection", broken):
        response = client.get("/health/", HTTP_X_REQUEST_ID="req-500")
    assert response.status_code == 500
    tracebacks = [record for record in caplog.records if record.name == "django.request"]
    assert len(tracebacks) == 1 and tracebacks[0].exc_info
    assert tracebacks[0].request_id == "req-500" == response["X-Request-ID"]
    assert len(_lines_about(caplog, "/health/")) == 2  # the traceback and pie.request's line


def test_a_record_logged_after_the_middleware_takes_the_id_from_its_request():
    """Django logs an error response after the last middleware, with the request attached."""
    from django.test import RequestFactory

    request = RequestFactory().get("/x")
    request.request_id = "req-7"
    record = logging.LogRecord("django.request", logging.ERROR, __file__, 1, "x", (), None)
    record.request = request
    RequestIdFilter().filter(record)
    assert record.request_id == "req-7"


def test_runservers_access_lines_are_not_logged(caplog):
    """`make run`: pie.request already logs each request, with its id and duration."""
    with caplog.at_level(logging.DEBUG):
        # How django.core.servers.basehttp logs a 4xx and a 5xx.
        logging.getLogger("django.server").warning('"POST /api/v1/x HTTP/1.1" 400 123')
        logging.getLogger("django.server").error('"GET /api/v1/x HTTP/1.1" 500 145')
    assert not [record for record in caplog.records if record.name == "django.server"]

"""
Fuzz every endpoint from PIE's own OpenAPI schema (schemathesis): with a valid learner JWT,
a valid staff JWT and no token. Whatever comes in, no response is a 5xx, every response
conforms to the schema, and every 4xx has a JSON body.
"""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from pie.apps.core.dev_tokens import create_dev_token

pytestmark = pytest.mark.django_db


# Loaded when the module is collected: serving the schema touches no database.
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())


@pytest.fixture(autouse=True)
def keep_the_test_transactions_connection():
    """
    Django closes database connections when a WSGI request ends; the test client switches
    that off so the test's transaction survives, and so must requests made through the WSGI
    app directly (on PostgreSQL and MySQL the connection would really close).
    """
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def jwt_header(**claims) -> dict:
    return {"Authorization": f"JWT {create_dev_token(**claims)}"}


def no_server_error(ctx, response, case):
    assert response.status_code < 500, f"{case.method} {case.path} -> {response.status_code}"


def json_error_body(ctx, response, case):
    if 400 <= response.status_code < 500:
        assert response.headers.get("content-type", [""])[0].startswith("application/json")
        body = response.json()
        assert body["status"] == response.status_code and body["detail"]


CHECKS = [
    no_server_error,
    json_error_body,
    response_schema_conformance,
    content_type_conformance,
    status_code_conformance,
]
FUZZ_SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)


def fuzz(case, headers: dict) -> None:
    response = case.call(headers=headers)
    case.validate_response(response, checks=CHECKS, headers=headers)


@schema.parametrize()
@FUZZ_SETTINGS
def test_fuzzed_requests_as_a_learner(case):
    fuzz(case, jwt_header(lms_user_id=4242))


@schema.parametrize()
@FUZZ_SETTINGS
def test_fuzzed_requests_as_staff(case):
    fuzz(case, jwt_header(lms_user_id=9001, administrator=True))


@schema.parametrize()
@FUZZ_SETTINGS
def test_fuzzed_requests_without_a_token(case):
    fuzz(case, {})

"""edx-django-utils' monitoring middleware reports each request to OPENEDX_TELEMETRY's backends."""

import pytest
from django.test import Client

from pie.apps.core.dev_tokens import create_dev_token

pytestmark = pytest.mark.django_db

BEST_URL = "/api/v1/program_intents/most_recent_and_certain/"


def test_a_request_reports_deployment_cookie_and_authentication_attributes(telemetry):
    client = Client()
    header, payload, signature = create_dev_token(lms_user_id=1001).split(".")
    client.cookies["edx-jwt-cookie-header-payload"] = f"{header}.{payload}"
    client.cookies["edx-jwt-cookie-signature"] = signature

    assert client.get(BEST_URL, headers={"USE-JWT-COOKIE": "true"}).status_code == 200

    attributes = dict(telemetry.attributes)
    assert attributes["django_version"]  # DeploymentMonitoringMiddleware
    assert attributes["python_version"]
    assert attributes["cookies.header.size"] > 0  # CookieMonitoringMiddleware
    assert attributes["jwt_auth_result"] == "success-cookie"  # edx-drf-extensions
    # Sizes and outcomes, never the cookies' or the token's contents.
    for value in attributes.values():
        assert signature not in str(value) and payload not in str(value)

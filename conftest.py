"""Fixtures shared by every test module: API clients that carry real signed JWTs."""

import pytest
from rest_framework.test import APIClient

from pie.apps.core.dev_tokens import create_dev_token, dev_service_token_payload, sign_dev_token
from pie.apps.core.tests.telemetry import RecordingBackend


@pytest.fixture
def make_client():
    """``make_client(lms_user_id, **claims)``: an APIClient authenticated as that learner."""

    def make(lms_user_id: int, prefix: str = "JWT", **claims) -> APIClient:
        client = APIClient()
        token = create_dev_token(lms_user_id=lms_user_id, **claims)
        client.credentials(HTTP_AUTHORIZATION=f"{prefix} {token}")
        return client

    return make


@pytest.fixture
def learner_client(make_client):
    """The learner with LMS user id 1001."""
    return make_client(1001)


@pytest.fixture
def make_service_client():
    """
    ``make_service_client(username, **claims)``: an APIClient carrying the LMS's
    client-credentials token for that service worker (no user_id claim).
    """

    def make(username: str, **claims) -> APIClient:
        client = APIClient()
        token = sign_dev_token(dev_service_token_payload(username=username, **claims))
        client.credentials(HTTP_AUTHORIZATION=f"JWT {token}")
        return client

    return make


@pytest.fixture
def telemetry(settings):
    """Route edx-django-utils' monitoring to a recording backend; yields it."""
    RecordingBackend.attributes.clear()
    RecordingBackend.spans.clear()
    settings.OPENEDX_TELEMETRY = ["pie.apps.core.tests.telemetry.RecordingBackend"]
    yield RecordingBackend
    RecordingBackend.attributes.clear()
    RecordingBackend.spans.clear()

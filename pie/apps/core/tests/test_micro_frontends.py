"""
A micro-frontend calling PIE from another origin, as frontend-platform's authenticated client
does: a preflight, the LMS's split JWT cookies with ``USE-JWT-COOKIE: true``, and a CSRF
token from ``/csrf/api/v1/token`` before a write. Through the real middleware stack, with
tokens signed by the app's own helpers.
"""

import pytest
from django.test import Client

from pie.apps.core.dev_tokens import create_dev_token
from pie.apps.intents.models import ProgramIntent
from pie.apps.intents.tests.factories import ProgramIntentFactory

pytestmark = pytest.mark.django_db

MFE = "http://localhost:1996"
UNKNOWN_ORIGIN = "http://evil.example.com"
LIST_URL = "/api/v1/program_intents/"
BEST_URL = "/api/v1/program_intents/most_recent_and_certain/"
TOKEN_URL = "/csrf/api/v1/token"
LEARNER = 1001
INTENT = {
    "program_uuid": "3a0fd5a0-f5c0-4b1f-a3b8-f0f4c6a7e9d1",
    "reason": "BUNDLE_PURCHASE",
    "certainty": "CERTAIN_YES",
    "effective_timestamp": "2024-05-01T12:00:00Z",
}


@pytest.fixture(autouse=True)
def mfe_origin_allowed(settings):
    settings.CORS_ALLOWED_ORIGINS = [MFE]
    settings.CSRF_TRUSTED_ORIGINS = [MFE]


def browser(lms_user_id: int = LEARNER) -> Client:
    """A browser holding the LMS's JWT cookies, split as the LMS sets them."""
    client = Client(enforce_csrf_checks=True)
    header, payload, signature = create_dev_token(lms_user_id=lms_user_id).split(".")
    client.cookies["edx-jwt-cookie-header-payload"] = f"{header}.{payload}"
    client.cookies["edx-jwt-cookie-signature"] = signature
    return client


def from_mfe(**headers) -> dict:
    """The headers frontend-platform's authenticated client sends with every call."""
    return {"Origin": MFE, "USE-JWT-COOKIE": "true", **headers}


def preflight(url: str, origin: str):
    return Client().options(
        url,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,use-jwt-cookie,x-csrftoken",
        },
    )


def test_preflight_from_an_allowed_origin_allows_credentials_and_the_jwt_cookie_header():
    response = preflight(LIST_URL, MFE)
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == MFE
    assert response["Access-Control-Allow-Credentials"] == "true"
    allowed_headers = response["Access-Control-Allow-Headers"].split(", ")
    assert {"use-jwt-cookie", "x-csrftoken", "content-type"} <= set(allowed_headers)
    assert "POST" in response["Access-Control-Allow-Methods"]


def test_preflight_from_an_unknown_origin_gets_no_cors_headers():
    response = preflight(LIST_URL, UNKNOWN_ORIGIN)
    assert "Access-Control-Allow-Origin" not in response
    assert "Access-Control-Allow-Credentials" not in response


def test_the_admin_answers_no_cross_origin_request_even_from_an_allowed_origin():
    response = preflight("/admin/login/", MFE)
    assert "Access-Control-Allow-Origin" not in response


def test_cookie_authenticated_get_from_a_micro_frontend_answers_for_the_cookies_learner():
    mine = ProgramIntentFactory(lms_user_id=LEARNER)
    ProgramIntentFactory(lms_user_id=LEARNER + 1)
    response = browser().get(BEST_URL, headers=from_mfe())
    assert response.status_code == 200, response.content
    assert response["Access-Control-Allow-Origin"] == MFE
    assert response["Access-Control-Allow-Credentials"] == "true"
    assert [intent["program_uuid"] for intent in response.json()] == [str(mine.program_uuid)]


def test_cookie_authenticated_get_with_a_forged_signature_is_401():
    client = browser()
    client.cookies["edx-jwt-cookie-signature"] = "forged"
    response = client.get(BEST_URL, headers=from_mfe())
    assert response.status_code == 401


def test_cookie_authenticated_post_needs_the_csrf_token_from_the_token_endpoint():
    client = browser()
    refused = client.post(LIST_URL, INTENT, content_type="application/json", headers=from_mfe())
    # edx-drf-extensions forgives a cookie that fails CSRF: the request is unauthenticated.
    assert refused.status_code == 401, refused.content
    assert not ProgramIntent.objects.exists()

    token_response = client.get(TOKEN_URL, headers={"Origin": MFE})
    assert token_response.status_code == 200
    assert token_response["Access-Control-Allow-Origin"] == MFE
    assert token_response["Access-Control-Allow-Credentials"] == "true"
    assert "pie_csrftoken" in token_response.cookies
    token = token_response.json()["csrfToken"]

    accepted = client.post(
        LIST_URL,
        INTENT,
        content_type="application/json",
        headers=from_mfe(**{"X-CSRFToken": token}),
    )
    assert accepted.status_code == 201, accepted.content
    assert accepted["Access-Control-Allow-Origin"] == MFE
    assert ProgramIntent.objects.get().lms_user_id == LEARNER


def test_cookie_authenticated_post_from_an_origin_csrf_does_not_trust_is_refused(settings):
    settings.CSRF_TRUSTED_ORIGINS = []
    client = browser()
    token = client.get(TOKEN_URL, headers={"Origin": MFE}).json()["csrfToken"]
    response = client.post(
        LIST_URL,
        INTENT,
        content_type="application/json",
        headers=from_mfe(**{"X-CSRFToken": token}),
    )
    assert response.status_code == 401
    assert not ProgramIntent.objects.exists()


def test_a_jwt_in_the_authorization_header_needs_no_csrf_token():
    """Service-to-service callers and the README's curl examples are unaffected."""
    client = Client(enforce_csrf_checks=True)
    token = create_dev_token(lms_user_id=LEARNER)
    response = client.post(
        LIST_URL,
        INTENT,
        content_type="application/json",
        headers={"Authorization": f"JWT {token}", "Origin": MFE},
    )
    assert response.status_code == 201, response.content

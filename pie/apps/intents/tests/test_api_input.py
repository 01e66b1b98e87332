"""
What a caller who sends the wrong thing is told, on every write of the learner and service
APIs: a body that is not JSON, a token with the wrong prefix, several problems at once.
"""

import json

import pytest
from rest_framework.test import APIClient

from pie.apps.core.dev_tokens import create_dev_token, dev_service_token_payload, sign_dev_token
from pie.apps.intents.models import ProgramIntent

pytestmark = pytest.mark.django_db

LEARNER = 42
INTENT = {
    "program_uuid": "3a0fd5a0-f5c0-4b1f-a3b8-f0f4c6a7e9d1",
    "reason": "BUNDLE_PURCHASE",
    "certainty": "CERTAIN_YES",
    "effective_timestamp": "2024-05-01T12:00:00Z",
}
# Every write, with a body it would accept, and the token that may make it.
WRITES = {
    "learner": ("/api/v1/program_intents/", INTENT),
    "service": (f"/api/v1/learners/{LEARNER}/program_intents/", INTENT),
    "retirement": ("/api/v1/retire_user/", {"edx_lms_user_id": LEARNER}),
}


def token_for(kind: str) -> str:
    if kind == "learner":
        return create_dev_token(lms_user_id=LEARNER)
    if kind == "service":
        return create_dev_token(lms_user_id=9001, administrator=True)
    return sign_dev_token(dev_service_token_payload(username="retirement_service_worker"))


def client_for(kind: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"JWT {token_for(kind)}")
    return client


def error_of(response, status: int) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    return response.json()


@pytest.mark.parametrize("kind", list(WRITES))
def test_json_sent_as_a_form_like_curl_d_is_415_saying_to_send_json(kind):
    url, body = WRITES[kind]
    # What `curl -d '{...}'` sends without -H "Content-Type: application/json".
    response = client_for(kind).post(
        url, json.dumps(body), content_type="application/x-www-form-urlencoded"
    )
    payload = error_of(response, 415)
    assert "Content-Type: application/json" in payload["detail"]
    assert ProgramIntent.objects.count() == 0


@pytest.mark.parametrize("kind", list(WRITES))
@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", ""])
def test_a_body_of_another_media_type_is_415_saying_to_send_json(kind, content_type):
    url, body = WRITES[kind]
    response = client_for(kind).generic("POST", url, json.dumps(body), content_type=content_type)
    payload = error_of(response, 415)
    assert "Content-Type: application/json" in payload["detail"]


@pytest.mark.parametrize("kind", list(WRITES))
def test_the_same_body_as_json_is_accepted(kind):
    url, body = WRITES[kind]
    response = client_for(kind).post(url, json.dumps(body), content_type="application/json")
    assert response.status_code in (201, 204), response.content


@pytest.mark.parametrize("kind", list(WRITES))
@pytest.mark.parametrize("header", ["Token {token}", "{token}", "Basic {token}"])
def test_a_token_without_jwt_or_bearer_is_401_naming_both_prefixes(kind, header):
    url, body = WRITES[kind]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header.format(token=token_for(kind)))
    payload = error_of(client.post(url, body, format="json"), 401)
    assert "'JWT <token>'" in payload["detail"] and "'Bearer <token>'" in payload["detail"]
    assert ProgramIntent.objects.count() == 0


def test_no_credentials_at_all_is_401_naming_both_prefixes():
    payload = error_of(APIClient().get("/api/v1/program_intents/"), 401)
    assert "'JWT <token>'" in payload["detail"] and "'Bearer <token>'" in payload["detail"]


@pytest.mark.parametrize("kind", ["learner", "service"])
def test_an_unknown_reason_is_reported_with_the_other_problems_of_the_body(kind):
    url, _ = WRITES[kind]
    body = {**INTENT, "reason": "GUESSWORK", "certainty": "PROBABLY", "colour": "blue"}
    payload = error_of(client_for(kind).post(url, body, format="json"), 400)
    assert set(payload["errors"]) == {"reason", "certainty", "colour"}
    assert "Unknown reason 'GUESSWORK'" in payload["errors"]["reason"][0]
    assert "BUNDLE_PURCHASE" in payload["errors"]["reason"][0]
    assert ProgramIntent.objects.count() == 0


def test_an_unknown_field_is_reported_with_the_other_problems_of_the_body():
    url, _ = WRITES["learner"]
    body = {**INTENT, "effective_time": "2024-05-01T12:00:00Z"}
    del body["effective_timestamp"]
    payload = error_of(client_for("learner").post(url, body, format="json"), 400)
    assert set(payload["errors"]) == {"effective_time", "effective_timestamp"}


def test_each_item_of_a_service_list_reports_all_its_problems():
    url, _ = WRITES["service"]
    items = [{**INTENT, "reason": "GUESSWORK", "effective_timestamp": "yesterday"}]
    response = client_for("service").post(url, items, format="json")
    assert response.status_code == 200, response.content
    errors = response.json()["results"][0]["errors"]
    assert set(errors) == {"reason", "effective_timestamp"}


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/v1/learners/me/program_intents/", "lms_user_id"),
        ("/api/v1/learners/0/program_intents/most_recent_and_certain/", "lms_user_id"),
        ("/api/v1/programs/not-a-uuid/intents/summary/", "program_uuid"),
    ],
)
def test_a_bad_path_parameter_is_400_naming_it(url, field):
    payload = error_of(client_for("service").get(url), 400)
    assert field in payload["errors"]


def test_a_bad_query_parameter_is_400_naming_it():
    response = client_for("learner").get("/api/v1/program_intents/", {"program_uuid": "x"})
    assert "program_uuid" in error_of(response, 400)["errors"]

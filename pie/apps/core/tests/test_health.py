from unittest import mock

import pytest
from django.db import (
    DatabaseError,
    DataError,
    IntegrityError,
    OperationalError,
    ProgrammingError,
)

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("url", ["/health/", "/health"])
def test_health_reports_ok_without_authentication(client, url):
    response = client.get(url)
    assert response.status_code == 200
    assert response.json() == {"overall_status": "OK", "detailed_status": {"database_status": "OK"}}


def test_health_is_503_naming_the_database_when_it_cannot_be_queried(client):
    with mock.patch("django.db.backends.utils.CursorWrapper.execute", side_effect=OperationalError):
        response = client.get("/health/")
    assert response.status_code == 503
    assert response.json() == {
        "overall_status": "UNAVAILABLE",
        "detailed_status": {"database_status": "UNAVAILABLE"},
    }


def test_unknown_path_is_a_json_404(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert response.json()["status"] == 404
    assert response.json()["title"] == "Not Found"


def test_responses_carry_a_request_id_and_echo_a_well_formed_one(client):
    assert len(client.get("/health/")["X-Request-ID"]) == 32
    assert client.get("/health/", HTTP_X_REQUEST_ID="abc-123")["X-Request-ID"] == "abc-123"
    assert client.get("/health/", HTTP_X_REQUEST_ID="bad id\n")["X-Request-ID"] != "bad id\n"


def test_api_answers_503_json_when_the_database_is_down_during_authentication(client):
    """The outage is reported as such (retryable), not as a bad token or an HTML 500."""
    from pie.apps.core.dev_tokens import create_dev_token

    token = create_dev_token(lms_user_id=5)
    with mock.patch("django.db.backends.utils.CursorWrapper.execute", side_effect=OperationalError):
        response = client.get(
            "/api/v1/program_intents/most_recent_and_certain/", HTTP_AUTHORIZATION=f"JWT {token}"
        )
    assert response.status_code == 503
    assert response.json()["title"] == "Service Unavailable"


@pytest.mark.parametrize(
    ("error", "status"),
    [
        pytest.param(DatabaseError("file is not a database"), 503, id="unreadable-database"),
        pytest.param(ProgrammingError("no such table: core_user"), 503, id="schema-missing"),
        pytest.param(DataError("value too long"), 401, id="value-from-the-token-refused"),
    ],
)
def test_database_errors_while_authenticating_are_503_unless_the_token_caused_them(
    client, error, status
):
    from pie.apps.core.dev_tokens import create_dev_token

    token = create_dev_token(lms_user_id=5)
    with mock.patch("django.db.backends.utils.CursorWrapper.execute", side_effect=error):
        response = client.get(
            "/api/v1/program_intents/most_recent_and_certain/", HTTP_AUTHORIZATION=f"JWT {token}"
        )
    assert response.status_code == status
    assert response.json()["status"] == status


def test_api_answers_503_json_when_the_database_fails_inside_the_view(client):
    from pie.apps.core.dev_tokens import create_dev_token

    token = create_dev_token(lms_user_id=5)
    url = "/api/v1/program_intents/most_recent_and_certain/"
    assert client.get(url, HTTP_AUTHORIZATION=f"JWT {token}").status_code == 200
    with mock.patch(
        "pie.apps.intents.selectors.intents_most_recent_and_certain",
        side_effect=OperationalError("server closed the connection"),
    ):
        response = client.get(url, HTTP_AUTHORIZATION=f"JWT {token}")
    assert response.status_code == 503
    assert response.json()["status"] == 503


@pytest.mark.parametrize(
    ("error", "status", "title"),
    [
        pytest.param(OperationalError("server closed"), 503, "Service Unavailable", id="down"),
        pytest.param(
            DatabaseError("file is not a database"), 503, "Service Unavailable", id="unreadable"
        ),
        pytest.param(
            ProgrammingError("no such table: intents_programintent"),
            503,
            "Service Unavailable",
            id="schema-missing",
        ),
        pytest.param(DataError("value too long"), 500, "Internal Server Error", id="data"),
        pytest.param(IntegrityError("conflict"), 500, "Internal Server Error", id="integrity"),
    ],
)
def test_database_errors_inside_a_view_follow_the_same_outage_rule_as_authentication(
    client, error, status, title
):
    """Authentication and views agree on what an outage is (see the test above)."""
    from pie.apps.core.dev_tokens import create_dev_token

    token = create_dev_token(lms_user_id=5)
    with mock.patch(
        "pie.apps.intents.selectors.intents_most_recent_and_certain", side_effect=error
    ):
        response = client.get(
            "/api/v1/program_intents/most_recent_and_certain/", HTTP_AUTHORIZATION=f"JWT {token}"
        )
    assert response.status_code == status
    assert response.json()["status"] == status
    assert response.json()["title"] == title

from unittest import mock

import pytest
from django.db import OperationalError

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


def test_responses_carry_a_request_id_and_echo_a_well_formed_one(client):
    assert len(client.get("/health/")["X-Request-ID"]) == 32
    assert client.get("/health/", HTTP_X_REQUEST_ID="abc-123")["X-Request-ID"] == "abc-123"
    assert client.get("/health/", HTTP_X_REQUEST_ID="bad id\n")["X-Request-ID"] != "bad id\n"

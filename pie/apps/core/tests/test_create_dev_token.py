import io

import pytest
from django.core.management import CommandError, call_command

from pie.apps.core.authentication import decode_jwt


def run(*args) -> str:
    out = io.StringIO()
    call_command("create_dev_token", *args, stdout=out)
    return out.getvalue().strip()


def test_prints_a_token_that_pie_accepts_for_that_learner():
    payload = decode_jwt(run("42"))
    assert payload["user_id"] == 42
    assert payload["preferred_username"] == "learner42"
    assert payload["administrator"] is False


def test_options_set_username_staff_and_lifetime():
    payload = decode_jwt(run("42", "--username", "ada", "--staff", "--lifetime", "60"))
    assert (payload["preferred_username"], payload["administrator"]) == ("ada", True)
    assert payload["exp"] - payload["iat"] == 60


@pytest.mark.django_db
def test_token_works_against_the_api(client):
    response = client.get("/api/v1/program_intents/", HTTP_AUTHORIZATION=f"JWT {run('42')}")
    assert response.status_code == 200


@pytest.mark.parametrize("args", [("0",), ("-3",), ("42", "--lifetime", "0")])
def test_bad_arguments_are_a_command_error(args):
    with pytest.raises(CommandError):
        run(*args)


def test_refused_where_dev_tokens_are_disabled(settings):
    settings.PIE_DEV_TOKENS_ENABLED = False
    with pytest.raises(CommandError, match="disabled"):
        run("42")


@pytest.mark.django_db
def test_service_prints_a_client_credentials_token_without_user_id(client):
    token = run("--service", "retirement_service_worker")
    payload = decode_jwt(token)
    assert "user_id" not in payload
    assert (payload["preferred_username"], payload["grant_type"]) == (
        "retirement_service_worker",
        "client_credentials",
    )
    response = client.post(
        "/api/v1/retire_user/",
        {"edx_lms_user_id": 42},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"JWT {token}",
    )
    assert response.status_code == 204


@pytest.mark.parametrize(
    "args", [("--service", "w", "42"), ("--service", "w", "--username", "x"), ()]
)
def test_service_and_learner_arguments_do_not_mix(args):
    with pytest.raises(CommandError):
        run(*args)

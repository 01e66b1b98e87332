import pytest
import yaml

pytestmark = pytest.mark.django_db


def test_openapi_schema_describes_every_endpoint(client):
    response = client.get("/api/schema/")
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    paths = schema["paths"]
    assert set(paths["/api/v1/program_intents/"]) == {"get", "post"}
    assert set(paths["/api/v1/program_intents/most_recent_and_certain/"]) == {"get"}
    assert "jwtAuth" in schema["components"]["securitySchemes"]
    request_body = paths["/api/v1/program_intents/"]["post"]["requestBody"]
    assert request_body["content"]["application/json"]["schema"]["$ref"].endswith(
        "ProgramIntentCreateRequest"
    )


def test_schema_generation_has_no_warnings(capsys):
    from django.core.management import call_command

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", "/dev/null")


def test_swagger_ui_is_served(client):
    assert client.get("/api-docs/").status_code == 200

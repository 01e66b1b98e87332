import re

import pytest
import yaml
from django.contrib.staticfiles import finders

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


def test_schema_and_swagger_ui_are_public(client):
    """Anyone may read them (docs/decisions/0007-public-api-schema.rst); the API needs a JWT."""
    assert client.get("/api/schema/").status_code == 200
    assert client.get("/api-docs/").status_code == 200
    assert client.get("/api/v1/program_intents/").status_code == 401


def test_swagger_ui_loads_only_pies_own_static_files(client, settings):
    """No CDN: the page works offline and runs no script from another origin."""
    page = client.get("/api-docs/").content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert any(asset.endswith("swagger-ui-bundle.js") for asset in assets), assets
    for asset in assets:
        assert asset.startswith(settings.STATIC_URL), asset
        assert finders.find(asset.removeprefix(settings.STATIC_URL)), f"{asset} is not shipped"
    assert "//cdn" not in page and "https://" not in page


def _schema(client) -> dict:
    return yaml.safe_load(client.get("/api/schema/").content)


def _token_for_path(path: str) -> str:
    """The dev token Swagger's "Authorize" would be given for this path's callers."""
    from pie.apps.core.dev_tokens import (
        create_dev_token,
        dev_service_token_payload,
        sign_dev_token,
    )

    if path.startswith("/api/v1/program_intents"):
        return create_dev_token(lms_user_id=42)
    if path.startswith("/api/v1/retire_user"):
        return sign_dev_token(dev_service_token_payload(username="retirement_service_worker"))
    return create_dev_token(lms_user_id=9001, administrator=True)


def _writes(schema: dict):
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if method in ("post", "put", "patch"):
                yield path, method, operation


def test_every_write_has_a_request_example(client):
    writes = list(_writes(_schema(client)))
    assert writes
    for path, method, operation in writes:
        examples = operation["requestBody"]["content"]["application/json"].get("examples")
        assert examples, f"{method.upper()} {path} has no request example"


def test_every_writes_example_succeeds_as_swagger_try_it_out_sends_it(client):
    """Built from the schema only: its examples for the body and the path's parameters."""
    from rest_framework.test import APIClient

    from pie.apps.intents.models import ProgramIntent

    for path, method, operation in _writes(_schema(client)):
        url = path
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "path":
                value = next(iter(parameter["examples"].values()))["value"]
                url = url.replace("{" + parameter["name"] + "}", str(value))
        examples = operation["requestBody"]["content"]["application/json"]["examples"]
        for name, example in examples.items():
            ProgramIntent.objects.all().delete()  # each example on its own, as a first try
            api = APIClient()
            api.credentials(HTTP_AUTHORIZATION=f"JWT {_token_for_path(path)}")
            response = getattr(api, method)(url, example["value"], format="json")
            assert response.status_code in (200, 201, 204), (path, name, response.content)
            if response.status_code == 200:  # a list: each item answered on its own
                assert response.json()["failed"] == 0, (path, name, response.content)


def test_error_response_schema_lists_what_error_responses_contain(client):
    from rest_framework.test import APIClient

    from pie.apps.core.dev_tokens import create_dev_token

    component = _schema(client)["components"]["schemas"]["ErrorResponse"]
    documented = set(component["properties"])
    assert "user_message" not in documented
    assert "Intended for OpenAPI" not in component.get("description", "")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"JWT {create_dev_token(lms_user_id=42)}")
    invalid = api.post("/api/v1/program_intents/", {"reason": "x"}, format="json").json()
    unauthenticated = APIClient().get("/api/v1/program_intents/").json()
    not_found = api.get("/api/v1/program_intents/", {"page": 99}).json()
    for body in (invalid, unauthenticated, not_found):
        assert set(body) <= documented, body
        assert set(component["required"]) <= set(body), body
    assert "errors" in invalid

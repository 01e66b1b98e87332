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

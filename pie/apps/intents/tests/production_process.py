"""The environment of a process running PIE under production settings, for the tests."""

import json
import os

import yaml


def production_environment(tmp_path, config: dict, **environment) -> dict:
    """
    This process's environment without its event bus and database settings, plus a complete
    production configuration: ``config`` written to a PIE_CFG file, and the required secrets
    and hosts in the environment (as a container gets them), then ``environment``.
    """
    path = tmp_path / "pie.yml"
    path.write_text(yaml.safe_dump(config))
    result = {k: v for k, v in os.environ.items() if not k.startswith("EVENT_BUS_")}
    result.pop("DATABASE_URL", None)
    issuer = {
        "ISSUER": "https://lms.example.com/oauth2",
        "AUDIENCE": "lms-key",
        "SECRET_KEY": "an-lms-jwt-secret-of-forty-characters-xx",
    }
    result.update(
        DJANGO_SETTINGS_MODULE="pie.settings.production",
        PIE_CFG=str(path),
        SECRET_KEY="s" * 20 + "0123456789abcdefghijklmnopqrstuvwxyz",
        ALLOWED_HOSTS="pie.example.com",
        JWT_ISSUERS=json.dumps([issuer]),
        **environment,
    )
    return result

"""
Each settings module, loaded in a fresh interpreter as an operator would load it: the JWT
guard holds everywhere, and production refuses unsafe configuration.
"""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[4]
STRONG_SECRET_KEY = "k" * 20 + "3f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e"
STRONG_JWT_SECRET = "an-lms-jwt-secret-of-forty-characters-xx"
# What Tutor generates for JWT_COMMON_SECRET_KEY: 24 random letters and digits.
TUTOR_JWT_SECRET = "q7RkW2mZp9TfXc4LbN8vYs3H"

FORGERY_PROBE = textwrap.dedent(
    """
    import time, django, jwt
    django.setup()
    from django.conf import settings
    from django.test import RequestFactory
    from rest_framework.exceptions import AuthenticationFailed
    from rest_framework.request import Request
    from pie.apps.core.authentication import PieJwtAuthentication

    issuer = settings.JWT_AUTH["JWT_ISSUERS"][0]
    now = int(time.time())
    claims = {"iss": issuer["ISSUER"], "aud": issuer["AUDIENCE"], "iat": now, "exp": now + 60,
              "user_id": 5, "preferred_username": "mallory"}
    for secret in ("forged", "", "lms-secret"):
        if secret == issuer.get("SECRET_KEY"):
            continue
        token = jwt.encode(claims, secret or "x", algorithm="HS256")
        request = Request(RequestFactory().get("/", HTTP_AUTHORIZATION="JWT " + token))
        try:
            PieJwtAuthentication().authenticate(request)
        except AuthenticationFailed:
            continue
        raise SystemExit("ACCEPTED a token signed with %r" % secret)
    print("REJECTED")
    """
)


def run_with_settings(module: str, code: str, config: dict | None = None, tmp_path=None, **env):
    environment = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "PIE_CFG")}
    environment.update(DJANGO_SETTINGS_MODULE=f"pie.settings.{module}", **env)
    if config is not None:
        path = tmp_path / "pie.yml"
        path.write_text(yaml.safe_dump(config))
        environment["PIE_CFG"] = str(path)
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def production_config(**overrides) -> dict:
    config = {
        "SECRET_KEY": STRONG_SECRET_KEY,
        "ALLOWED_HOSTS": ["pie.example.com"],
        "JWT_AUTH": {
            "JWT_ISSUERS": [
                {
                    "ISSUER": "https://lms.example.com/oauth2",
                    "AUDIENCE": "lms-key",
                    "SECRET_KEY": STRONG_JWT_SECRET,
                }
            ]
        },
    }
    config.update(overrides)
    return config


@pytest.mark.parametrize("module", ["local", "test"])
def test_forged_signature_is_refused_under_development_settings(module):
    result = run_with_settings(module, FORGERY_PROBE)
    assert result.stdout.strip() == "REJECTED", result.stderr


def test_forged_signature_is_refused_under_production_settings(tmp_path):
    result = run_with_settings("production", FORGERY_PROBE, production_config(), tmp_path)
    assert result.stdout.strip() == "REJECTED", result.stderr


def test_forged_signature_is_refused_under_production_with_only_a_jwk_set(tmp_path):
    """The trap's own configuration: no symmetric secret; here the JWK set is present."""
    from cryptography.hazmat.primitives.asymmetric import rsa
    from jwt.algorithms import RSAAlgorithm

    public_key = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    jwks = f'{{"keys": [{RSAAlgorithm.to_jwk(public_key)}]}}'
    issuers = [{"ISSUER": "https://lms.example.com/oauth2", "AUDIENCE": "lms-key"}]
    config = production_config(
        JWT_AUTH={"JWT_ISSUERS": issuers, "JWT_PUBLIC_SIGNING_JWK_SET": jwks}
    )
    result = run_with_settings("production", FORGERY_PROBE, config, tmp_path)
    assert result.stdout.strip() == "REJECTED", result.stderr


CHECK_DEPLOY = "import django; django.setup(); print('LOADED')"


def test_production_loads_with_a_complete_configuration(tmp_path):
    result = run_with_settings("production", CHECK_DEPLOY, production_config(), tmp_path)
    assert result.stdout.strip() == "LOADED", result.stderr


def test_production_check_deploy_is_clean(tmp_path):
    code = (
        "import django, sys; django.setup(); from django.core.management import call_command;"
        "call_command('check', '--deploy', '--fail-level', 'WARNING')"
    )
    result = run_with_settings("production", code, production_config(), tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"SECRET_KEY": "pie-local-insecure-secret-key"}, "SECRET_KEY"),
        ({"SECRET_KEY": "short"}, "SECRET_KEY"),
        ({"ALLOWED_HOSTS": []}, "ALLOWED_HOSTS"),
        ({"DEBUG": True}, "DEBUG"),
        (
            {
                "JWT_AUTH": {
                    "JWT_ISSUERS": [
                        {
                            "ISSUER": "http://localhost:18000/oauth2",
                            "AUDIENCE": "lms-key",
                            "SECRET_KEY": "lms-secret",
                        }
                    ]
                }
            },
            "JWT_ISSUERS[0].SECRET_KEY",
        ),
        ({"JWT_AUTH": {"JWT_ISSUERS": []}}, "JWT_ISSUERS"),
        ({"CORS_ORIGIN_WHITELIST": ["https://apps.example.com/"]}, "CORS_ORIGIN_WHITELIST"),
        ({"CORS_ALLOWED_ORIGINS": ["apps.example.com"]}, "CORS_ALLOWED_ORIGINS"),
        ({"CSRF_TRUSTED_ORIGINS": "https://apps.example.com"}, "CSRF_TRUSTED_ORIGINS"),
        ({"OPENEDX_TELEMETRY": "edx_django_utils.monitoring.DatadogBackend"}, "OPENEDX_TELEMETRY"),
        ({"OPENEDX_TELEMETRY": None}, "OPENEDX_TELEMETRY"),
        ({"JWT_AUTH": {"JWT_DECODE_HANDLER": "edx.decoder"}}, "JWT_DECODE_HANDLER"),
        ({"ALLOWED_HOST": ["typo.example.com"]}, "ALLOWED_HOST"),
        ({"JWT_AUTH": "not a mapping"}, "JWT_AUTH"),
    ],
)
def test_production_refuses_unsafe_or_unknown_configuration(tmp_path, overrides, named):
    result = run_with_settings("production", CHECK_DEPLOY, production_config(**overrides), tmp_path)
    assert result.returncode != 0
    assert "LOADED" not in result.stdout
    assert named in result.stderr


def test_production_refuses_to_start_without_any_configuration():
    result = run_with_settings("production", CHECK_DEPLOY)
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_environment_overrides_the_configuration_file(tmp_path):
    code = (
        # Settings alone, without django.setup(): the PostgreSQL driver need not be installed.
        "from django.conf import settings;"
        "print(settings.ALLOWED_HOSTS, settings.DATABASES['default']['ENGINE'],"
        " settings.JWT_AUTH['JWT_ISSUERS'][0]['AUDIENCE'], settings.JWT_AUTH['JWT_LEEWAY'])"
    )
    result = run_with_settings(
        "production",
        code,
        production_config(),
        tmp_path,
        ALLOWED_HOSTS="a.example.com, b.example.com",
        DATABASE_URL="postgres://pie@db.example.com/pie",
    )
    assert result.returncode == 0, result.stderr
    # JWT_AUTH from the file is merged into base.py's, keeping JWT_LEEWAY.
    assert result.stdout.split() == [
        "['a.example.com',",
        "'b.example.com']",
        "django.db.backends.postgresql",
        "lms-key",
        "1",
    ]


def test_database_url_options_and_conn_max_age_all_apply_whichever_source_sets_them(tmp_path):
    code = (
        "from django.conf import settings; d = settings.DATABASES['default'];"
        "print(d['HOST'], d['CONN_MAX_AGE'], d['OPTIONS']['sslmode'])"
    )
    # DATABASE_OPTIONS before DATABASE_URL in the file, and the URL overridden by env.
    config = {
        "DATABASE_OPTIONS": {"sslmode": "require"},
        "DATABASE_URL": "postgres://pie@file.example.com/pie",
        "CONN_MAX_AGE": 60,
        **production_config(),
    }
    from_file = run_with_settings("production", code, config, tmp_path)
    assert from_file.stdout.split() == ["file.example.com", "60", "require"], from_file.stderr
    from_env = run_with_settings(
        "production",
        code,
        config,
        tmp_path,
        DATABASE_URL="postgres://pie@env.example.com/pie",
        CONN_MAX_AGE="5",
    )
    assert from_env.stdout.split() == ["env.example.com", "5", "require"], from_env.stderr


def test_unreadable_or_invalid_configuration_file_is_one_clear_error(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text("SECRET_KEY: [unclosed")
    for path in (broken, tmp_path / "missing.yml"):
        result = run_with_settings("production", CHECK_DEPLOY, PIE_CFG=str(path))
        assert result.returncode != 0
        assert "PIE_CFG" in result.stderr


@pytest.mark.parametrize(
    "jwk_set",
    [
        "{not json",
        '{"keys": []}',
        '{"keys": [{"kty": "RSA", "n": "x"}]}',
        '{"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}',
    ],
    ids=["not-json", "no-keys", "broken-rsa-key", "no-rsa-key"],
)
def test_production_refuses_an_unusable_jwk_set_with_one_clear_line(tmp_path, jwk_set):
    config = production_config()
    config["JWT_AUTH"]["JWT_PUBLIC_SIGNING_JWK_SET"] = jwk_set
    result = run_with_settings("production", CHECK_DEPLOY, config, tmp_path)
    assert result.returncode != 0
    assert "LOADED" not in result.stdout
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith("django.core.exceptions.ImproperlyConfigured: JWT_AUTH.")
    assert "JWT_PUBLIC_SIGNING_JWK_SET" in last_line


@pytest.mark.parametrize(
    ("limit", "loads"), [(None, True), (4096, True), ("big", False), (0, False)]
)
def test_production_takes_null_as_no_upload_limit_and_refuses_nonsense(tmp_path, limit, loads):
    config = production_config(DATA_UPLOAD_MAX_MEMORY_SIZE=limit)
    result = run_with_settings("production", CHECK_DEPLOY, config, tmp_path)
    assert (result.stdout.strip() == "LOADED") is loads, result.stderr
    if not loads:
        assert "DATA_UPLOAD_MAX_MEMORY_SIZE" in result.stderr


def production_config_with_jwt_secret(secret: str) -> dict:
    issuer = {
        "ISSUER": "https://lms.example.com/oauth2",
        "AUDIENCE": "openedx",
        "SECRET_KEY": secret,
    }
    return production_config(JWT_AUTH={"JWT_ISSUERS": [issuer]})


def test_production_accepts_tutors_24_character_jwt_secret_and_verifies_with_it(tmp_path):
    code = textwrap.dedent(
        """
        import os, time, django, jwt
        django.setup()
        from pie.apps.core.authentication import decode_jwt
        now = int(time.time())
        claims = {"iss": "https://lms.example.com/oauth2", "aud": "openedx", "iat": now,
                  "exp": now + 60, "user_id": 5, "preferred_username": "learner5"}
        token = jwt.encode(claims, os.environ["PROBE_SECRET"], algorithm="HS256")
        print(decode_jwt(token)["user_id"])
        """
    )
    config = production_config_with_jwt_secret(TUTOR_JWT_SECRET)
    result = run_with_settings("production", code, config, tmp_path, PROBE_SECRET=TUTOR_JWT_SECRET)
    assert result.stdout.strip() == "5", result.stderr
    forged = run_with_settings("production", FORGERY_PROBE, config, tmp_path)
    assert forged.stdout.strip() == "REJECTED", forged.stderr


@pytest.mark.parametrize(
    "secret",
    [
        "q7RkW2mZp9TfXc4",  # 15 characters: one short of the minimum
        "replace-me",
        "SET-ME-PLEASE",
        # Development values long enough to pass the length rule alone.
        "pie-test-jwt-secret",
        "Insecure-Secret-Key",
    ],
)
def test_production_refuses_short_or_development_jwt_secrets(tmp_path, secret):
    config = production_config_with_jwt_secret(secret)
    result = run_with_settings("production", CHECK_DEPLOY, config, tmp_path)
    assert result.returncode != 0
    assert "JWT_ISSUERS[0].SECRET_KEY" in result.stderr
    assert secret not in result.stderr  # the message names the setting, never the value


def test_production_takes_mfe_origins_under_either_cors_name_and_csrf_trusted_origins(tmp_path):
    code = (
        "import django; django.setup(); from django.conf import settings;"
        "from corsheaders.conf import conf;"
        "print(' '.join(conf.CORS_ALLOWED_ORIGINS));"
        "print(' '.join(settings.CSRF_TRUSTED_ORIGINS));"
        "print(conf.CORS_ALLOW_CREDENTIALS, 'use-jwt-cookie' in conf.CORS_ALLOW_HEADERS)"
    )
    config = production_config(
        CORS_ORIGIN_WHITELIST=["https://apps.example.com", "https://learning.example.com"],
        CORS_ALLOWED_ORIGINS=["https://learning.example.com", "https://dashboard.example.com"],
        CSRF_TRUSTED_ORIGINS=["https://apps.example.com", "https://*.example.com"],
    )
    result = run_with_settings("production", code, config, tmp_path)
    assert result.stdout.splitlines() == [
        "https://learning.example.com https://dashboard.example.com https://apps.example.com",
        "https://apps.example.com https://*.example.com",
        "True True",
    ], result.stderr


def test_production_takes_opentelemetry_as_telemetry_backend(tmp_path):
    code = "from django.conf import settings; print(settings.OPENEDX_TELEMETRY)"
    backend = "edx_django_utils.monitoring.OpenTelemetryBackend"
    result = run_with_settings(
        "production", code, production_config(OPENEDX_TELEMETRY=[backend]), tmp_path
    )
    assert result.stdout.strip() == str([backend]), result.stderr


def test_local_settings_allow_devstacks_micro_frontends():
    code = (
        "from django.conf import settings;"
        "print(sorted(set(settings.CORS_ALLOWED_ORIGINS) & set(settings.CSRF_TRUSTED_ORIGINS)))"
    )
    result = run_with_settings("local", code)
    for port in (1995, 1996, 1997, 2000):
        assert f"'http://localhost:{port}'" in result.stdout, result.stderr

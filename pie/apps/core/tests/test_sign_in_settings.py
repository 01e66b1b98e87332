"""
Staff sign-in's settings under pie.settings.production, loaded in a fresh interpreter as an
operator loads them: from PIE_CFG (or the environment for the key and secret), refused when
half-configured or configured with a development secret.
"""

import json

import pytest

from pie.apps.core.tests.test_settings_modules import production_config, run_with_settings

REAL_CLIENT_SECRET = "a-real-oauth2-client-secret-of-the-lms-xx"
SSO = {
    "SOCIAL_AUTH_EDX_OAUTH2_KEY": "pie-sso",
    "SOCIAL_AUTH_EDX_OAUTH2_SECRET": REAL_CLIENT_SECRET,
    "SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT": "http://lms:8000",
    "SOCIAL_AUTH_EDX_OAUTH2_PUBLIC_URL_ROOT": "https://lms.example.com",
    "SOCIAL_AUTH_EDX_OAUTH2_LOGOUT_URL": "https://lms.example.com/logout",
}
SHOW_SIGN_IN = (
    "import json, django; django.setup(); from django.conf import settings;"
    "from pie.apps.core.sso import lms_sign_in_configured;"
    "from social_django.utils import load_strategy, load_backend;"
    "backend = load_backend(load_strategy(), 'edx-oauth2', None);"
    "print(json.dumps({'configured': lms_sign_in_configured(),"
    " 'key': settings.SOCIAL_AUTH_EDX_OAUTH2_KEY, 'secret': settings.SOCIAL_AUTH_EDX_OAUTH2_SECRET,"
    " 'authorize': backend.authorization_url(), 'token': backend.access_token_url(),"
    " 'logout': settings.SOCIAL_AUTH_EDX_OAUTH2_LOGOUT_URL}))"
)


def test_production_takes_sign_in_from_pie_cfg(tmp_path):
    result = run_with_settings("production", SHOW_SIGN_IN, production_config(**SSO), tmp_path)

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "configured": True,
        "key": "pie-sso",
        "secret": REAL_CLIENT_SECRET,
        # Browsers go to the public URL; PIE's server exchanges the code at the internal one.
        "authorize": "https://lms.example.com/oauth2/authorize",
        "token": "http://lms:8000/oauth2/access_token",
        "logout": "https://lms.example.com/logout",
    }


def test_production_without_sign_in_offers_local_passwords_only(tmp_path):
    result = run_with_settings("production", SHOW_SIGN_IN, production_config(), tmp_path)

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["configured"] is False


def test_the_environment_may_give_the_key_and_secret(tmp_path):
    config = production_config(SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT="https://lms.example.com")
    result = run_with_settings(
        "production",
        SHOW_SIGN_IN,
        config,
        tmp_path,
        SOCIAL_AUTH_EDX_OAUTH2_KEY="pie-sso-from-env",
        SOCIAL_AUTH_EDX_OAUTH2_SECRET=REAL_CLIENT_SECRET,
    )

    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert (shown["key"], shown["authorize"]) == (
        "pie-sso-from-env",
        "https://lms.example.com/oauth2/authorize",
    )


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        # devstack's secret (local.py), and other public placeholders.
        ({"SOCIAL_AUTH_EDX_OAUTH2_SECRET": "pie-sso-secret"}, "SOCIAL_AUTH_EDX_OAUTH2_SECRET"),
        ({"SOCIAL_AUTH_EDX_OAUTH2_SECRET": "SET-ME-PLEASE"}, "SOCIAL_AUTH_EDX_OAUTH2_SECRET"),
        ({"SOCIAL_AUTH_EDX_OAUTH2_SECRET": "short"}, "SOCIAL_AUTH_EDX_OAUTH2_SECRET"),
        ({"SOCIAL_AUTH_EDX_OAUTH2_SECRET": ""}, "SOCIAL_AUTH_EDX_OAUTH2_SECRET"),
        ({"SOCIAL_AUTH_EDX_OAUTH2_KEY": ""}, "SOCIAL_AUTH_EDX_OAUTH2_KEY"),
        ({"SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT": ""}, "SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT"),
        ({"SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT": "lms.example.com"}, "SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT"),
        (
            {"SOCIAL_AUTH_EDX_OAUTH2_PUBLIC_URL_ROOT": "https://lms.example.com/"},
            "SOCIAL_AUTH_EDX_OAUTH2_PUBLIC_URL_ROOT",
        ),
        ({"SOCIAL_AUTH_EDX_OAUTH2_LOGOUT_URL": "/logout"}, "SOCIAL_AUTH_EDX_OAUTH2_LOGOUT_URL"),
        ({"SOCIAL_AUTH_EDX_OAUTH2_KEYS": "typo"}, "SOCIAL_AUTH_EDX_OAUTH2_KEYS"),
    ],
)
def test_production_refuses_half_configured_or_development_sign_in(tmp_path, overrides, named):
    config = production_config(**{**SSO, **overrides})

    result = run_with_settings("production", SHOW_SIGN_IN, config, tmp_path)

    assert result.returncode != 0
    assert named in result.stderr
    assert "Traceback" not in result.stderr.splitlines()[-1]

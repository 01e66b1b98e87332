"""
Production settings: the YAML file named by ``PIE_CFG`` (the Open edX convention), then
environment variables, over base.py. Refuses to start on development secrets, an empty
ALLOWED_HOSTS or DEBUG.

Every key an operator may set is listed in ``OPERATOR_SETTINGS``; any other key in the
YAML file is an error, so a typo cannot silently leave a default in force. Dict settings
(JWT_AUTH, EDX_DRF_EXTENSIONS, DATABASES' options) are merged key by key. See
docs/operations.rst for the reference table.
"""

import json
import os
from urllib.parse import urlsplit

import jwt
import yaml
from django.core.exceptions import ImproperlyConfigured

from pie.apps.core.jwks import rsa_keys_from_jwk_set
from pie.settings.base import *  # noqa: F403
from pie.settings.base import JWT_AUTH, database_from_url

# Settings whose value replaces the default.
OPERATOR_SETTINGS = {
    "ALLOWED_HOSTS",
    "CONN_MAX_AGE",
    # Micro-frontends' origins. CORS_ORIGIN_WHITELIST is the name Open edX IDAs and Tutor
    # plugins use; CORS_ALLOWED_ORIGINS is django-cors-headers' own. PIE allows both lists.
    "CORS_ALLOWED_ORIGINS",
    "CORS_ORIGIN_WHITELIST",
    "CSRF_COOKIE_DOMAIN",
    "CSRF_TRUSTED_ORIGINS",
    "DATA_UPLOAD_MAX_MEMORY_SIZE",
    "DATABASE_URL",
    "DEBUG",
    "EVENT_BUS_CONSUMER",
    "EVENT_BUS_KAFKA_API_KEY",
    "EVENT_BUS_KAFKA_API_SECRET",
    "EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS",
    "EVENT_BUS_KAFKA_CONSUMER_CONSECUTIVE_ERRORS_LIMIT",
    "EVENT_BUS_KAFKA_SCHEMA_REGISTRY_API_KEY",
    "EVENT_BUS_KAFKA_SCHEMA_REGISTRY_API_SECRET",
    "EVENT_BUS_KAFKA_SCHEMA_REGISTRY_URL",
    "EVENT_BUS_PRODUCER",
    "EVENT_BUS_REDIS_CONNECTION_URL",
    "EVENT_BUS_REDIS_CONSUMER_CONSECUTIVE_ERRORS_LIMIT",
    "EVENT_BUS_TOPIC_PREFIX",
    "LANGUAGE_CODE",
    "LOG_LEVEL",
    "PIE_EVENT_BUS_DATABASE_OUTAGE_SECONDS",
    # edx-django-utils' telemetry backends, e.g. edx_django_utils.monitoring.DatadogBackend.
    "OPENEDX_TELEMETRY",
    "PIE_SERVICE_WORKER_USERNAMES",
    "RETIREMENT_SERVICE_WORKER_USERNAME",
    "SECRET_KEY",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SECURE_HSTS_SECONDS",
    "SECURE_PROXY_SSL_HEADER",
    "SECURE_SSL_REDIRECT",
    "SESSION_COOKIE_DOMAIN",
    # Staff sign-in through the LMS (docs/operations.rst, "Staff sign-in"). The redirect URI
    # is built from the request: behind the proxy, SECURE_PROXY_SSL_HEADER makes it https.
    "SOCIAL_AUTH_EDX_OAUTH2_KEY",
    "SOCIAL_AUTH_EDX_OAUTH2_SECRET",
    "SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT",
    "SOCIAL_AUTH_EDX_OAUTH2_PUBLIC_URL_ROOT",
    "SOCIAL_AUTH_EDX_OAUTH2_LOGOUT_URL",
    "STATIC_ROOT",
    "STATIC_URL",
}
# The event bus settings that the environment may also set (and that win over the file).
EVENT_BUS_ENVIRONMENT_SETTINGS = (
    "EVENT_BUS_CONSUMER",
    "EVENT_BUS_PRODUCER",
    "EVENT_BUS_REDIS_CONNECTION_URL",
    "EVENT_BUS_TOPIC_PREFIX",
    "EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS",
    "EVENT_BUS_KAFKA_SCHEMA_REGISTRY_URL",
    "EVENT_BUS_KAFKA_API_KEY",
    "EVENT_BUS_KAFKA_API_SECRET",
    "EVENT_BUS_KAFKA_SCHEMA_REGISTRY_API_KEY",
    "EVENT_BUS_KAFKA_SCHEMA_REGISTRY_API_SECRET",
)
# Dict settings merged key by key into base.py's value.
MERGED_SETTINGS = {"JWT_AUTH", "EDX_DRF_EXTENSIONS", "DATABASE_OPTIONS"}
# Keys of JWT_AUTH an operator may set. The decode handler is not among them: PIE's own
# handler is what guarantees that signatures are verified.
JWT_AUTH_OPERATOR_KEYS = {
    "JWT_ISSUERS",
    "JWT_PUBLIC_SIGNING_JWK_SET",
    "JWT_LEEWAY",
    "JWT_AUTH_COOKIE",
    "JWT_AUTH_COOKIE_HEADER_PAYLOAD",
    "JWT_AUTH_COOKIE_SIGNATURE",
    "JWT_AUTH_REFRESH_COOKIE",
    "JWT_SUPPORTED_VERSION",
}

# Values that are public: devstack's, Open edX's placeholders and PIE's own development and
# test values. Compared without regard to case.
DEV_SECRETS = {
    "",
    "lms-secret",
    "pie-sso-secret",
    "pie-local-insecure-secret-key",
    "pie-test-insecure-secret-key",
    "pie-test-jwt-secret",
    "SET-ME-PLEASE",
    "insecure-secret-key",
    "secret",
    "changeme",
    "change-me",
    "replace-me",
}
# Tutor's JWT_COMMON_SECRET_KEY, which the LMS signs with, is 24 random characters. PyJWT
# still warns (once per process) about HS256 keys under 32 bytes: RFC 7518's advice.
MIN_JWT_SECRET_LENGTH = 16
MIN_SECRET_KEY_LENGTH = 50


def _read_config_file() -> dict:
    path = os.environ.get("PIE_CFG")
    if not path:
        return {}
    try:
        with open(path, encoding="utf-8") as config_file:
            config = yaml.safe_load(config_file) or {}
    except OSError as error:
        raise ImproperlyConfigured(f"PIE_CFG: cannot read {path}: {error.strerror}") from None
    except yaml.YAMLError as error:
        raise ImproperlyConfigured(f"PIE_CFG: {path} is not valid YAML: {error}") from None
    if not isinstance(config, dict):
        raise ImproperlyConfigured(f"PIE_CFG: {path} must hold a mapping of setting names.")
    unknown = sorted(set(config) - OPERATOR_SETTINGS - MERGED_SETTINGS)
    if unknown:
        raise ImproperlyConfigured(
            f"PIE_CFG: unknown setting(s) {', '.join(unknown)} in {path}. "
            "See docs/operations.rst for the settings PIE reads."
        )
    for name in MERGED_SETTINGS & set(config):
        if not isinstance(config[name], dict):
            raise ImproperlyConfigured(f"PIE_CFG: {name} must be a mapping.")
    unknown_jwt = sorted(set(config.get("JWT_AUTH", {})) - JWT_AUTH_OPERATOR_KEYS)
    if unknown_jwt:
        raise ImproperlyConfigured(
            f"PIE_CFG: JWT_AUTH key(s) {', '.join(unknown_jwt)} cannot be set "
            f"(allowed: {', '.join(sorted(JWT_AUTH_OPERATOR_KEYS))})."
        )
    return config


def _env_overrides() -> dict:
    """Environment variables win over the YAML file (handy for containers and secrets)."""
    config = {}
    for name in ("SECRET_KEY", "DATABASE_URL", "LOG_LEVEL", "STATIC_ROOT"):
        if os.environ.get(name):
            config[name] = os.environ[name]
    # The event bus: which transport, where it is and its credentials (secrets are often
    # given to containers as environment variables), and the stream or topic prefix.
    for name in EVENT_BUS_ENVIRONMENT_SETTINGS:
        if os.environ.get(name):
            config[name] = os.environ[name]
    # The LMS's OAuth2 application for staff sign-in: its secret, like the others, may come
    # from the container's environment.
    for name in ("SOCIAL_AUTH_EDX_OAUTH2_KEY", "SOCIAL_AUTH_EDX_OAUTH2_SECRET"):
        if os.environ.get(name):
            config[name] = os.environ[name]
    if os.environ.get("PIE_EVENT_BUS_DATABASE_OUTAGE_SECONDS"):
        try:
            config["PIE_EVENT_BUS_DATABASE_OUTAGE_SECONDS"] = float(
                os.environ["PIE_EVENT_BUS_DATABASE_OUTAGE_SECONDS"]
            )
        except ValueError:
            raise ImproperlyConfigured(
                "PIE_EVENT_BUS_DATABASE_OUTAGE_SECONDS must be a number of seconds."
            ) from None
    if os.environ.get("CONN_MAX_AGE"):
        try:
            config["CONN_MAX_AGE"] = int(os.environ["CONN_MAX_AGE"])
        except ValueError:
            raise ImproperlyConfigured("CONN_MAX_AGE must be a number of seconds.") from None
    if os.environ.get("ALLOWED_HOSTS"):
        config["ALLOWED_HOSTS"] = [
            host.strip() for host in os.environ["ALLOWED_HOSTS"].split(",") if host.strip()
        ]
    if os.environ.get("DEBUG"):
        config["DEBUG"] = os.environ["DEBUG"].lower() in ("1", "true", "yes")
    jwt_auth = {}
    if os.environ.get("JWT_ISSUERS"):
        jwt_auth["JWT_ISSUERS"] = _json_env("JWT_ISSUERS")
    if os.environ.get("JWT_PUBLIC_SIGNING_JWK_SET"):
        jwt_auth["JWT_PUBLIC_SIGNING_JWK_SET"] = os.environ["JWT_PUBLIC_SIGNING_JWK_SET"]
    if jwt_auth:
        config["JWT_AUTH"] = jwt_auth
    return config


def _json_env(name: str):
    try:
        return json.loads(os.environ[name])
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be JSON.") from None


def _is_dev_secret(value: str) -> bool:
    return value.lower() in {secret.lower() for secret in DEV_SECRETS}


def _configure_origins(namespace: dict) -> None:
    """
    One list of CORS origins from both names an operator may use, and every origin checked:
    a browser's Origin header is exactly ``scheme://host[:port]``, so anything else (a
    trailing slash, a path, no scheme) would never match and is refused here, by name.
    """
    for name in ("CORS_ALLOWED_ORIGINS", "CORS_ORIGIN_WHITELIST", "CSRF_TRUSTED_ORIGINS"):
        origins = namespace.get(name) or []
        if not isinstance(origins, list | tuple):
            raise ImproperlyConfigured(f"{name} must be a list of origins.")
        for origin in origins:
            try:
                parts = urlsplit(origin) if isinstance(origin, str) else None
            except ValueError:  # e.g. an unclosed IPv6 bracket
                parts = None
            if (
                parts is None
                or parts.scheme not in ("http", "https")
                or not parts.netloc
                or parts.path
                or parts.query
                or parts.fragment
            ):
                raise ImproperlyConfigured(
                    f"{name}: {origin!r} is not an origin; write it as "
                    "https://host or https://host:port, without a path or trailing slash."
                )
    allowed = list(namespace.get("CORS_ALLOWED_ORIGINS") or [])
    allowed += namespace.pop("CORS_ORIGIN_WHITELIST", None) or []
    namespace["CORS_ALLOWED_ORIGINS"] = list(dict.fromkeys(allowed))


def _refuse_unsafe(settings: dict) -> None:
    secret_key = settings.get("SECRET_KEY") or ""
    if _is_dev_secret(secret_key) or len(secret_key) < MIN_SECRET_KEY_LENGTH:
        raise ImproperlyConfigured(
            f"SECRET_KEY must be set to a random value of at least {MIN_SECRET_KEY_LENGTH} "
            "characters, not a development default."
        )
    if settings.get("DEBUG"):
        raise ImproperlyConfigured("DEBUG must be false in production.")
    if not settings.get("ALLOWED_HOSTS"):
        raise ImproperlyConfigured("ALLOWED_HOSTS must list the host names PIE serves.")
    jwt_auth = settings["JWT_AUTH"]
    # The system check pie.E001 says the same, but gunicorn does not run system checks.
    if jwt_auth.get("JWT_DECODE_HANDLER") != "pie.apps.core.authentication.decode_jwt":
        raise ImproperlyConfigured(
            "JWT_AUTH.JWT_DECODE_HANDLER must be pie.apps.core.authentication.decode_jwt."
        )
    issuers = jwt_auth.get("JWT_ISSUERS") or []
    if not isinstance(issuers, list) or not issuers:
        raise ImproperlyConfigured("JWT_AUTH.JWT_ISSUERS must list at least one issuer.")
    has_public_keys = bool(jwt_auth.get("JWT_PUBLIC_SIGNING_JWK_SET"))
    for position, issuer in enumerate(issuers):
        where = f"JWT_AUTH.JWT_ISSUERS[{position}]"
        if not isinstance(issuer, dict) or not issuer.get("ISSUER") or not issuer.get("AUDIENCE"):
            raise ImproperlyConfigured(f"{where} needs ISSUER and AUDIENCE.")
        secret = issuer.get("SECRET_KEY") or ""
        if not secret and has_public_keys:
            continue  # asymmetric-only issuer: RS256 tokens verified with the JWK set
        if _is_dev_secret(secret) or len(secret) < MIN_JWT_SECRET_LENGTH:
            raise ImproperlyConfigured(
                f"{where}.SECRET_KEY must be the LMS's real JWT secret (at least "
                f"{MIN_JWT_SECRET_LENGTH} characters), not a development default; or leave it "
                "empty and set JWT_PUBLIC_SIGNING_JWK_SET."
            )
    _refuse_unsafe_sign_in(settings)
    telemetry = settings.get("OPENEDX_TELEMETRY")
    if not isinstance(telemetry, list) or not all(isinstance(name, str) for name in telemetry):
        # edx-django-utils would raise on the first request for a string, and read None as
        # New Relic.
        raise ImproperlyConfigured(
            "OPENEDX_TELEMETRY must be a list of backend class paths (or [] for none)."
        )


def _refuse_unsafe_sign_in(settings: dict) -> None:
    """
    Staff sign-in through the LMS is off (no key, no secret) or fully configured with a real
    secret: a half-configured one would send staff to the LMS and fail on their way back.
    """
    key = settings.get("SOCIAL_AUTH_EDX_OAUTH2_KEY") or ""
    secret = settings.get("SOCIAL_AUTH_EDX_OAUTH2_SECRET") or ""
    if not key and not secret:
        return
    if not key:
        raise ImproperlyConfigured(
            "SOCIAL_AUTH_EDX_OAUTH2_SECRET is set without SOCIAL_AUTH_EDX_OAUTH2_KEY: set both "
            "(PIE's OAuth2 application in the LMS) or neither."
        )
    if _is_dev_secret(secret) or len(secret) < MIN_JWT_SECRET_LENGTH:
        raise ImproperlyConfigured(
            "SOCIAL_AUTH_EDX_OAUTH2_SECRET must be the client secret of PIE's OAuth2 application "
            f"in the LMS (at least {MIN_JWT_SECRET_LENGTH} characters), not a development default."
        )
    for name in (
        "SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT",
        "SOCIAL_AUTH_EDX_OAUTH2_PUBLIC_URL_ROOT",
        "SOCIAL_AUTH_EDX_OAUTH2_LOGOUT_URL",
    ):
        url = settings.get(name) or ""
        is_root = name != "SOCIAL_AUTH_EDX_OAUTH2_LOGOUT_URL"
        if not url and name != "SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT":
            continue  # optional: the public root defaults to URL_ROOT, logout to its /logout
        parts = urlsplit(url) if isinstance(url, str) else None
        # EdXOAuth2 appends "/oauth2/authorize" and the like to the roots.
        if (
            parts is None
            or parts.scheme not in ("http", "https")
            or not parts.netloc
            or (is_root and (parts.path or parts.query))
        ):
            example = "https://lms.example.com" + ("" if is_root else "/logout")
            raise ImproperlyConfigured(
                f"{name} must be the LMS's URL, e.g. {example}"
                + (", without a path or trailing slash." if is_root else ".")
            )


def _refuse_unusable(settings: dict) -> None:
    """Values that would pass startup and then fail every request they touch."""
    jwk_set = settings["JWT_AUTH"].get("JWT_PUBLIC_SIGNING_JWK_SET")
    if jwk_set:
        try:
            rsa_keys_from_jwk_set(jwk_set)
        except jwt.InvalidKeyError as error:
            raise ImproperlyConfigured(f"JWT_AUTH.{error}") from None
    upload_limit = settings.get("DATA_UPLOAD_MAX_MEMORY_SIZE")
    # None is Django's "no limit"; anything else must be a number of bytes.
    if upload_limit is not None and (
        not isinstance(upload_limit, int) or isinstance(upload_limit, bool) or upload_limit < 1
    ):
        raise ImproperlyConfigured(
            "DATA_UPLOAD_MAX_MEMORY_SIZE must be a positive number of bytes, or null for no limit."
        )


def _apply(config: dict, namespace: dict) -> None:
    for name, value in config.items():
        if name == "JWT_AUTH":
            namespace["JWT_AUTH"] = {**namespace["JWT_AUTH"], **value}
        elif name == "EDX_DRF_EXTENSIONS":
            namespace["EDX_DRF_EXTENSIONS"] = {**namespace["EDX_DRF_EXTENSIONS"], **value}
        elif name == "DATABASE_OPTIONS":
            namespace["DATABASE_OPTIONS"] = {**namespace.get("DATABASE_OPTIONS", {}), **value}
        elif name == "LOG_LEVEL":
            namespace["LOGGING"]["root"]["level"] = value
        else:
            namespace[name] = value


def _configure_database(namespace: dict) -> None:
    """
    DATABASES from the final DATABASE_URL, CONN_MAX_AGE and DATABASE_OPTIONS, once the file
    and the environment are both read: whichever set them, in whatever order, all three apply.
    """
    if namespace.get("DATABASE_URL"):
        namespace["DATABASES"] = {"default": database_from_url(namespace["DATABASE_URL"])}
    database = namespace["DATABASES"]["default"]
    if "CONN_MAX_AGE" in namespace:
        database["CONN_MAX_AGE"] = namespace["CONN_MAX_AGE"]
    database.setdefault("OPTIONS", {}).update(namespace.get("DATABASE_OPTIONS", {}))


DEBUG = False
JWT_AUTH = {**JWT_AUTH, "JWT_AUTH_COOKIE_SECURE": True}

# Behind a TLS-terminating proxy (the usual Open edX deployment): trust its scheme header,
# send cookies over HTTPS only and ask browsers to keep to HTTPS.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = True
SECURE_REDIRECT_EXEMPT = [r"^health/?$"]
SECURE_HSTS_SECONDS = 31536000
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = False
# Preloading commits the whole domain to HTTPS in browsers; operators opt in by setting
# SECURE_HSTS_PRELOAD, so the deploy check's reminder about it is silenced.
SILENCED_SYSTEM_CHECKS = ["security.W021"]
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True

LOGGING["formatters"]["json"] = {"()": "pie.apps.core.logging.JsonFormatter"}  # noqa: F405
LOGGING["handlers"]["console"]["formatter"] = "json"  # noqa: F405

_apply(_read_config_file(), globals())
_apply(_env_overrides(), globals())
_configure_database(globals())
_configure_origins(globals())
_refuse_unsafe(globals())
_refuse_unusable(globals())

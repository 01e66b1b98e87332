"""Signed JWTs for development and tests, shaped like the LMS's access tokens."""

import time

import jwt
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from pie.apps.core.authentication import jwt_issuers


def _issued_now(lifetime_seconds: int) -> dict:
    """The claims every LMS access token carries, for the first configured issuer."""
    if not settings.PIE_DEV_TOKENS_ENABLED:
        raise ImproperlyConfigured("Development tokens are disabled in these settings.")
    issuer = jwt_issuers()[0]
    now = int(time.time())
    return {
        "iss": issuer["ISSUER"],
        "aud": issuer["AUDIENCE"],
        "iat": now,
        "exp": now + lifetime_seconds,
        "version": "1.2.0",
        "scopes": ["read", "write", "email", "profile"],
    }


def dev_token_payload(*, lms_user_id: int, lifetime_seconds: int = 3600, **claims) -> dict:
    """The claims an LMS puts in a learner's JWT."""
    return {
        **_issued_now(lifetime_seconds),
        "user_id": lms_user_id,
        "preferred_username": f"learner{lms_user_id}",
        "email": f"learner{lms_user_id}@example.com",
        "administrator": False,
        **claims,
    }


def dev_service_token_payload(
    *, username: str, lifetime_seconds: int = 3600, administrator: bool = False, **claims
) -> dict:
    """
    The claims of the LMS's client-credentials token for a service worker: no ``user_id``
    (the LMS adds it only for the ``user_id`` scope, edx-platform oauth_dispatch ADR 0015).
    """
    return {
        **_issued_now(lifetime_seconds),
        "preferred_username": username,
        "sub": f"sub-{username}",
        "filters": [],
        "is_restricted": False,
        "grant_type": "client_credentials",
        "email": f"{username}@example.com",
        "name": username,
        "family_name": "",
        "given_name": "",
        "administrator": administrator,
        "superuser": administrator,
        **claims,
    }


def sign_dev_token(payload: dict, *, secret: str | None = None, algorithm: str = "HS256") -> str:
    """Sign with the first issuer's secret (or ``secret``)."""
    if not settings.PIE_DEV_TOKENS_ENABLED:
        raise ImproperlyConfigured("Development tokens are disabled in these settings.")
    return jwt.encode(payload, secret or jwt_issuers()[0]["SECRET_KEY"], algorithm=algorithm)


def create_dev_token(*, lms_user_id: int, **claims) -> str:
    return sign_dev_token(dev_token_payload(lms_user_id=lms_user_id, **claims))

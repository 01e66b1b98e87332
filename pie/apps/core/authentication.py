"""
JWT authentication for PIE: Open edX's ``JwtAuthentication`` on top of a decoder that always
verifies the signature.

edx-drf-extensions' own decoder (10.6 through 10.9.0) first tries the asymmetric key set and
treats an *empty* set as a successful verification, so with ``JWT_PUBLIC_SIGNING_JWK_SET``
unset it accepts any HS256 signature. PIE therefore installs ``decode_jwt`` below as
``JWT_DECODE_HANDLER`` and a system check (pie.apps.core.checks) refuses any other handler.
See docs/decisions/0003-jwt-verification.rst.
"""

import functools
import json
import time

import jwt
from django.conf import settings
from django.core.signals import setting_changed
from django.db import DatabaseError
from django.dispatch import receiver
from edx_rest_framework_extensions.auth.jwt.authentication import JwtAuthentication
from rest_framework import exceptions

from pie.apps.core.api.exceptions import ServiceUnavailable, is_database_outage
from pie.apps.core.identity import (
    IdentityRefused,
    LmsClaims,
    lms_user_id_claim,
    user_for_lms_claims,
)
from pie.apps.core.jwks import rsa_keys_from_jwk_set

SYMMETRIC_ALGORITHMS = frozenset({"HS256"})
ASYMMETRIC_ALGORITHMS = frozenset({"RS256", "RS512"})
ACCEPTED_HEADER_PREFIXES = frozenset({"jwt", "bearer"})
REQUIRED_CLAIMS = ["exp", "iat", "iss", "aud"]
# LMS access tokens are about 1 KB; anything far larger is refused before it is parsed.
MAX_TOKEN_LENGTH = 8 * 1024


def jwt_issuers() -> list[dict]:
    """The configured issuers, each a dict with ISSUER, AUDIENCE and SECRET_KEY."""
    return settings.JWT_AUTH.get("JWT_ISSUERS") or []


def public_signing_keys() -> tuple:
    jwk_set = settings.JWT_AUTH.get("JWT_PUBLIC_SIGNING_JWK_SET")
    if not jwk_set:
        return ()
    if not isinstance(jwk_set, str):
        jwk_set = json.dumps(jwk_set)
    return _rsa_keys(jwk_set)


# Parsed once per distinct value, not per request.
_rsa_keys = functools.lru_cache(maxsize=8)(rsa_keys_from_jwk_set)


def _verification_keys(algorithm: str, issuer: dict) -> tuple:
    if algorithm in SYMMETRIC_ALGORITHMS:
        secret = issuer.get("SECRET_KEY")
        return (secret,) if secret else ()
    if algorithm in ASYMMETRIC_ALGORITHMS:
        return public_signing_keys()
    raise jwt.InvalidAlgorithmError(f"Tokens signed with {algorithm!r} are not accepted.")


def _issuer_for(token_issuer) -> dict:
    for issuer in jwt_issuers():
        if issuer.get("ISSUER") == token_issuer:
            return issuer
    raise jwt.InvalidIssuerError("The token's issuer is not one PIE trusts.")


def _check_version(payload: dict) -> None:
    supported_major = int(settings.JWT_AUTH.get("JWT_SUPPORTED_VERSION", "1.2.0").split(".")[0])
    version = str(payload.setdefault("version", "1.0.0"))
    try:
        major = int(version.split(".")[0])
    except ValueError:
        raise jwt.InvalidTokenError("The token's version claim is not a version number.") from None
    if major > supported_major:
        raise jwt.InvalidTokenError(f"JWT version {version} is not supported.")


# Verified tokens, by their text, most recently used kept (ADR 0012). A JWT cannot change:
# once its signature, issuer and audience have passed, only its expiry can turn it away, and
# that is checked at every use. A learner's micro-frontend sends the same JWT cookie with
# every call until it expires, and edx-drf-extensions decodes a request's token twice (again
# in the NotJwtRestrictedApplication permission its EnsureJWTAuthSettingsMiddleware adds), so
# each worker verifies a token once. Only verified tokens are kept: a refusal raises, and
# lru_cache keeps no result. The keys are settings, which change only at a restart, or in
# tests, where setting_changed empties the cache.
VERIFIED_TOKENS_KEPT = 4096


@functools.lru_cache(maxsize=VERIFIED_TOKENS_KEPT)
def _verified(token: str) -> dict:
    return _verify_and_decode(token)


@receiver(setting_changed)
def _forget_verified_tokens(setting, **kwargs) -> None:
    if setting == "JWT_AUTH":
        _verified.cache_clear()


def decode_jwt(token: str) -> dict:
    """
    Verify and decode a JWT; raise a ``jwt.InvalidTokenError`` subclass when it is not valid.

    The signature is checked with the key that the token's algorithm and issuer call for
    (the issuer's secret for HS256, the LMS's public keys for RS256/RS512), and with no key
    at all a token is refused. Expiry, issued-at, issuer and audience are always required
    and verified. The result carries the defaults edx-drf-extensions' decoder adds.
    """
    payload = _verified(token)
    # PyJWT's own rule, at this use: refused at or past the expiry, less the leeway. The claim
    # passed PyJWT's int() when the token was verified.
    if int(payload["exp"]) <= time.time() - settings.JWT_AUTH.get("JWT_LEEWAY", 0):
        raise jwt.ExpiredSignatureError("Signature has expired")
    return dict(payload)


def _verify_and_decode(token: str) -> dict:
    if len(token) > MAX_TOKEN_LENGTH:
        raise jwt.DecodeError(f"The token is longer than {MAX_TOKEN_LENGTH} characters.")
    try:
        # Header and payload from one parse: they name the issuer and algorithm whose key
        # verifies the token below (PyJWT checks each segment character by character).
        unverified_token = jwt.decode_complete(token, options={"verify_signature": False})
        algorithm = unverified_token["header"].get("alg")
        unverified = unverified_token["payload"]
    except (ValueError, TypeError, AttributeError) as error:
        raise jwt.DecodeError(f"Malformed token: {error}") from None
    if not isinstance(unverified, dict):
        raise jwt.DecodeError("The token's payload is not a JSON object.")

    issuer = _issuer_for(unverified.get("iss"))
    keys = _verification_keys(algorithm, issuer)
    if not keys:
        raise jwt.InvalidSignatureError(f"No key is configured to verify {algorithm} tokens.")

    signature_error = None
    for key in keys:
        try:
            payload = jwt.decode(
                token,
                key=key,
                algorithms=[algorithm],
                audience=issuer.get("AUDIENCE"),
                issuer=issuer.get("ISSUER"),
                leeway=settings.JWT_AUTH.get("JWT_LEEWAY", 0),
                options={"require": REQUIRED_CLAIMS, "verify_signature": True},
            )
            break
        except jwt.InvalidSignatureError as error:
            signature_error = error  # key rotation: another key may match
        except (ValueError, TypeError) as error:
            raise jwt.DecodeError(f"Malformed token: {error}") from None
    else:
        raise signature_error

    _check_version(payload)
    payload.setdefault("is_restricted", False)
    payload.setdefault("filters", [])
    return payload


def username_from_payload(payload: dict):
    return payload.get("preferred_username") or payload.get("username")


class PieJwtAuthentication(JwtAuthentication):
    """
    Open edX JWT authentication, accepting both ``JWT`` and ``Bearer`` header prefixes, with
    PIE's identity rules (pie.apps.core.identity) instead of edx-drf-extensions' get-or-create
    by username: a token never binds to, rewrites or acts as an account created here, and a
    learner's LMS user id never changes.
    """

    @classmethod
    def prefixes_match(cls, prefix):
        return str(prefix).lower() in ACCEPTED_HEADER_PREFIXES

    @classmethod
    def get_token_from_authorization_header(cls, authorization_header):
        # drf-jwt ignores a header with another prefix ("Token ...", DRF's own scheme) or none
        # (a bare token), and the caller is told only that no credentials were provided.
        prefix = authorization_header.split(" ", 1)[0]
        if prefix and not cls.prefixes_match(prefix):
            raise exceptions.AuthenticationFailed(
                "The Authorization header must be 'JWT <token>' or 'Bearer <token>' "
                "(an LMS JWT); other schemes and bare tokens are not accepted."
            )
        return super().get_token_from_authorization_header(authorization_header)

    def authenticate_credentials(self, payload):
        try:
            return user_for_lms_claims(LmsClaims.from_payload(payload))
        except IdentityRefused as error:
            raise exceptions.AuthenticationFailed(str(error)) from None
        except DatabaseError as error:
            # A database that cannot be reached or read (down, refusing connections, its file
            # unusable) is an outage (503, retry), not a bad token. A value the database
            # refuses (DataError) or a conflicting row (IntegrityError) comes from the token.
            if is_database_outage(error):
                raise ServiceUnavailable() from error
            raise exceptions.AuthenticationFailed(
                "The JWT's claims cannot be stored for its account."
            ) from error


def requesting_learner_id(request) -> int:
    """
    The LMS user id a learner endpoint acts for: the ``user_id`` of the request's JWT, or,
    for a session (the browsable API), the account's bound id. ``PermissionDenied`` (403)
    when there is none: a service's token names no learner.
    """
    if isinstance(request.successful_authenticator, PieJwtAuthentication):
        # Verified moments ago in this request: decode_jwt answers from its request cache.
        lms_user_id = lms_user_id_claim(decode_jwt(request.auth))
        if lms_user_id is None:
            raise exceptions.PermissionDenied(
                "This token names no learner (it has no user_id claim): learner endpoints "
                "need a learner's token. Services use /api/v1/learners/{lms_user_id}/."
            )
        return lms_user_id
    if request.user.lms_user_id is None:
        # Staff who logged in to the admin have no LMS identity, hence no intents.
        raise exceptions.PermissionDenied(
            "This account has no LMS user id; authenticate with a learner's JWT."
        )
    return request.user.lms_user_id

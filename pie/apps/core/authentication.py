"""
JWT authentication for PIE: Open edX's ``JwtAuthentication`` on top of a decoder that always
verifies the signature.

edx-drf-extensions' own decoder (10.6 through 10.9.0) first tries the asymmetric key set and
treats an *empty* set as a successful verification, so with ``JWT_PUBLIC_SIGNING_JWK_SET``
unset it accepts any HS256 signature. PIE therefore installs ``decode_jwt`` below as
``JWT_DECODE_HANDLER`` and a system check (pie.apps.core.checks) refuses any other handler.
See docs/decisions/0003-jwt-verification.rst.
"""

import contextvars
import functools
import json

import jwt
from django.conf import settings
from django.core.signals import request_finished, request_started
from edx_rest_framework_extensions.auth.jwt.authentication import JwtAuthentication
from jwt.api_jwk import PyJWKSet
from rest_framework import exceptions

from pie.apps.core.api.exceptions import ServiceUnavailable, is_database_outage

SYMMETRIC_ALGORITHMS = frozenset({"HS256"})
ASYMMETRIC_ALGORITHMS = frozenset({"RS256", "RS512"})
ACCEPTED_HEADER_PREFIXES = frozenset({"jwt", "bearer"})
REQUIRED_CLAIMS = ["exp", "iat", "iss", "aud"]
# LMS access tokens are about 1 KB; anything far larger is refused before it is parsed.
MAX_TOKEN_LENGTH = 8 * 1024


def jwt_issuers() -> list[dict]:
    """The configured issuers, each a dict with ISSUER, AUDIENCE and SECRET_KEY."""
    return settings.JWT_AUTH.get("JWT_ISSUERS") or []


@functools.lru_cache(maxsize=8)
def _public_signing_keys(jwk_set_json: str) -> tuple:
    """Parse the LMS's public JWK set once per distinct value; keep the RSA keys only."""
    try:
        key_set = PyJWKSet.from_json(jwk_set_json)
    except (jwt.PyJWTError, ValueError, TypeError, KeyError) as error:
        raise jwt.InvalidKeyError(
            f"JWT_PUBLIC_SIGNING_JWK_SET is not a valid JWK set: {error}"
        ) from None
    return tuple(key.key for key in key_set.keys if key.key_type == "RSA")


def public_signing_keys() -> tuple:
    jwk_set = settings.JWT_AUTH.get("JWT_PUBLIC_SIGNING_JWK_SET")
    if not jwk_set:
        return ()
    if not isinstance(jwk_set, str):
        jwk_set = json.dumps(jwk_set)
    return _public_signing_keys(jwk_set)


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


# Tokens verified during the current request. edx-drf-extensions decodes the request's token
# a second time, in the NotJwtRestrictedApplication permission that its
# EnsureJWTAuthSettingsMiddleware adds to every JWT view; that decode reuses the first's result.
# The cache exists only between Django's request_started and request_finished signals, so a
# result never outlives its request (outside requests every call verifies the token).
_verified_in_request: contextvars.ContextVar[dict | None] = contextvars.ContextVar(
    "pie_verified_jwts", default=None
)


def _start_request_cache(**kwargs) -> None:
    _verified_in_request.set({})


def _end_request_cache(**kwargs) -> None:
    _verified_in_request.set(None)


request_started.connect(_start_request_cache, dispatch_uid="pie.jwt.request_started")
request_finished.connect(_end_request_cache, dispatch_uid="pie.jwt.request_finished")


def decode_jwt(token: str) -> dict:
    """
    Verify and decode a JWT; raise a ``jwt.InvalidTokenError`` subclass when it is not valid.

    The signature is checked with the key that the token's algorithm and issuer call for
    (the issuer's secret for HS256, the LMS's public keys for RS256/RS512), and with no key
    at all a token is refused. Expiry, issued-at, issuer and audience are always required
    and verified. The result carries the defaults edx-drf-extensions' decoder adds.
    """
    verified = _verified_in_request.get()
    if verified is None:
        return _verify_and_decode(token)
    if token not in verified:
        verified[token] = _verify_and_decode(token)
    return dict(verified[token])


def _verify_and_decode(token: str) -> dict:
    if len(token) > MAX_TOKEN_LENGTH:
        raise jwt.DecodeError(f"The token is longer than {MAX_TOKEN_LENGTH} characters.")
    try:
        algorithm = jwt.get_unverified_header(token).get("alg")
        unverified = jwt.decode(token, options={"verify_signature": False})
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


def lms_user_id_from_payload(payload: dict) -> int:
    lms_user_id = payload.get("user_id")
    # bool is an int subclass; a JSON true is not a user id.
    if not isinstance(lms_user_id, int) or isinstance(lms_user_id, bool) or lms_user_id <= 0:
        raise exceptions.AuthenticationFailed("The JWT must carry a positive integer user_id.")
    return lms_user_id


class PieJwtAuthentication(JwtAuthentication):
    """
    Open edX JWT authentication, accepting both ``JWT`` and ``Bearer`` header prefixes, that
    binds each PIE user to the LMS user id in the token's ``user_id`` claim.

    LMS user ids never change, so a token whose ``user_id`` differs from the one already
    bound to its username is refused rather than allowed to act as another learner.
    """

    @classmethod
    def prefixes_match(cls, prefix):
        return str(prefix).lower() in ACCEPTED_HEADER_PREFIXES

    def authenticate_credentials(self, payload):
        lms_user_id = lms_user_id_from_payload(payload)
        try:
            user = super().authenticate_credentials(payload)
        except exceptions.AuthenticationFailed as error:
            # edx-drf-extensions reports any failure to load the user as a 401; a database
            # that cannot be reached or read (down, refusing connections, its file unusable)
            # is an outage (503, retry), not a bad token. A value the database refuses
            # (DataError) or a conflicting row (IntegrityError) comes from the token: 401.
            if is_database_outage(error.__cause__):
                raise ServiceUnavailable() from error
            raise
        if user.lms_user_id is None:
            user.lms_user_id = lms_user_id
            user.save(update_fields=["lms_user_id"])
        elif user.lms_user_id != lms_user_id:
            raise exceptions.AuthenticationFailed(
                "The JWT's user_id does not match the LMS user id known for this username."
            )
        if not user.is_active:
            raise exceptions.AuthenticationFailed("This user account is disabled.")
        return user

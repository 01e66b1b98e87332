"""
The LMS's public JWT signing keys, parsed from ``JWT_PUBLIC_SIGNING_JWK_SET``. Free of Django
so that production settings can refuse an unusable key set before PIE starts.
"""

import json

import jwt
from jwt.api_jwk import PyJWKSet


def rsa_keys_from_jwk_set(jwk_set) -> tuple:
    """
    The RSA public keys of a JWK set (JSON text or the decoded mapping); the LMS signs with
    RS256/RS512. Raises ``jwt.InvalidKeyError`` with a one-line reason when the set cannot be
    used: not JSON, not a JWK set, or without any RSA key.
    """
    text = jwk_set if isinstance(jwk_set, str) else json.dumps(jwk_set)
    try:
        key_set = PyJWKSet.from_json(text)
    except (jwt.PyJWTError, ValueError, TypeError, KeyError, AttributeError) as error:
        reason = " ".join(str(error).split()) or type(error).__name__
        raise jwt.InvalidKeyError(
            f"JWT_PUBLIC_SIGNING_JWK_SET is not a valid JWK set: {reason}"
        ) from None
    keys = tuple(key.key for key in key_set.keys if key.key_type == "RSA")
    if not keys:
        raise jwt.InvalidKeyError("JWT_PUBLIC_SIGNING_JWK_SET holds no RSA public key.")
    return keys

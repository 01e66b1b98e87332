"""System checks that stop PIE from starting with an unsafe JWT configuration."""

import jwt
from django.conf import settings
from django.core.checks import Error, register

from pie.apps.core.authentication import jwt_issuers, public_signing_keys

PIE_DECODE_HANDLER = "pie.apps.core.authentication.decode_jwt"


@register("security")
def check_jwt_configuration(app_configs, **kwargs):
    errors = []
    handler = settings.JWT_AUTH.get("JWT_DECODE_HANDLER")
    if handler != PIE_DECODE_HANDLER:
        errors.append(
            Error(
                f"JWT_AUTH['JWT_DECODE_HANDLER'] must be {PIE_DECODE_HANDLER!r}.",
                hint="edx-drf-extensions' decoder accepts unsigned tokens when no JWK set is "
                "configured; see docs/decisions/0003-jwt-verification.rst.",
                id="pie.E001",
            )
        )
    issuers = jwt_issuers()
    if not issuers:
        errors.append(Error("JWT_AUTH['JWT_ISSUERS'] lists no issuer.", id="pie.E002"))
    for position, issuer in enumerate(issuers):
        for key in ("ISSUER", "AUDIENCE"):
            if not isinstance(issuer, dict) or not issuer.get(key):
                errors.append(
                    Error(f"JWT_AUTH['JWT_ISSUERS'][{position}] has no {key}.", id="pie.E003")
                )
    try:
        public_signing_keys()
    except jwt.PyJWTError as error:
        errors.append(Error(str(error), id="pie.E004"))
    return errors

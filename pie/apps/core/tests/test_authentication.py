"""JWT verification through the API: only a correctly signed, current token for PIE works."""

import base64
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core.checks import run_checks
from django.test import override_settings
from jwt.algorithms import RSAAlgorithm

from pie.apps.core.dev_tokens import dev_token_payload, sign_dev_token
from pie.apps.core.models import User

pytestmark = pytest.mark.django_db

URL = "/api/v1/program_intents/most_recent_and_certain/"


def get(client, token, prefix="JWT"):
    return client.get(URL, HTTP_AUTHORIZATION=f"{prefix} {token}")


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned_token(payload: dict, header: dict) -> str:
    return f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}."


@pytest.fixture(scope="module")
def rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def jwk_settings(rsa_key, settings):
    jwk = json.loads(RSAAlgorithm.to_jwk(rsa_key.public_key()))
    jwk.update({"kid": "pie-test", "use": "sig"})
    settings.JWT_AUTH = {
        **settings.JWT_AUTH,
        "JWT_PUBLIC_SIGNING_JWK_SET": json.dumps({"keys": [jwk]}),
    }
    return settings


def test_valid_token_authenticates_and_binds_the_lms_user_id(client):
    response = get(client, sign_dev_token(dev_token_payload(lms_user_id=77)))
    assert response.status_code == 200
    user = User.objects.get(username="learner77")
    assert user.lms_user_id == 77
    assert user.email == "learner77@example.com"
    assert not user.is_staff


def test_administrator_claim_makes_the_user_staff(client):
    get(client, sign_dev_token(dev_token_payload(lms_user_id=3, administrator=True)))
    assert User.objects.get(lms_user_id=3).is_staff


@pytest.mark.parametrize(
    "claims",
    [
        pytest.param({"exp": int(time.time()) - 60}, id="expired"),
        pytest.param({"nbf": int(time.time()) + 600}, id="not-yet-valid"),
        pytest.param({"iat": int(time.time()) + 600}, id="issued-in-the-future"),
        pytest.param({"iss": "http://evil.example/oauth2"}, id="wrong-issuer"),
        pytest.param({"aud": "another-service"}, id="wrong-audience"),
        pytest.param({"exp": "tomorrow"}, id="exp-not-a-number"),
        pytest.param({"version": "2.0.0"}, id="unsupported-version"),
        pytest.param({"version": "banana"}, id="garbage-version"),
        pytest.param({"user_id": 2**31}, id="user-id-out-of-range"),
        pytest.param({"user_id": 10**4000}, id="user-id-of-4001-digits"),
        pytest.param({"user_id": 4.5}, id="fractional-user-id"),
        pytest.param({"user_id": "77"}, id="string-user-id"),
        pytest.param({"user_id": True}, id="boolean-user-id"),
        pytest.param({"user_id": -1}, id="negative-user-id"),
        pytest.param({"preferred_username": None}, id="missing-username"),
        pytest.param({"x": "y" * 20_000}, id="huge-token"),
    ],
)
def test_token_with_bad_claims_is_401(client, claims):
    payload = dev_token_payload(lms_user_id=77, **claims)
    response = get(client, sign_dev_token(payload))
    assert response.status_code == 401, response.content
    assert response.json()["status"] == 401


@pytest.mark.parametrize("claim", ["exp", "iat", "iss", "aud"])
def test_token_missing_a_required_claim_is_401(client, claim):
    payload = dev_token_payload(lms_user_id=77)
    del payload[claim]
    assert get(client, sign_dev_token(payload)).status_code == 401


def test_forged_signature_is_401(client):
    forged = sign_dev_token(dev_token_payload(lms_user_id=77), secret="not-the-lms-secret")
    assert get(client, forged).status_code == 401
    assert not User.objects.exists()


def test_tampered_payload_is_401(client):
    header, _, signature = sign_dev_token(dev_token_payload(lms_user_id=77)).split(".")
    other = b64(json.dumps(dev_token_payload(lms_user_id=78)).encode())
    assert get(client, f"{header}.{other}.{signature}").status_code == 401


@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
def test_alg_none_is_401(client, alg):
    token = unsigned_token(dev_token_payload(lms_user_id=77), {"alg": alg, "typ": "JWT"})
    assert get(client, token).status_code == 401


@pytest.mark.parametrize("alg", ["HS384", "HS512"])
def test_other_hmac_algorithms_are_401_even_with_the_right_secret(client, alg):
    token = sign_dev_token(dev_token_payload(lms_user_id=77), algorithm=alg)
    assert get(client, token).status_code == 401


def test_symmetric_tokens_are_refused_when_the_issuer_has_no_secret(client, settings):
    # With no secret and no JWK set nothing can verify a token; edx-drf-extensions' own
    # decoder would accept it unverified.
    token = sign_dev_token(dev_token_payload(lms_user_id=77))
    issuers = [{**settings.JWT_AUTH["JWT_ISSUERS"][0], "SECRET_KEY": ""}]
    settings.JWT_AUTH = {**settings.JWT_AUTH, "JWT_ISSUERS": issuers}
    assert get(client, token).status_code == 401


def test_rs256_token_signed_by_the_lms_key_is_accepted(client, rsa_key, jwk_settings):
    token = jwt.encode(dev_token_payload(lms_user_id=77), rsa_key, algorithm="RS256")
    assert get(client, token).status_code == 200


def test_rs256_token_signed_by_another_key_is_401(client, jwk_settings):
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = jwt.encode(dev_token_payload(lms_user_id=77), other_key, algorithm="RS256")
    assert get(client, token).status_code == 401


def test_rs256_token_without_a_jwk_set_is_401(client, rsa_key):
    token = jwt.encode(dev_token_payload(lms_user_id=77), rsa_key, algorithm="RS256")
    assert get(client, token).status_code == 401


def test_hs256_token_signed_with_the_public_key_is_401(client, rsa_key, jwk_settings):
    """HS/RS confusion: the public key used as an HMAC secret must not verify."""
    public_pem = rsa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64(json.dumps(dev_token_payload(lms_user_id=77)).encode())
    import hashlib
    import hmac

    signature = hmac.new(public_pem, f"{header}.{body}".encode(), hashlib.sha256).digest()
    assert get(client, f"{header}.{body}.{b64(signature)}").status_code == 401


def test_token_for_a_second_configured_issuer_uses_that_issuers_secret(client, settings):
    second = {"ISSUER": "http://second/oauth2", "AUDIENCE": "second-aud", "SECRET_KEY": "second"}
    settings.JWT_AUTH = {
        **settings.JWT_AUTH,
        "JWT_ISSUERS": [*settings.JWT_AUTH["JWT_ISSUERS"], second],
    }
    claims = {"iss": second["ISSUER"], "aud": second["AUDIENCE"]}
    good = sign_dev_token(dev_token_payload(lms_user_id=5, **claims), secret="second")
    first_secret = sign_dev_token(dev_token_payload(lms_user_id=5, **claims))
    assert get(client, good).status_code == 200
    assert get(client, first_secret).status_code == 401


def test_token_whose_user_id_changed_for_a_known_username_is_401(client):
    assert get(client, sign_dev_token(dev_token_payload(lms_user_id=77))).status_code == 200
    impostor = dev_token_payload(lms_user_id=78, preferred_username="learner77")
    assert get(client, sign_dev_token(impostor)).status_code == 401
    assert User.objects.get(username="learner77").lms_user_id == 77


def test_inactive_user_is_401(client):
    get(client, sign_dev_token(dev_token_payload(lms_user_id=77)))
    User.objects.filter(lms_user_id=77).update(is_active=False)
    assert get(client, sign_dev_token(dev_token_payload(lms_user_id=77))).status_code == 401


@pytest.mark.parametrize(
    "header",
    ["Basic abc", "JWT", "JWT a b", "Token x.y.z", "JWT \u00e9\u00e9"],
)
def test_malformed_authorization_header_is_401_not_500(client, header):
    response = client.get(URL, HTTP_AUTHORIZATION=header)
    assert response.status_code == 401


def test_jwt_cookie_pair_authenticates_like_the_lms_sets_it(client):
    header, payload, signature = sign_dev_token(dev_token_payload(lms_user_id=77)).split(".")
    client.cookies["edx-jwt-cookie-header-payload"] = f"{header}.{payload}"
    client.cookies["edx-jwt-cookie-signature"] = signature
    assert client.get(URL).status_code == 200


def test_jwt_cookie_pair_with_a_forged_signature_is_401(client):
    header, payload, _ = sign_dev_token(dev_token_payload(lms_user_id=77), secret="x").split(".")
    real_signature = sign_dev_token(dev_token_payload(lms_user_id=77)).split(".")[2]
    client.cookies["edx-jwt-cookie-header-payload"] = f"{header}.{payload}"
    client.cookies["edx-jwt-cookie-signature"] = real_signature + "x"
    assert client.get(URL).status_code == 401


@override_settings(JWT_AUTH={"JWT_DECODE_HANDLER": "x.y", "JWT_ISSUERS": []})
def test_system_check_refuses_another_decode_handler_and_no_issuer():
    ids = {message.id for message in run_checks(tags=["security"])}
    assert {"pie.E001", "pie.E002"} <= ids


def test_system_check_refuses_an_unparseable_jwk_set(settings):
    settings.JWT_AUTH = {**settings.JWT_AUTH, "JWT_PUBLIC_SIGNING_JWK_SET": "{not json"}
    assert "pie.E004" in {message.id for message in run_checks(tags=["security"])}


def test_token_without_a_user_id_claim_is_403_on_learner_endpoints(client):
    payload = dev_token_payload(lms_user_id=77)
    del payload["user_id"]
    response = get(client, sign_dev_token(payload))
    assert response.status_code == 403
    assert "names no learner" in response.json()["detail"]


def test_rs256_header_with_an_hmac_signature_from_the_issuer_secret_is_401(
    client, settings, jwk_settings
):
    """HS/RS confusion the other way: the header says RS256, the signature is HMAC."""
    import hashlib
    import hmac

    header = b64(json.dumps({"alg": "RS256", "typ": "JWT"}).encode())
    body = b64(json.dumps(dev_token_payload(lms_user_id=77)).encode())
    secret = settings.JWT_AUTH["JWT_ISSUERS"][0]["SECRET_KEY"].encode()
    signature = hmac.new(secret, f"{header}.{body}".encode(), hashlib.sha256).digest()
    assert get(client, f"{header}.{body}.{b64(signature)}").status_code == 401


@pytest.fixture
def verifications():
    """Counts the tokens PIE verifies, from an empty cache of verified tokens."""
    from unittest import mock

    from pie.apps.core import authentication

    authentication._verified.cache_clear()
    with mock.patch.object(
        authentication, "_verify_and_decode", wraps=authentication._verify_and_decode
    ) as verify:
        yield verify
    authentication._verified.cache_clear()


def test_a_token_is_verified_once_while_it_is_reused(client, verifications):
    """edx-drf-extensions decodes the token twice per request; an MFE sends it every call."""
    token = sign_dev_token(dev_token_payload(lms_user_id=77))
    for _ in range(3):
        assert get(client, token).status_code == 200
    assert verifications.call_count == 1


def test_a_verified_token_is_refused_once_the_keys_change(client, settings, verifications):
    token = sign_dev_token(dev_token_payload(lms_user_id=77))
    assert get(client, token).status_code == 200
    # The LMS rotates its secret: the same token is refused on the very next request.
    issuer = {**settings.JWT_AUTH["JWT_ISSUERS"][0], "SECRET_KEY": "a-rotated-secret"}
    settings.JWT_AUTH = {**settings.JWT_AUTH, "JWT_ISSUERS": [issuer]}
    assert get(client, token).status_code == 401
    assert verifications.call_count == 2


def test_a_verified_token_is_refused_once_it_expires(client, settings, verifications):
    from unittest import mock

    token = sign_dev_token(dev_token_payload(lms_user_id=77, lifetime_seconds=60))
    assert get(client, token).status_code == 200
    # Refused from its expiry on, less the leeway (as PyJWT refuses it).
    leeway = settings.JWT_AUTH["JWT_LEEWAY"]
    expiry = jwt.decode(token, options={"verify_signature": False})["exp"]
    with mock.patch("pie.apps.core.authentication.time.time", return_value=expiry + leeway - 0.5):
        assert get(client, token).status_code == 200
    with mock.patch("pie.apps.core.authentication.time.time", return_value=expiry + leeway):
        response = get(client, token)
    assert response.status_code == 401
    assert "expired" in response.json()["detail"].lower()
    settings.JWT_AUTH = {**settings.JWT_AUTH, "JWT_LEEWAY": 30}
    with mock.patch("pie.apps.core.authentication.time.time", return_value=expiry + 29):
        assert get(client, token).status_code == 200
    assert verifications.call_count == 2  # the leeway is a setting: verified again


def test_a_refused_token_is_verified_again_at_every_use(client, verifications):
    payload = dev_token_payload(lms_user_id=77)
    forged = sign_dev_token(payload, secret="not-the-issuers-secret")
    assert get(client, forged).status_code == 401
    assert get(client, forged).status_code == 401
    assert verifications.call_count == 2

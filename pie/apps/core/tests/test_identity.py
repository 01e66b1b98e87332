"""
Who is calling, through the real HTTP stack: the LMS's service tokens, local accounts that no
token may take over, and the learner a request acts for.
"""

import pytest
from django.core.management import call_command
from django.test import Client

from pie.apps.core.dev_tokens import dev_service_token_payload, dev_token_payload, sign_dev_token
from pie.apps.core.models import User
from pie.apps.intents.models import ProgramIntent
from pie.apps.intents.tests.factories import ProgramIntentFactory

pytestmark = pytest.mark.django_db

LEARNER = 4242
PROGRAM = "3a0fd5a0-f5c0-4b1f-a3b8-f0f4c6a7e9d1"
RETIRE = "/api/v1/retire_user/"
LEARNER_URLS = [
    "/api/v1/program_intents/",
    "/api/v1/program_intents/most_recent_and_certain/",
]
INTENT = {
    "program_uuid": PROGRAM,
    "reason": "BUNDLE_PURCHASE",
    "certainty": "CERTAIN_YES",
    "effective_timestamp": "2024-05-01T12:00:00Z",
}


def lms_client_credentials_token(username: str, **claims) -> str:
    """Exactly the claims the LMS puts in a client-credentials JWT without the user_id scope."""
    payload = dev_service_token_payload(username=username, **claims)
    assert "user_id" not in payload
    assert set(payload) == {
        "iss", "aud", "exp", "iat", "preferred_username", "scopes", "version", "sub",
        "filters", "is_restricted", "grant_type", "email", "name", "family_name",
        "given_name", "administrator", "superuser",
    }  # fmt: skip
    return sign_dev_token(payload)


def auth(token: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"JWT {token}"}


@pytest.fixture
def opsadmin(monkeypatch):
    """A superuser created by the operator with createsuperuser: a local account."""
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a-long-operator-password-1")
    call_command(
        "createsuperuser",
        "--noinput",
        "--username=opsadmin",
        "--email=ops@example.org",
        verbosity=0,
    )
    return User.objects.get(username="opsadmin")


class TestServiceTokens:
    def test_retirement_driver_token_without_user_id_retires_a_learner(self, client):
        ProgramIntentFactory.create_batch(2, lms_user_id=LEARNER)
        token = lms_client_credentials_token("retirement_service_worker")
        response = client.post(
            RETIRE, {"edx_lms_user_id": LEARNER}, content_type="application/json", **auth(token)
        )
        assert response.status_code == 204, response.content
        assert not ProgramIntent.objects.filter(lms_user_id=LEARNER).exists()
        worker = User.objects.get(username="retirement_service_worker")
        assert (worker.lms_user_id, worker.is_lms_account) == (None, True)

    def test_service_worker_token_without_user_id_uses_the_service_api(self, client, settings):
        settings.PIE_SERVICE_WORKER_USERNAMES = ["credentials_worker"]
        token = lms_client_credentials_token("credentials_worker")
        url = f"/api/v1/learners/{LEARNER}/program_intents/"
        response = client.post(url, INTENT, content_type="application/json", **auth(token))
        assert response.status_code == 201, response.content
        assert client.get(url, **auth(token)).json()["count"] == 1

    @pytest.mark.parametrize("url", LEARNER_URLS)
    def test_service_token_on_learner_endpoints_is_403_saying_it_names_no_learner(
        self, client, url
    ):
        token = lms_client_credentials_token("credentials_worker")
        for response in (
            client.get(url, **auth(token)),
            client.post(url, INTENT, content_type="application/json", **auth(token)),
        ):
            if response.status_code == 405:
                continue
            assert response.status_code == 403
            assert response["Content-Type"] == "application/json"
            assert "names no learner" in response.json()["detail"]
        assert not ProgramIntent.objects.exists()

    def test_a_staff_service_token_reads_any_learner_but_is_no_learner_itself(self, client):
        ProgramIntentFactory(lms_user_id=LEARNER)
        token = lms_client_credentials_token("analytics_worker", administrator=True)
        history = client.get(f"/api/v1/learners/{LEARNER}/program_intents/", **auth(token))
        assert history.status_code == 200
        assert history.json()["count"] == 1
        assert client.get(LEARNER_URLS[1], **auth(token)).status_code == 403

    def test_a_service_tokens_superuser_claim_grants_nothing(self, client):
        ProgramIntentFactory(lms_user_id=LEARNER)
        token = lms_client_credentials_token("some_worker", superuser=True)
        response = client.post(
            RETIRE, {"edx_lms_user_id": LEARNER}, content_type="application/json", **auth(token)
        )
        assert response.status_code == 403
        assert not User.objects.get(username="some_worker").is_superuser

    def test_a_learner_token_once_bound_keeps_its_id_when_a_service_token_names_it(self, client):
        learner_token = sign_dev_token(dev_token_payload(lms_user_id=LEARNER))
        assert client.get(LEARNER_URLS[1], **auth(learner_token)).status_code == 200
        service_token = lms_client_credentials_token(f"learner{LEARNER}")
        assert client.get(LEARNER_URLS[1], **auth(service_token)).status_code == 403
        assert User.objects.get(username=f"learner{LEARNER}").lms_user_id == LEARNER


class TestLocalAccounts:
    @pytest.mark.parametrize("with_user_id", [True, False])
    def test_a_token_naming_a_local_superuser_is_401_and_changes_nothing(
        self, client, opsadmin, with_user_id
    ):
        claims = {"preferred_username": "opsadmin", "email": "attacker@example.com"}
        if with_user_id:
            token = sign_dev_token(dev_token_payload(lms_user_id=LEARNER, **claims))
        else:
            token = lms_client_credentials_token("opsadmin", email="attacker@example.com")
        retire = {"edx_lms_user_id": 1}
        for response in (
            client.get(LEARNER_URLS[1], **auth(token)),
            client.get(f"/api/v1/learners/{LEARNER}/program_intents/", **auth(token)),
            client.post(RETIRE, retire, content_type="application/json", **auth(token)),
        ):
            assert response.status_code == 401
            assert "local account" in response.json()["detail"]
        opsadmin.refresh_from_db()
        assert (opsadmin.email, opsadmin.is_staff, opsadmin.is_superuser) == (
            "ops@example.org",
            True,
            True,
        )
        assert opsadmin.lms_user_id is None
        assert not opsadmin.is_lms_account

    def test_the_operator_keeps_the_admin_after_such_a_token(self, client, opsadmin):
        token = sign_dev_token(
            dev_token_payload(lms_user_id=LEARNER, preferred_username="opsadmin")
        )
        client.get(LEARNER_URLS[1], **auth(token))
        browser = Client()
        assert browser.login(username="opsadmin", password="a-long-operator-password-1")
        assert browser.get("/admin/").status_code == 200

    def test_a_local_superuser_session_may_not_retire(self, opsadmin):
        ProgramIntentFactory(lms_user_id=LEARNER)
        browser = Client()
        browser.force_login(opsadmin)
        response = browser.post(
            RETIRE, {"edx_lms_user_id": LEARNER}, content_type="application/json"
        )
        assert response.status_code == 403
        assert ProgramIntent.objects.filter(lms_user_id=LEARNER).exists()

    def test_a_local_account_named_like_the_retirement_worker_cannot_use_a_token(self, client):
        User.objects.create_user("retirement_service_worker", password="local-only-password-9")
        ProgramIntentFactory(lms_user_id=LEARNER)
        token = lms_client_credentials_token("retirement_service_worker")
        response = client.post(
            RETIRE, {"edx_lms_user_id": LEARNER}, content_type="application/json", **auth(token)
        )
        assert response.status_code == 401
        assert ProgramIntent.objects.filter(lms_user_id=LEARNER).exists()

    def test_accounts_created_by_tokens_are_marked_and_updated_from_later_tokens(self, client):
        first = dev_token_payload(lms_user_id=LEARNER, email="old@example.com")
        client.get(LEARNER_URLS[1], **auth(sign_dev_token(first)))
        later = dev_token_payload(lms_user_id=LEARNER, email="new@example.com", administrator=True)
        client.get(LEARNER_URLS[1], **auth(sign_dev_token(later)))
        user = User.objects.get(username=f"learner{LEARNER}")
        assert (user.is_lms_account, user.email, user.is_staff, user.is_superuser) == (
            True,
            "new@example.com",
            True,
            False,
        )

    def test_the_admin_cannot_bind_an_account_to_a_learner(self, admin_client, opsadmin):
        page = admin_client.get(f"/admin/core/user/{opsadmin.pk}/change/").content.decode()
        assert 'name="lms_user_id"' not in page


@pytest.mark.parametrize(
    ("claims", "detail"),
    [
        ({"preferred_username": "x" * 151}, "longer than 150"),
        ({"email": ["not", "a", "string"]}, "email"),
    ],
)
def test_claims_that_cannot_be_an_account_are_401_not_500(client, claims, detail):
    token = sign_dev_token(dev_token_payload(lms_user_id=LEARNER, **claims))
    response = client.get(LEARNER_URLS[1], **auth(token))
    assert response.status_code == 401
    assert detail in response.json()["detail"]


def test_failed_authentication_logs_no_edx_user_retrieval_line(client, caplog, opsadmin):
    token = sign_dev_token(dev_token_payload(lms_user_id=LEARNER, preferred_username="opsadmin"))
    with caplog.at_level("DEBUG"):
        assert client.get(LEARNER_URLS[1], **auth(token)).status_code == 401
        too_long = dev_token_payload(lms_user_id=LEARNER, preferred_username="y" * 400)
        assert client.get(LEARNER_URLS[1], **auth(sign_dev_token(too_long))).status_code == 401
    assert "User retrieval failed" not in caplog.text
    assert "opsadmin" not in caplog.text
    assert "Traceback" not in caplog.text


def test_the_account_a_token_loads_reads_like_the_orms():
    """The account is made from one plain row (identity._user_named); nothing reads different."""
    from pie.apps.core.identity import LmsClaims, user_for_lms_claims

    stored = User.objects.create(
        username="ada", email="ada@example.com", lms_user_id=LEARNER, is_lms_account=True,
        first_name="Ada", is_staff=True,
    )  # fmt: skip
    claims = LmsClaims(username="ada", lms_user_id=LEARNER, email=None, is_staff=None)
    loaded = user_for_lms_claims(claims)
    assert loaded == stored
    for name in ("is_staff", "is_superuser", "is_active", "is_lms_account"):
        assert getattr(loaded, name) is getattr(stored, name), name
    assert (loaded.lms_user_id, loaded.email) == (LEARNER, "ada@example.com")
    # Columns a request does not need load when read.
    assert loaded.first_name == "Ada"
    assert loaded.date_joined == stored.date_joined
    assert loaded.has_usable_password() is stored.has_usable_password()

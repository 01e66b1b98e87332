"""
Staff sign in with their LMS account: the whole round trip (PIE's /login/, the LMS's
authorize, PIE's /complete/edx-oauth2/ and its token exchange with the LMS) against a stand-in
for the LMS's OAuth2 provider served over real HTTP, driven like a browser: PIE's pages
through Django's test client, the LMS's with requests.
"""

from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from django.core.management import call_command
from django.test import Client
from social_django.models import UserSocialAuth

from pie.apps.core.dev_tokens import create_dev_token
from pie.apps.core.models import RetiredLearner, User
from pie.apps.core.tests.lms_stand_in import LmsStandIn
from pie.apps.intents.tests.factories import ProgramIntentFactory

pytestmark = pytest.mark.django_db

CLIENT_ID = "pie-sso-test-key"
CLIENT_SECRET = "pie-sso-test-secret-0123456789"
REDIRECT_URI = "http://testserver/complete/edx-oauth2/"
REDIRECTS = (301, 302, 303, 307, 308)


@pytest.fixture
def lms(settings):
    """The LMS's OAuth2 provider, with PIE's application registered, and PIE pointed at it."""
    stand_in = LmsStandIn(CLIENT_ID, CLIENT_SECRET, REDIRECT_URI).start()
    settings.SOCIAL_AUTH_EDX_OAUTH2_KEY = CLIENT_ID
    settings.SOCIAL_AUTH_EDX_OAUTH2_SECRET = CLIENT_SECRET
    settings.SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT = stand_in.url_root
    settings.SOCIAL_AUTH_EDX_OAUTH2_PUBLIC_URL_ROOT = stand_in.url_root
    settings.SOCIAL_AUTH_EDX_OAUTH2_LOGOUT_URL = f"{stand_in.url_root}/logout"
    yield stand_in
    stand_in.stop()


@pytest.fixture
def browser():
    return Client()


def visit(browser: Client, url: str, lms: LmsStandIn | None = None):
    """
    GET ``url`` and follow redirects as a browser does: PIE's through the test client (which
    keeps PIE's session cookie), the LMS's over HTTP. Returns the last response and the URLs
    visited on the way.
    """
    visited = [url]
    parts = urlsplit(url)
    response = browser.get(parts.path, dict(parse_qsl(parts.query)))
    for _ in range(10):
        if response.status_code not in REDIRECTS:
            return response, visited
        location = response["Location"]
        visited.append(location)
        parts = urlsplit(location)
        if parts.netloc and parts.netloc != "testserver":
            answer = requests.get(location, allow_redirects=False, timeout=10)
            if answer.status_code not in REDIRECTS:
                return answer, visited
            location = answer.headers["Location"]
            visited.append(location)
            parts = urlsplit(location)
        response = browser.get(parts.path, dict(parse_qsl(parts.query)))
    raise AssertionError(f"Too many redirects: {visited}")


def sign_in(browser, lms):
    return visit(browser, "/login/?next=/admin/", lms)


def page_text(response) -> str:
    return response.content.decode()


class TestStaffOfTheLms:
    def test_staff_member_signs_in_through_the_lms_and_reaches_the_admin(self, browser, lms):
        lms.sign_in_as("staffer", lms_user_id=77, administrator=True)

        response, visited = sign_in(browser, lms)

        assert response.status_code == 200
        assert response.wsgi_request.path == "/admin/"
        assert "Site administration" in page_text(response)
        # The LMS's staff see the intents (view rights from LmsStaffPermissionBackend).
        assert "/admin/intents/programintent/" in page_text(response)
        authorize = urlsplit(visited[2])
        assert (authorize.netloc, authorize.path) == (urlsplit(lms.url_root).netloc,
                                                      "/oauth2/authorize")  # fmt: skip
        assert visited[-1] == "/admin/"
        # PIE asked for a JWT with the scopes EdXOAuth2 needs, and sent its secret only
        # on the back channel.
        asked = lms.requests[0]["query"]
        assert asked["client_id"] == CLIENT_ID
        assert asked["redirect_uri"].startswith(f"{REDIRECT_URI}?redirect_state=")
        assert set(asked["scope"].split()) == {"user_id", "profile", "email"}
        assert "client_secret" not in asked
        exchange = lms.requests[1]
        assert (exchange["method"], exchange["path"]) == ("POST", "/oauth2/access_token")
        assert exchange["form"]["token_type"] == "jwt"
        assert exchange["form"]["client_secret"] == CLIENT_SECRET
        user = User.objects.get(username="staffer")
        assert (user.is_lms_account, user.lms_user_id, user.email, user.is_staff) == (
            True,
            77,
            "staffer@lms.example.com",
            True,
        )
        # The LMS's superuser claim is never copied (ADR 0006): users stay local superusers'.
        assert not user.is_superuser
        assert UserSocialAuth.objects.get(user=user).uid == "staffer"

    def test_lms_staff_see_intents_read_only_and_cannot_manage_users(self, browser, lms):
        intent = ProgramIntentFactory()
        lms.sign_in_as("staffer", lms_user_id=77, administrator=True)
        sign_in(browser, lms)

        assert browser.get("/admin/intents/programintent/").status_code == 200
        assert browser.get(f"/admin/intents/programintent/{intent.pk}/change/").status_code == 200
        assert browser.get("/admin/intents/intentreason/add/").status_code == 200
        assert browser.get("/admin/core/user/").status_code == 403
        assert browser.get(f"/admin/intents/programintent/{intent.pk}/delete/").status_code == 403

    def test_a_signed_in_staff_member_has_no_more_rights_than_the_lms_grants(self, browser, lms):
        """The LMS's superuser claim does not reach PIE: no user management, no superuser."""
        lms.sign_in_as("boss", lms_user_id=78, administrator=True)
        sign_in(browser, lms)

        assert browser.get("/admin/auth/group/").status_code == 403
        assert not User.objects.get(username="boss").is_superuser


class TestNotStaff:
    def test_learner_signing_in_gets_a_403_page_and_no_session(self, browser, lms):
        lms.sign_in_as("learner5", lms_user_id=5, administrator=False)

        response, _ = sign_in(browser, lms)

        assert response.status_code == 403
        assert "Your LMS account is not staff" in page_text(response)
        assert "Sign in with a local account" in page_text(response)
        after, _ = visit(browser, "/admin/")
        assert after.wsgi_request.path == "/admin/login/"
        assert "_auth_user_id" not in browser.session

    def test_staff_flag_follows_the_lms_at_each_sign_in(self, browser, lms):
        lms.sign_in_as("rotating", lms_user_id=90, administrator=True)
        assert sign_in(browser, lms)[0].wsgi_request.path == "/admin/"

        # The LMS takes staff away: the next sign-in clears it here and is refused.
        lms.sign_in_as("rotating", lms_user_id=90, administrator=False)
        refused, _ = sign_in(browser, lms)
        assert refused.status_code == 403
        assert not User.objects.get(username="rotating").is_staff
        assert visit(browser, "/admin/")[0].wsgi_request.path == "/admin/login/"

        # And gives it back.
        lms.sign_in_as("rotating", lms_user_id=90, administrator=True)
        assert sign_in(browser, lms)[0].wsgi_request.path == "/admin/"
        assert User.objects.filter(username="rotating").count() == 1


class TestIdentity:
    def test_an_account_made_by_sign_in_is_the_one_its_jwt_uses(self, browser, lms):
        lms.sign_in_as("staffer", lms_user_id=77, administrator=True)
        sign_in(browser, lms)

        api = Client()
        token = create_dev_token(lms_user_id=77, preferred_username="staffer", administrator=True)
        response = api.get("/api/v1/program_intents/", HTTP_AUTHORIZATION=f"JWT {token}")

        assert response.status_code == 200
        assert User.objects.filter(username="staffer").count() == 1

    def test_an_account_made_by_a_jwt_can_later_sign_in(self, browser, lms):
        token = create_dev_token(lms_user_id=77, preferred_username="staffer", administrator=True)
        Client().get("/api/v1/program_intents/", HTTP_AUTHORIZATION=f"JWT {token}")
        made_by_jwt = User.objects.get(username="staffer")

        lms.sign_in_as("staffer", lms_user_id=77, administrator=True)
        response, _ = sign_in(browser, lms)

        assert response.wsgi_request.path == "/admin/"
        assert response.wsgi_request.user.pk == made_by_jwt.pk
        assert User.objects.filter(username="staffer").count() == 1

    def test_a_local_account_is_never_taken_over_by_an_lms_account_of_that_name(
        self, browser, lms, monkeypatch
    ):
        monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a-long-operator-password-1")
        call_command(
            "createsuperuser", "--noinput", "--username=opsadmin", "--email=ops@pie.example.org",
            verbosity=0,
        )  # fmt: skip
        before = User.objects.values().get(username="opsadmin")
        lms.sign_in_as("opsadmin", lms_user_id=66, administrator=False)

        response, _ = sign_in(browser, lms)

        assert response.status_code == 403
        assert "local account of PIE" in page_text(response)
        assert "_auth_user_id" not in browser.session
        # Untouched: no LMS id, email, flags or link, and its password still signs in.
        assert User.objects.values().get(username="opsadmin") == before
        assert not UserSocialAuth.objects.exists()
        assert browser.login(username="opsadmin", password="a-long-operator-password-1")

    def test_a_retired_learner_gets_no_account_back(self, browser, lms):
        RetiredLearner.objects.create(lms_user_id=88)
        lms.sign_in_as("comeback", lms_user_id=88, administrator=True)

        response, _ = sign_in(browser, lms)

        assert response.status_code == 403
        assert "retired" in page_text(response)
        assert not User.objects.filter(username="comeback").exists()

    def test_a_different_lms_user_id_for_a_known_username_is_refused(self, browser, lms):
        lms.sign_in_as("staffer", lms_user_id=77, administrator=True)
        sign_in(browser, lms)
        lms.sign_in_as("staffer", lms_user_id=78, administrator=True)

        response, _ = sign_in(Client(), lms)

        assert response.status_code == 403
        assert User.objects.get(username="staffer").lms_user_id == 77


class TestLogout:
    def test_logout_ends_pies_session_then_the_lms_one(self, browser, lms):
        lms.sign_in_as("staffer", lms_user_id=77, administrator=True)
        sign_in(browser, lms)

        response = browser.get("/logout/")

        assert response.status_code == 302
        assert response["Location"] == f"{lms.url_root}/logout"
        assert requests.get(response["Location"], timeout=10).status_code == 200
        assert visit(browser, "/admin/")[0].wsgi_request.path == "/admin/login/"

    def test_logout_without_sign_in_configured_returns_to_the_admin_login(self, browser):
        response = browser.get("/logout/")

        assert (response.status_code, response["Location"]) == (302, "/admin/login/")


class TestSignInThatDoesNotComplete:
    def test_denied_on_the_lms_is_a_400_page(self, browser, lms):
        lms.denies = True

        response, _ = sign_in(browser, lms)

        assert response.status_code == 400
        assert "Sign-in with the LMS did not complete" in page_text(response)

    def test_a_callback_without_its_session_state_is_a_400_page(self, browser, lms):
        response = browser.get("/complete/edx-oauth2/", {"code": "stolen", "state": "forged"})

        assert response.status_code == 400
        assert "Session value state missing" in page_text(response)
        assert len(lms.requests) == 0  # no code was sent to the LMS

    def test_a_replayed_code_is_refused_by_the_lms_and_is_a_4xx_page(self, browser, lms):
        lms.sign_in_as("staffer", lms_user_id=77, administrator=True)
        browser.get("/login/")
        begin = browser.get("/login/edx-oauth2/")
        callback = requests.get(begin["Location"], allow_redirects=False, timeout=10)
        parts = urlsplit(callback.headers["Location"])
        first = browser.get(parts.path, dict(parse_qsl(parts.query)))
        assert first.status_code == 302

        again = Client().get(parts.path, dict(parse_qsl(parts.query)))

        assert 400 <= again.status_code < 500

    def test_an_lms_that_does_not_answer_the_token_exchange_is_a_502_page(
        self, browser, lms, settings
    ):
        # Browsers reach the LMS; PIE's server does not (e.g. a wrong internal URL).
        settings.SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT = "http://127.0.0.1:9"
        lms.sign_in_as("staffer", lms_user_id=77, administrator=True)

        response, _ = sign_in(browser, lms)

        assert response.status_code == 502
        assert "The LMS did not answer" in page_text(response)


class TestTheAdminLoginPage:
    def test_offers_sign_in_with_the_lms_above_the_password_form(self, browser, lms):
        response = browser.get("/admin/login/", {"next": "/admin/intents/programintent/"})

        text = page_text(response)
        assert 'href="/login/?next=/admin/intents/programintent/"' in text
        assert "Sign in with your LMS account" in text
        assert text.index("Sign in with your LMS account") < text.index('name="password"')

    def test_without_sign_in_configured_offers_only_the_password_form(self, browser):
        response = browser.get("/admin/login/")

        assert "Sign in with your LMS account" not in page_text(response)
        assert 'name="password"' in page_text(response)

    def test_login_without_sign_in_configured_says_so(self, browser):
        response = browser.get("/login/")

        assert response.status_code == 404
        assert "Sign-in with the LMS is not configured" in page_text(response)
        assert "SOCIAL_AUTH_EDX_OAUTH2_KEY" in page_text(response)

    def test_the_next_page_survives_the_round_trip(self, browser, lms):
        lms.sign_in_as("staffer", lms_user_id=77, administrator=True)

        response, _ = visit(browser, "/login/?next=/admin/intents/programintent/", lms)

        assert response.wsgi_request.path == "/admin/intents/programintent/"

    def test_next_never_leaves_pie(self, browser, lms):
        lms.sign_in_as("staffer", lms_user_id=77, administrator=True)

        response, visited = visit(browser, "/login/?next=https://evil.example.com/", lms)

        assert response.wsgi_request.path == "/admin/"
        assert "evil.example.com" not in {urlsplit(url).netloc for url in visited}


class TestLmsStaffPermissionBackend:
    """What the backend grants, and to whom: the LMS's active staff only."""

    @pytest.mark.parametrize(
        ("is_lms_account", "is_staff", "is_active", "granted"),
        [
            (True, True, True, True),
            (True, False, True, False),  # a learner of the LMS
            (True, True, False, False),  # disabled here
            (False, True, True, False),  # local staff: rights from groups, as Django does
        ],
    )
    def test_only_active_lms_staff_get_the_lms_staff_rights(
        self, is_lms_account, is_staff, is_active, granted
    ):
        user = User.objects.create(
            username="someone",
            is_lms_account=is_lms_account,
            is_staff=is_staff,
            is_active=is_active,
        )

        rights = [
            user.has_perm("intents.view_programintent"),
            user.has_perm("intents.add_intentreason"),
            user.has_perm("core.view_retiredlearner"),
            user.has_module_perms("intents"),
        ]

        assert rights == [granted] * 4
        assert not user.has_perm("intents.delete_programintent")
        assert not user.has_perm("core.change_user")
        assert not user.has_perm("core.delete_retiredlearner")

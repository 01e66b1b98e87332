"""
Staff sign in with their LMS account, as in every Open edX IDA: edx-auth-backends' ``EdXOAuth2``
backend on social-auth sends the browser to the LMS's ``/oauth2/authorize``, and the LMS sends
it back to ``/complete/edx-oauth2/`` with a code that PIE exchanges for a JWT access token.

The account that sign-in acts as is decided by the same rules as a JWT on the API
(``pie.apps.core.identity``): the LMS's account of that username, created on first sight;
never a local account (``createsuperuser``); never a retired learner's id. Only accounts that
the LMS marks ``administrator`` (``is_staff`` here) may sign in: PIE has nothing else to show
in a browser. See docs/decisions/0010-staff-sign-in-through-the-lms.rst.
"""

import requests
from auth_backends.views import EdxOAuth2LoginView, EdxOAuth2LogoutView
from django.conf import settings
from django.shortcuts import render
from django.urls import reverse
from social_core.exceptions import (
    AuthConnectionError,
    AuthException,
    AuthUnreachableProvider,
    SocialAuthBaseException,
)

from pie.apps.core.identity import IdentityRefused, LmsClaims, user_for_lms_claims


class SignInRefused(AuthException):
    """The LMS vouched for someone who may not sign in to PIE; the message says why."""

    def __init__(self, backend, message: str):
        super().__init__(backend, message)
        self.message = message

    def __str__(self) -> str:
        return self.message


def lms_sign_in_configured() -> bool:
    """True when an operator has registered PIE's OAuth2 application in the LMS and set it here."""
    return bool(
        settings.SOCIAL_AUTH_EDX_OAUTH2_KEY
        and settings.SOCIAL_AUTH_EDX_OAUTH2_SECRET
        and settings.SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT
    )


# Pipeline steps (settings.SOCIAL_AUTH_PIPELINE). social-auth calls them with keyword
# arguments; each returns what it adds to them.


def lms_account(backend, response: dict, *args, **kwargs) -> dict:
    """
    The account the LMS's access token names, by identity.py's rules (the same account as
    that user's JWTs), with its email, LMS user id and staff flag brought up to date.

    Replaces auth-backends' ``get_user_if_exists`` and social-auth's ``create_user``: those
    take any row of that username, a local superuser's included.
    """
    try:
        # `response` holds the claims EdXOAuth2.user_data read from the LMS's JWT access token.
        claims = LmsClaims.from_payload(response)
        user = user_for_lms_claims(claims)
    except IdentityRefused as refusal:
        # identity.py speaks of "the JWT": here it is the LMS's access token for this sign-in.
        raise SignInRefused(
            backend, f"PIE refuses the account the LMS signed you in as. {refusal}"
        ) from None
    social = kwargs.get("social")
    if social is not None and social.user_id != user.pk:
        # An association left from a renamed account: never sign in as someone else.
        raise SignInRefused(backend, "This LMS account is linked to another account of PIE.")
    # is_new stays False: social-auth would send a new account to a "new user" page PIE has not.
    return {"user": user, "is_new": False}


def staff_only(backend, user=None, *args, **kwargs) -> None:
    """Refuse, before any session exists, an LMS account that is not staff in the LMS."""
    if user is None or not user.is_staff:
        raise SignInRefused(
            backend,
            "Your LMS account is not staff: PIE's admin is for the LMS's staff. If you "
            "should have access, ask an LMS administrator to make your account staff, "
            "then sign in again.",
        )


def sign_in_context(request) -> dict:
    """Template context: whether the admin's login page offers "Sign in with your LMS account"."""
    return {"lms_sign_in_configured": lms_sign_in_configured()}


class LmsLoginView(EdxOAuth2LoginView):
    """``/login/``: to the LMS's sign-in, or a page that says it is not configured here."""

    def get(self, request, *args, **kwargs):
        if not lms_sign_in_configured():
            return sign_in_page(
                request,
                status=404,
                title="Sign-in with the LMS is not configured",
                message=(
                    "This PIE has no OAuth2 application of the LMS configured "
                    "(SOCIAL_AUTH_EDX_OAUTH2_KEY, SOCIAL_AUTH_EDX_OAUTH2_SECRET and "
                    "SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT; see docs/operations.rst). Local "
                    "accounts sign in with a password on the admin's login page."
                ),
            )
        return super().get(request, *args, **kwargs)


class LmsLogoutView(EdxOAuth2LogoutView):
    """``/logout/``: ends PIE's session, then the LMS's (or back to the admin's login page)."""

    def get_redirect_url(self, *args, **kwargs):
        if not lms_sign_in_configured():
            return reverse("admin:login")
        return settings.SOCIAL_AUTH_EDX_OAUTH2_LOGOUT_URL or super().get_redirect_url(
            *args, **kwargs
        )


def sign_in_page(request, *, status: int, title: str, message: str):
    return render(
        request,
        "core/sign_in_problem.html",
        {"title": title, "message": message, "lms_sign_in_configured": lms_sign_in_configured()},
        status=status,
    )


class SignInErrorMiddleware:
    """
    Every failure of the sign-in round trip as a page that says what happened, with a 4xx
    (502 when the LMS does not answer the token exchange), never a 500: a refused account, a
    sign-in the person cancelled on the LMS, a stale or forged ``state``, a code the LMS
    rejects.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, SignInRefused):
            status, title = 403, "You cannot sign in to PIE"
        elif isinstance(
            exception, AuthConnectionError | AuthUnreachableProvider | requests.RequestException
        ):
            # The token exchange failed at the LMS: unreachable, a timeout, or its error page
            # (social-auth lets a 5xx through as requests' HTTPError). PIE calls no other
            # HTTP service from a view.
            status, title = 502, "The LMS did not answer"
            exception = "PIE could not exchange the sign-in with the LMS; try again later."
        elif isinstance(exception, SocialAuthBaseException):
            status, title = 400, "Sign-in with the LMS did not complete"
        else:
            return None
        return sign_in_page(request, status=status, title=title, message=str(exception))

from django.conf import settings
from rest_framework.permissions import BasePermission

from pie.apps.core.authentication import PieJwtAuthentication


def _authenticated_by_jwt(request) -> bool:
    return isinstance(request.successful_authenticator, PieJwtAuthentication)


class IsServiceWorkerOrStaff(BasePermission):
    """
    Other Open edX services and staff: a user who is staff (from the JWT's ``administrator``
    claim, or a local staff account in a session), or whose JWT names a username listed in
    ``PIE_SERVICE_WORKER_USERNAMES``. Learners are refused.
    """

    message = "Only staff and Open edX service workers may use this endpoint."

    def has_permission(self, request, view):
        user = request.user
        if not (user and user.is_authenticated):
            return False
        if user.is_staff:
            return True
        return _authenticated_by_jwt(request) and (
            user.username in settings.PIE_SERVICE_WORKER_USERNAMES
        )


class IsRetirementWorker(BasePermission):
    """
    The platform's retirement pipeline only: a JWT naming RETIREMENT_SERVICE_WORKER_USERNAME,
    an account of the LMS. No other account, superusers included, may retire learners.
    """

    message = "Only the retirement service worker may retire learners."

    def has_permission(self, request, view):
        user = request.user
        return bool(
            user
            and user.is_authenticated
            and _authenticated_by_jwt(request)
            and user.username == settings.RETIREMENT_SERVICE_WORKER_USERNAME
        )

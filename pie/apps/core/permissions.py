from django.conf import settings
from rest_framework.permissions import BasePermission


class IsServiceWorkerOrStaff(BasePermission):
    """
    Other Open edX services and staff: a user whose JWT says ``administrator`` (is_staff) or
    whose username is listed in ``PIE_SERVICE_WORKER_USERNAMES``. Learners are refused.
    """

    message = "Only staff and Open edX service workers may use this endpoint."

    def has_permission(self, request, view):
        user = request.user
        return bool(
            user
            and user.is_authenticated
            and (user.is_staff or user.username in settings.PIE_SERVICE_WORKER_USERNAMES)
        )


class IsRetirementWorker(BasePermission):
    """The platform's retirement pipeline (RETIREMENT_SERVICE_WORKER_USERNAME) or a superuser."""

    message = "Only the retirement service worker may retire learners."

    def has_permission(self, request, view):
        user = request.user
        return bool(
            user
            and user.is_authenticated
            and (user.is_superuser or user.username == settings.RETIREMENT_SERVICE_WORKER_USERNAME)
        )

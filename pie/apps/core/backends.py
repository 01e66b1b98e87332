"""What the LMS's staff may do in PIE's admin, without a local superuser granting it by hand."""

from django.contrib.auth.backends import BaseBackend

# The LMS's staff read everything PIE knows about intents and retirement, and keep the list of
# reasons (reasons are data: docs/decisions/0001-reasons-are-data.rst). Users and their rights
# stay with local superusers: the LMS's "superuser" claim is never copied (ADR 0006).
LMS_STAFF_APPS = {"intents", "core"}
LMS_STAFF_PERMISSIONS = {
    "core.view_retiredlearner",
    "intents.add_intentreason",
    "intents.change_intentreason",
}


class LmsStaffPermissionBackend(BaseBackend):
    """
    Grants the LMS's staff (accounts of the LMS with ``is_staff``, which the LMS's
    ``administrator`` claim sets at every sign-in or token) view rights on the intents app and
    the permissions above. Authenticates nobody: sign-in is EdXOAuth2's or ModelBackend's.
    """

    def _is_lms_staff(self, user_obj) -> bool:
        return bool(
            user_obj.is_active and user_obj.is_staff and getattr(user_obj, "is_lms_account", False)
        )

    def has_perm(self, user_obj, perm, obj=None):
        return self._is_lms_staff(user_obj) and (
            perm.startswith("intents.view_") or perm in LMS_STAFF_PERMISSIONS
        )

    def has_module_perms(self, user_obj, app_label):
        return self._is_lms_staff(user_obj) and app_label in LMS_STAFF_APPS

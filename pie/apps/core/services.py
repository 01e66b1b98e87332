"""Write rules for PIE's local users."""

import uuid

from pie.apps.core.models import RetiredLearner, User


def retired_learner_record(*, lms_user_id: int) -> bool:
    """Remember that this LMS user id is retired; True the first time. Idempotent."""
    _, created = RetiredLearner.objects.get_or_create(lms_user_id=lms_user_id)
    return created


def users_scrub(*, lms_user_id: int) -> int:
    """
    Remove the personal data PIE copied from this learner's tokens (username, email, names)
    and disable the account(s). Returns how many user rows were scrubbed.

    The rows stay (with their LMS user id, which is not personal data in Open edX) so that
    admin history keeps pointing at something; they can never sign in again.
    """
    scrubbed = 0
    for user in User.objects.filter(lms_user_id=lms_user_id).select_for_update():
        user.username = f"retired_user_{uuid.uuid4().hex}"
        user.email = ""
        user.first_name = ""
        user.last_name = ""
        user.is_active = False
        user.is_staff = False
        user.is_superuser = False
        user.set_unusable_password()
        user.save()
        scrubbed += 1
    return scrubbed

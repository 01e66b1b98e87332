from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    """
    A person or service that has called PIE: a learner or service worker authenticated by an
    LMS JWT, or staff who signed in with their LMS account or a local password.

    Accounts that an LMS JWT or a sign-in through the LMS creates carry ``is_lms_account``:
    they are the LMS's accounts, and only they are ever bound to a token or a sign-in, or
    updated from one. An account created here (by ``createsuperuser`` or in the admin) is
    local: a token or sign-in naming it is refused.

    Intents are keyed by ``lms_user_id``, not by this row, so a learner's intents exist
    whether or not the learner has ever called PIE.

    .. pii: username, email, first_name and last_name, copied from the learner's JWT.
    .. pii_types: username, email_address, name
    .. pii_retirement: local_api
    """

    lms_user_id = models.IntegerField(
        null=True,
        blank=True,
        db_index=True,
        help_text="The learner's user id in the LMS (the JWT's user_id claim).",
    )
    is_lms_account = models.BooleanField(
        "LMS account",
        default=False,
        editable=False,
        help_text=(
            "The LMS's account, created by its JWT or a sign-in through the LMS. "
            "Local accounts never bind to either."
        ),
    )

    class Meta:
        swappable = "AUTH_USER_MODEL"

    def __str__(self):
        return self.username


class RetiredLearner(models.Model):
    """
    An LMS user id that Open edX's retirement pipeline has retired here. Every later write of
    an intent for it is skipped, whatever its path (API, import, event), so that a replayed
    event or an old export cannot bring the learner's data back.

    .. no_pii: the opaque LMS user id and when it was retired, nothing else.
    """

    lms_user_id = models.IntegerField(primary_key=True)
    retired_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"LMS user {self.lms_user_id} (retired {self.retired_at:%Y-%m-%d})"

from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    """
    A person who has called PIE: a learner or service authenticated by an LMS JWT, or staff.

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

    class Meta:
        swappable = "AUTH_USER_MODEL"

    def __str__(self):
        return self.username

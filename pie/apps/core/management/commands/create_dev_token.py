from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from pie.apps.core.dev_tokens import create_dev_token


class Command(BaseCommand):
    help = (
        "Print a signed JWT for a learner, for calling a local PIE with curl. "
        "Only local and test settings allow it."
    )

    def add_arguments(self, parser):
        parser.add_argument("lms_user_id", type=int, help="The learner's LMS user id.")
        parser.add_argument("--username", help="Username claim (default: learner<id>).")
        parser.add_argument(
            "--staff", action="store_true", help="Mark the token's user as an administrator."
        )
        parser.add_argument(
            "--lifetime", type=int, default=3600, help="Seconds until it expires (default 3600)."
        )

    def handle(self, *args, lms_user_id, username, staff, lifetime, **options):
        if not settings.PIE_DEV_TOKENS_ENABLED:
            raise CommandError("create_dev_token is disabled in these settings (local/test only).")
        if lms_user_id <= 0:
            raise CommandError("lms_user_id must be a positive integer.")
        if lifetime <= 0:
            raise CommandError("--lifetime must be a positive number of seconds.")
        claims = {"administrator": staff, "lifetime_seconds": lifetime}
        if username:
            claims["preferred_username"] = username
        self.stdout.write(create_dev_token(lms_user_id=lms_user_id, **claims))

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from pie.apps.core.dev_tokens import create_dev_token, dev_service_token_payload, sign_dev_token
from pie.apps.core.values import InvalidValue, parse_lms_user_id


class Command(BaseCommand):
    help = (
        "Print a signed JWT for a learner, for calling a local PIE with curl. "
        "Only local and test settings allow it."
    )

    def add_arguments(self, parser):
        parser.add_argument("lms_user_id", nargs="?", help="The learner's LMS user id.")
        parser.add_argument("--username", help="Username claim (default: learner<id>).")
        parser.add_argument(
            "--service",
            metavar="USERNAME",
            help="Instead of a learner's token, a service worker's client-credentials token "
            "(no user_id claim), e.g. --service retirement_service_worker.",
        )
        parser.add_argument(
            "--staff", action="store_true", help="Mark the token's user as an administrator."
        )
        parser.add_argument(
            "--lifetime", type=int, default=3600, help="Seconds until it expires (default 3600)."
        )

    def handle(self, *args, lms_user_id, username, service, staff, lifetime, **options):
        if not settings.PIE_DEV_TOKENS_ENABLED:
            raise CommandError("create_dev_token is disabled in these settings (local/test only).")
        if lifetime <= 0:
            raise CommandError("--lifetime must be a positive number of seconds.")
        if service:
            if lms_user_id or username:
                raise CommandError("--service takes no lms_user_id and no --username.")
            payload = dev_service_token_payload(
                username=service, administrator=staff, lifetime_seconds=lifetime
            )
            self.stdout.write(sign_dev_token(payload))
            return
        if lms_user_id is None:
            raise CommandError("Give a learner's lms_user_id, or --service USERNAME.")
        try:
            lms_user_id = parse_lms_user_id(lms_user_id)
        except InvalidValue as error:
            raise CommandError(f"lms_user_id: {error}") from None
        claims = {"administrator": staff, "lifetime_seconds": lifetime}
        if username:
            claims["preferred_username"] = username
        self.stdout.write(create_dev_token(lms_user_id=lms_user_id, **claims))

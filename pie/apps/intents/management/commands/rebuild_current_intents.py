"""./manage.py rebuild_current_intents [--check]: compare (and repair) the kept current intents."""

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from pie.apps.intents.services import current_intents_check, current_intents_rebuild


class Command(BaseCommand):
    help = (
        "Compare each learner's kept current intent per program with the selection rule "
        "computed from all intents, and repair the differences (--check: report only, exit 1 "
        "when any)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--check",
            action="store_true",
            help="Only report the differences; exit with status 1 when there are any.",
        )

    def handle(self, *args, check: bool, **options):
        try:
            report = current_intents_check() if check else current_intents_rebuild()
        except DatabaseError as error:
            raise CommandError(f"The database failed: {' '.join(str(error).split())}") from None
        self.stdout.write(
            f"Best intents not current: {report.not_current:,}; "
            f"wrong current rows: {report.wrong:,}."
        )
        if not report.differences:
            self.stdout.write("Current intents agree with the intents.")
        elif check:
            raise CommandError(
                f"{report.differences:,} difference(s): run ./manage.py rebuild_current_intents."
            )
        else:
            self.stdout.write(f"Repaired {report.differences:,} difference(s).")

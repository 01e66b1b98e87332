from django.core.exceptions import ValidationError
from django.db import models


class Certainty(models.TextChoices):
    CERTAIN_YES = "CERTAIN_YES", "Certain: will complete"
    CERTAIN_NO = "CERTAIN_NO", "Certain: will not complete"
    MAYBE = "MAYBE", "Maybe"


CERTAIN = (Certainty.CERTAIN_YES, Certainty.CERTAIN_NO)


class IntentReason(models.Model):
    """
    Why an intent was recorded (BUNDLE_PURCHASE, ...). Reasons are rows, not code: staff add
    new ones in the admin without a release. Codes are stored upper case so that matching is
    the same on every database collation.

    .. no_pii:
    """

    code = models.CharField(
        max_length=64,
        unique=True,
        help_text="Upper-case identifier used by the API and the CSV import, e.g. BUNDLE_PURCHASE.",
    )
    description = models.TextField(blank=True)
    default_certainty = models.CharField(
        max_length=16,
        choices=Certainty.choices,
        help_text="The certainty this reason usually carries. Any certainty may be recorded.",
    )
    created = models.DateTimeField(auto_now_add=True)
    modified = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["code"]

    def __str__(self):
        return self.code

    def save(self, *args, **kwargs):
        self.code = (self.code or "").strip().upper()
        super().save(*args, **kwargs)

    def clean(self):
        self.code = (self.code or "").strip().upper()
        if not self.code.replace("_", "").isalnum() or not self.code.isascii():
            raise ValidationError({"code": "Use letters, digits and underscores only."})


class ProgramIntentQuerySet(models.QuerySet):
    def for_learner(self, lms_user_id: int):
        return self.filter(lms_user_id=lms_user_id)


class ProgramIntent(models.Model):
    """
    One belief about whether a learner intends to complete a program, and why.

    Intents are never edited: a new belief is a new row. The unique constraint makes an
    identical intent impossible to store twice, whoever writes it (API, import, admin).

    .. no_pii: lms_user_id is an opaque LMS identifier; retirement deletes the learner's rows.
    """

    # Indexed as the leading column of the unique constraint.
    lms_user_id = models.IntegerField(help_text="The learner's user id in the LMS.")
    program_uuid = models.UUIDField()
    # No index of its own: a handful of reasons makes it useless for reads, and it would
    # slow every insert. Deleting a reason (rare, staff only) scans instead.
    reason = models.ForeignKey(
        IntentReason, on_delete=models.PROTECT, related_name="intents", db_index=False
    )
    certainty = models.CharField(max_length=16, choices=Certainty.choices)
    effective_timestamp = models.DateTimeField(
        help_text="When the learner's action that supports this intent happened."
    )
    # No ``modified``: an intent is never edited (save() refuses), so it would always equal
    # ``created`` and cost every imported row a column.
    created = models.DateTimeField(auto_now_add=True)

    objects = ProgramIntentQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "lms_user_id",
                    "program_uuid",
                    "reason",
                    "certainty",
                    "effective_timestamp",
                ],
                name="unique_program_intent",
            ),
            models.CheckConstraint(
                condition=models.Q(certainty__in=Certainty.values),
                name="program_intent_certainty_valid",
            ),
        ]
        # No other index: the unique constraint's index leads with (lms_user_id,
        # program_uuid), which serves every read (a learner's rows, per program), and each
        # extra index would slow the bulk import. See docs/decisions/0004-one-index.rst.
        ordering = ["-effective_timestamp", "-id"]

    def __str__(self):
        return f"{self.lms_user_id} {self.program_uuid} {self.certainty} ({self.reason_id})"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ValueError("Program intents are immutable: record a new intent instead.")
        super().save(*args, **kwargs)


class CurrentIntent(models.Model):
    """
    Each learner's best intent per program (the rule of docs/decisions/0002), kept as data so
    that a learner's read is one indexed lookup and a program summary one indexed count.
    Written only by ``services``, in the same transaction as the intents it derives from;
    checked and rebuilt by ``./manage.py rebuild_current_intents``. See docs/decisions/0008.

    Every column but the key is a copy of the winning intent's value: ``certain``,
    ``effective_timestamp`` and ``intent_id`` are the selection key that a new intent must
    beat, and the rest is what a read returns, so that neither a write nor a read touches the
    intents table for it.

    .. no_pii: lms_user_id is an opaque LMS identifier; retirement deletes the learner's rows.
    """

    # The primary key is the unique key: one B-tree fewer for every imported row than an id
    # column next to a unique constraint.
    pk = models.CompositePrimaryKey("lms_user_id", "program_uuid")
    lms_user_id = models.IntegerField()
    program_uuid = models.UUIDField()
    # Neither relation has a constraint or an index: each would be one more B-tree to maintain
    # per imported row, and on the intents' side a check (or, without an index, a scan) for
    # every deleted intent. Intents are immutable and deleted only by retirement, which deletes
    # the learner's current intents too; the rebuild command's --check would see a stray row.
    intent = models.ForeignKey(
        ProgramIntent,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    reason = models.ForeignKey(
        IntentReason,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    certainty = models.CharField(max_length=16, choices=Certainty.choices)
    certain = models.BooleanField()
    effective_timestamp = models.DateTimeField()
    created = models.DateTimeField()

    class Meta:
        # The program summary counts one program's rows per certainty from this index alone.
        indexes = [
            models.Index(fields=["program_uuid", "certainty"], name="current_intent_summary"),
        ]

    def __str__(self):
        return f"{self.lms_user_id} {self.program_uuid} -> {self.intent_id}"


class Program(models.Model):
    """
    What PIE knows about a program besides its UUID: its title and type, as the last program
    certificate event carried them (openedx-events' ProgramData). Only for showing staff a
    name beside a UUID: intents never depend on it, and a program PIE has seen only through
    the API or the import has no row.

    .. no_pii:
    """

    uuid = models.UUIDField(primary_key=True)
    title = models.CharField(max_length=255)
    program_type = models.CharField(max_length=64, blank=True)
    updated = models.DateTimeField(
        help_text=(
            "The time of the event this title came from: an older event, redelivered or late, "
            "never replaces a newer title."
        )
    )

    def __str__(self):
        return self.title

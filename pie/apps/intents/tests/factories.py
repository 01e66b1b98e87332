import datetime
import uuid

import factory
from django.db import transaction

from pie.apps.intents.models import Certainty, IntentReason, ProgramIntent
from pie.apps.intents.services import current_intents_offer


def reason(code: str = "BUNDLE_PURCHASE") -> IntentReason:
    """A seeded reason (the data migration creates the initial ones), or a new one."""
    return IntentReason.objects.get_or_create(
        code=code, defaults={"default_certainty": Certainty.MAYBE}
    )[0]


class ProgramIntentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProgramIntent

    lms_user_id = factory.Sequence(lambda n: 1000 + n)
    program_uuid = factory.LazyFunction(uuid.uuid4)
    reason = factory.LazyFunction(reason)
    certainty = Certainty.CERTAIN_YES
    effective_timestamp = factory.Sequence(
        lambda n: datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC) + datetime.timedelta(hours=n)
    )

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        """Stored as services store an intent: with the learner's current intent updated."""
        with transaction.atomic():
            intent = super()._create(model_class, *args, **kwargs)
            current_intents_offer(intents=ProgramIntent.objects.filter(pk=intent.pk))
        return intent

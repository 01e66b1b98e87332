"""
Which receiver errors hold an event (a database outage) and which fail it at once, driven
in-process through the signal as the consumer sends it. The outage with the real consumer,
Redis and a database taken away is in test_event_bus_redis.py.
"""

import pytest
from django.db import DataError, OperationalError
from openedx_events.learning.signals import PROGRAM_CERTIFICATE_AWARDED

from pie.apps.intents import event_delivery, services
from pie.apps.intents.models import ProgramIntent
from pie.apps.intents.tests.events import metadata, program_certificate

pytestmark = pytest.mark.django_db


def deliver():
    return PROGRAM_CERTIFICATE_AWARDED.send_event_with_custom_metadata(
        metadata(), send_robust=False, program_certificate=program_certificate()
    )


@pytest.fixture
def failing_intent_create(monkeypatch):
    """services.intent_create raising the given errors first, then doing its work."""
    calls = []

    def install(*errors):
        real = services.intent_create
        pending = list(errors)

        def intent_create(**kwargs):
            calls.append(kwargs)
            if pending:
                raise pending.pop(0)
            return real(**kwargs)

        monkeypatch.setattr(services, "intent_create", intent_create)
        return calls

    monkeypatch.setattr(event_delivery, "FIRST_WAIT_SECONDS", 0.01)
    return install


def test_event_is_held_while_the_database_does_not_answer_then_recorded_once(
    failing_intent_create, caplog
):
    calls = failing_intent_create(
        OperationalError("could not connect to server"), OperationalError("server closed")
    )

    deliver()

    assert len(calls) == 3
    assert ProgramIntent.objects.count() == 1
    held = [r for r in caplog.records if "is held" in r.getMessage()]
    assert len(held) == 2
    assert "OperationalError: could not connect to server" in held[0].getMessage()


def test_database_error_that_is_not_an_outage_fails_the_event_at_once(failing_intent_create):
    calls = failing_intent_create(DataError("value too long"))

    with pytest.raises(DataError):
        deliver()

    assert len(calls) == 1
    assert ProgramIntent.objects.count() == 0


def test_outage_past_the_limit_stops_the_process_without_returning(
    failing_intent_create, monkeypatch, settings, caplog
):
    # os._exit ends the process in production; here it raises so the test can see it.
    class Exited(BaseException):
        pass

    def exit_(status):
        raise Exited(status)

    monkeypatch.setattr(event_delivery.os, "_exit", exit_)
    settings.PIE_EVENT_BUS_DATABASE_OUTAGE_SECONDS = 0.05
    failing_intent_create(*[OperationalError("the database is down")] * 100)

    with pytest.raises(Exited) as exited:
        deliver()

    assert exited.value.args == (event_delivery.OUTAGE_EXIT_STATUS,)
    assert ProgramIntent.objects.count() == 0
    assert any("is not acknowledged" in r.getMessage() for r in caplog.records)

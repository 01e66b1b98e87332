"""Open edX program certificate events as openedx/credentials sends them, for the tests."""

import datetime
import uuid

from openedx_events.data import EventsMetadata
from openedx_events.learning.data import (
    ProgramCertificateData,
    ProgramData,
    UserData,
    UserPersonalData,
)
from openedx_events.learning.signals import PROGRAM_CERTIFICATE_AWARDED

TOPIC = "learning-program-certificate-lifecycle"
EVENT_KEY_FIELD = "program_certificate.program.uuid"
# Personal data the event carries and PIE must never log.
USERNAME = "ada_learner"
EMAIL = "ada@learner.example"
FULL_NAME = "Ada Lovelace-Learner"


def program_certificate(
    *, lms_user_id=1001, program_uuid="3a0fd5a0-f5c0-4b1f-a3b8-f0f4c6a7e9d1", status="awarded"
) -> ProgramCertificateData:
    return ProgramCertificateData(
        user=UserData(
            id=lms_user_id,
            is_active=True,
            pii=UserPersonalData(username=USERNAME, email=EMAIL, name=FULL_NAME),
        ),
        program=ProgramData(
            uuid=str(program_uuid), title="Data Science Foundations", program_type="professional"
        ),
        uuid=str(uuid.uuid4()),
        status=status,
        url="https://credentials.example.com/credentials/0123456789abcdef/",
    )


def metadata(
    signal=PROGRAM_CERTIFICATE_AWARDED, *, time: datetime.datetime | None = None
) -> EventsMetadata:
    """Metadata as the producer stamps it: a fresh event id, the credential's modified time."""
    return EventsMetadata(
        event_type=signal.event_type,
        time=time or datetime.datetime(2024, 6, 1, 12, 30, 15, 123456, tzinfo=datetime.UTC),
        source="openedx/credentials/web",
        sourcehost="credentials.example.com",
    )

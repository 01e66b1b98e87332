import pytest

from pie.apps.intents.models import IntentReason
from pie.apps.intents.tests.factories import ProgramIntentFactory

pytestmark = pytest.mark.django_db

INTENTS = "/admin/intents/programintent/"


def test_staff_sees_the_intents_list_with_filters(admin_client):
    ProgramIntentFactory.create_batch(3)
    response = admin_client.get(INTENTS)
    assert response.status_code == 200
    assert b"By reason" in response.content and b"By certainty" in response.content


def test_search_by_lms_user_id_and_program_uuid(admin_client):
    wanted = ProgramIntentFactory(lms_user_id=4242)
    ProgramIntentFactory(lms_user_id=17)
    for term in ("4242", str(wanted.program_uuid), wanted.program_uuid.hex):
        result = admin_client.get(INTENTS, {"q": term}).context["cl"].result_list
        assert list(result) == [wanted]
    for term in ("not-an-id", "99999999999999999999"):
        assert list(admin_client.get(INTENTS, {"q": term}).context["cl"].result_list) == []


def test_intents_are_read_only_in_the_admin(admin_client):
    intent = ProgramIntentFactory()
    assert admin_client.get(f"{INTENTS}add/").status_code == 403
    detail = admin_client.get(f"{INTENTS}{intent.pk}/change/")
    assert detail.status_code == 200
    assert b'name="certainty"' not in detail.content
    admin_client.post(f"{INTENTS}{intent.pk}/change/", {"certainty": "MAYBE"})
    intent.refresh_from_db()
    assert intent.certainty == "CERTAIN_YES"


def test_staff_adds_a_reason_that_is_stored_upper_case(admin_client):
    response = admin_client.post(
        "/admin/intents/intentreason/add/",
        {"code": "referral", "default_certainty": "MAYBE", "description": ""},
    )
    assert response.status_code == 302, response.content
    assert IntentReason.objects.filter(code="REFERRAL").exists()


def test_users_admin_lists_lms_user_ids(admin_client):
    assert admin_client.get("/admin/core/user/").status_code == 200

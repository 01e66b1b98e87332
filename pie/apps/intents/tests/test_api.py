"""The learner API, through the HTTP client with real signed JWTs."""

import datetime
import uuid

import pytest
from django.test import override_settings
from rest_framework.renderers import JSONRenderer

from pie.apps.intents.models import Certainty, ProgramIntent
from pie.apps.intents.tests.factories import ProgramIntentFactory, reason

pytestmark = pytest.mark.django_db

LIST_URL = "/api/v1/program_intents/"
BEST_URL = "/api/v1/program_intents/most_recent_and_certain/"
LEARNER = 1001  # the learner_client fixture's LMS user id
PROGRAM = "3a0fd5a0-f5c0-4b1f-a3b8-f0f4c6a7e9d1"


def body(**overrides):
    data = {
        "program_uuid": PROGRAM,
        "reason": "BUNDLE_PURCHASE",
        "certainty": "CERTAIN_YES",
        "effective_timestamp": "2024-05-01T12:00:00Z",
    }
    data.update(overrides)
    return data


def assert_error(response, status, field=None):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    payload = response.json()
    assert payload["status"] == status
    assert payload["detail"]
    if field:
        assert field in payload["errors"], payload
    return payload


class TestRecordIntent:
    def test_post_records_an_intent_for_the_requester_and_returns_it(self, learner_client):
        response = learner_client.post(LIST_URL, body(), format="json")
        assert response.status_code == 201, response.content
        assert response.json() == {
            "id": ProgramIntent.objects.get().pk,
            "lms_user_id": LEARNER,
            "program_uuid": PROGRAM,
            "reason": "BUNDLE_PURCHASE",
            "certainty": "CERTAIN_YES",
            "effective_timestamp": "2024-05-01T12:00:00Z",
            "created": response.json()["created"],
        }
        assert ProgramIntent.objects.get().lms_user_id == LEARNER

    def test_trailing_slash_is_optional(self, learner_client):
        response = learner_client.post(LIST_URL.rstrip("/"), body(), format="json")
        assert response.status_code == 201
        assert learner_client.get(BEST_URL.rstrip("/")).status_code == 200

    def test_bearer_prefix_works_like_jwt(self, make_client):
        response = make_client(LEARNER, prefix="Bearer").post(LIST_URL, body(), format="json")
        assert response.status_code == 201

    @pytest.mark.parametrize(
        ("sent", "stored"),
        [
            ("2024-05-01T12:00:00Z", "2024-05-01T12:00:00Z"),
            ("2024-05-01T14:00:00+02:00", "2024-05-01T12:00:00Z"),
            ("2024-05-01 12:00:00", "2024-05-01T12:00:00Z"),
            ("2024-05-01T12:00:00.250000-03:30", "2024-05-01T15:30:00.250000Z"),
        ],
    )
    def test_timestamps_are_accepted_in_every_documented_form_and_returned_in_utc(
        self, learner_client, sent, stored
    ):
        response = learner_client.post(LIST_URL, body(effective_timestamp=sent), format="json")
        assert response.status_code == 201, response.content
        assert response.json()["effective_timestamp"] == stored

    def test_uuid_as_32_hex_digits_and_lower_case_reason_and_certainty(self, learner_client):
        sent = body(
            program_uuid=PROGRAM.replace("-", "").upper(),
            reason="earned_program_cert",
            certainty="maybe",
        )
        response = learner_client.post(LIST_URL, sent, format="json")
        assert response.status_code == 201, response.content
        assert response.json()["program_uuid"] == PROGRAM
        assert response.json()["reason"] == "EARNED_PROGRAM_CERT"
        assert response.json()["certainty"] == "MAYBE"

    def test_any_certainty_may_be_recorded_with_any_reason(self, learner_client):
        for certainty in Certainty.values:
            sent = body(reason="ENROLLED_ALL_COURSES", certainty=certainty)
            assert learner_client.post(LIST_URL, sent, format="json").status_code == 201

    def test_a_reason_added_by_staff_is_usable_at_once(self, learner_client):
        reason("REFERRAL_PROGRAM")
        response = learner_client.post(LIST_URL, body(reason="referral_program"), format="json")
        assert response.status_code == 201

    def test_duplicate_post_returns_400_and_keeps_one_row(self, learner_client):
        assert learner_client.post(LIST_URL, body(), format="json").status_code == 201
        same_instant = body(
            effective_timestamp="2024-05-01 14:00:00+02:00", reason="bundle_purchase"
        )
        payload = assert_error(learner_client.post(LIST_URL, same_instant, format="json"), 400)
        assert "already recorded" in payload["detail"]
        assert payload["errors"]["non_field_errors"]
        assert ProgramIntent.objects.count() == 1

    def test_the_same_intent_from_two_learners_is_two_rows(self, make_client):
        assert make_client(1).post(LIST_URL, body(), format="json").status_code == 201
        assert make_client(2).post(LIST_URL, body(), format="json").status_code == 201
        assert ProgramIntent.objects.count() == 2

    def test_lms_user_id_of_another_learner_is_refused(self, learner_client):
        response = learner_client.post(LIST_URL, body(lms_user_id=LEARNER + 1), format="json")
        assert_error(response, 403)
        assert ProgramIntent.objects.count() == 0

    def test_own_lms_user_id_in_the_body_is_accepted(self, learner_client):
        response = learner_client.post(LIST_URL, body(lms_user_id=LEARNER), format="json")
        assert response.status_code == 201

    def test_unknown_reason_is_400_naming_the_known_reasons(self, learner_client):
        payload = assert_error(
            learner_client.post(LIST_URL, body(reason="GUESSWORK"), format="json"), 400, "reason"
        )
        message = payload["errors"]["reason"][0]
        for known in ("BUNDLE_PURCHASE", "EARNED_PROGRAM_CERT", "ENROLLED_ALL_COURSES"):
            assert known in message

    @pytest.mark.parametrize("code", ["BUNDLE_PURCHASÉ", "bundle_purchasé", "BUNDLE_PURCHASE😀"])
    def test_reason_must_match_a_known_code_exactly_on_every_database(self, learner_client, code):
        # MySQL/MariaDB collations are accent-insensitive; the reason must not be.
        response = learner_client.post(LIST_URL, body(reason=code), format="json")
        assert_error(response, 400, "reason")
        assert ProgramIntent.objects.count() == 0

    @pytest.mark.parametrize(
        ("overrides", "field"),
        [
            ({"program_uuid": "not-a-uuid"}, "program_uuid"),
            ({"program_uuid": "3a0fd5a0-f5c0-4b1f-a3b8"}, "program_uuid"),
            ({"program_uuid": 12345}, "program_uuid"),
            ({"program_uuid": None}, "program_uuid"),
            ({"certainty": "PROBABLY"}, "certainty"),
            ({"certainty": ["CERTAIN_YES"]}, "certainty"),
            ({"effective_timestamp": "yesterday"}, "effective_timestamp"),
            ({"effective_timestamp": "2024-13-01 12:00:00"}, "effective_timestamp"),
            ({"effective_timestamp": "2024-05-01"}, "effective_timestamp"),
            ({"effective_timestamp": "1969-12-31T23:59:59Z"}, "effective_timestamp"),
            ({"effective_timestamp": "9999-12-31T23:59:59-05:00"}, "effective_timestamp"),
            ({"effective_timestamp": 1714564800}, "effective_timestamp"),
            ({"effective_timestamp": {"at": "now"}}, "effective_timestamp"),
            ({"reason": ""}, "reason"),
            ({"reason": "x" * 65}, "reason"),
            ({"lms_user_id": "me"}, "lms_user_id"),
            ({"effective_time": "2024-05-01T12:00:00Z"}, "effective_time"),
        ],
    )
    def test_bad_field_is_400_naming_the_field(self, learner_client, overrides, field):
        response = learner_client.post(LIST_URL, body(**overrides), format="json")
        assert_error(response, 400, field)
        assert ProgramIntent.objects.count() == 0

    @pytest.mark.parametrize(
        "missing", ["program_uuid", "reason", "certainty", "effective_timestamp"]
    )
    def test_missing_field_is_400(self, learner_client, missing):
        sent = body()
        del sent[missing]
        assert_error(learner_client.post(LIST_URL, sent, format="json"), 400, missing)

    def test_future_timestamp_is_refused(self, learner_client):
        future = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=2)
        sent = body(effective_timestamp=future.isoformat())
        assert_error(learner_client.post(LIST_URL, sent, format="json"), 400, "effective_timestamp")

    @pytest.mark.parametrize(
        "raw",
        [b'{"program_uuid":', b"[1, 2]", b'"a string"', b"null", b"\xff\xfe", b"[" * 100_000],
    )
    def test_malformed_or_wrongly_typed_json_is_400(self, learner_client, raw):
        response = learner_client.post(LIST_URL, raw, content_type="application/json")
        assert_error(response, 400)

    @override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1024)
    def test_oversized_body_is_400(self, learner_client):
        sent = body(reason="x" * 2000)
        assert_error(learner_client.post(LIST_URL, sent, format="json"), 400)

    def test_unsupported_media_type_is_a_json_415(self, learner_client):
        response = learner_client.post(LIST_URL, b"<intent/>", content_type="application/xml")
        assert_error(response, 415)

    def test_form_posts_from_the_browsable_api_work(self, learner_client):
        response = learner_client.post(LIST_URL, body())
        assert response.status_code == 201, response.content

    def test_uploaded_files_are_refused_as_unknown_fields(self, learner_client):
        from django.core.files.uploadedfile import SimpleUploadedFile

        sent = {**body(), "attachment": SimpleUploadedFile("x.csv", b"a,b\n")}
        assert_error(learner_client.post(LIST_URL, sent), 400, "attachment")

    def test_method_not_allowed_is_json(self, learner_client):
        assert_error(learner_client.delete(LIST_URL), 405)


class TestMostRecentAndCertain:
    def test_returns_one_row_per_program_with_the_selection_rule(self, learner_client):
        program_a, program_b = uuid.uuid4(), uuid.uuid4()
        t = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)
        certain = ProgramIntentFactory(
            lms_user_id=LEARNER,
            program_uuid=program_a,
            certainty="CERTAIN_NO",
            effective_timestamp=t,
        )
        ProgramIntentFactory(
            lms_user_id=LEARNER,
            program_uuid=program_a,
            certainty="MAYBE",
            effective_timestamp=t + datetime.timedelta(days=3),
        )
        maybe = ProgramIntentFactory(
            lms_user_id=LEARNER,
            program_uuid=program_b,
            certainty="MAYBE",
            effective_timestamp=t + datetime.timedelta(days=1),
        )
        response = learner_client.get(BEST_URL)
        assert response.status_code == 200
        assert [row["id"] for row in response.json()] == [maybe.pk, certain.pk]
        assert response.json()[1]["program_uuid"] == str(program_a)

    def test_body_is_byte_for_byte_what_drfs_json_renderer_writes(self, learner_client):
        for n in range(3):
            ProgramIntentFactory(lms_user_id=LEARNER, program_uuid=uuid.UUID(int=n + 1))
        response = learner_client.get(BEST_URL)
        assert response.status_code == 200
        assert response["Content-Type"] == "application/json"
        assert len(response.json()) == 3
        assert response.content == JSONRenderer().render(response.json())

    def test_learner_with_no_intents_gets_an_empty_list(self, learner_client):
        ProgramIntentFactory(lms_user_id=LEARNER + 1)
        response = learner_client.get(BEST_URL)
        assert response.status_code == 200
        assert response.json() == []

    def test_only_the_requesters_intents_are_returned(self, make_client):
        ProgramIntentFactory(lms_user_id=1)
        theirs = ProgramIntentFactory(lms_user_id=2)
        rows = make_client(2).get(BEST_URL).json()
        assert [row["id"] for row in rows] == [theirs.pk]


class TestListIntents:
    def test_lists_own_intents_newest_first_paginated(self, learner_client):
        intents = [ProgramIntentFactory(lms_user_id=LEARNER) for _ in range(12)]
        ProgramIntentFactory(lms_user_id=LEARNER + 1)
        page = learner_client.get(LIST_URL).json()
        assert page["count"] == 12
        newest_first = [intent.pk for intent in reversed(intents)]
        assert [row["id"] for row in page["results"]] == newest_first[:10]
        page_two = learner_client.get(page["next"]).json()
        assert [row["id"] for row in page_two["results"]] == newest_first[10:]

    def test_filters_by_program_uuid_in_either_form(self, learner_client):
        program = uuid.uuid4()
        mine = ProgramIntentFactory(lms_user_id=LEARNER, program_uuid=program)
        ProgramIntentFactory(lms_user_id=LEARNER)
        for form in (str(program), program.hex):
            rows = learner_client.get(LIST_URL, {"program_uuid": form}).json()["results"]
            assert [row["id"] for row in rows] == [mine.pk]

    def test_bad_program_uuid_filter_is_400(self, learner_client):
        assert_error(learner_client.get(LIST_URL, {"program_uuid": "nope"}), 400, "program_uuid")

    def test_bad_page_is_404_json(self, learner_client):
        assert_error(learner_client.get(LIST_URL, {"page": 99}), 404)


class TestAuthenticationIsRequired:
    @pytest.mark.parametrize("url", [LIST_URL, BEST_URL])
    def test_anonymous_get_is_401(self, client, url):
        assert_error(client.get(url), 401)

    def test_anonymous_post_is_401_and_stores_nothing(self, client):
        response = client.post(LIST_URL, body(), content_type="application/json")
        assert_error(response, 401)
        assert ProgramIntent.objects.count() == 0

    def test_garbage_token_is_401(self, client):
        response = client.get(BEST_URL, HTTP_AUTHORIZATION="JWT not.a.token")
        assert_error(response, 401)

    def test_staff_session_without_lms_identity_is_403_not_500(self, admin_client):
        assert_error(admin_client.get(BEST_URL), 403)

"""The service API (other Open edX services, staff) and learner retirement, over HTTP."""

import datetime
import uuid

import pytest
from rest_framework.test import APIClient

from pie.apps.core.dev_tokens import dev_token_payload, sign_dev_token
from pie.apps.core.models import User
from pie.apps.intents.models import ProgramIntent
from pie.apps.intents.tests.factories import ProgramIntentFactory

pytestmark = pytest.mark.django_db

LEARNER = 501
PROGRAM = uuid.UUID("3a0fd5a0-f5c0-4b1f-a3b8-f0f4c6a7e9d1")
HISTORY = f"/api/v1/learners/{LEARNER}/program_intents/"
BEST = f"/api/v1/learners/{LEARNER}/program_intents/most_recent_and_certain/"
SUMMARY = f"/api/v1/programs/{PROGRAM}/intents/summary/"
RETIRE = "/api/v1/retire_user/"
T0 = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)


def intent_body(**overrides):
    return {
        "program_uuid": str(PROGRAM),
        "reason": "BUNDLE_PURCHASE",
        "certainty": "CERTAIN_YES",
        "effective_timestamp": "2024-05-01T12:00:00Z",
        **overrides,
    }


@pytest.fixture
def staff(make_client):
    return make_client(9001, administrator=True, preferred_username="staff_member")


@pytest.fixture
def worker(make_service_client, settings):
    """credentials' worker, with the LMS's client-credentials token (no user_id)."""
    settings.PIE_SERVICE_WORKER_USERNAMES = ["credentials_worker"]
    return make_service_client("credentials_worker")


@pytest.fixture
def retirement_worker(make_service_client):
    """The retirement driver's client-credentials token, as the LMS issues it."""
    return make_service_client("retirement_service_worker")


@pytest.fixture
def learner(make_client):
    return make_client(LEARNER)


class TestPermissionBoundaries:
    SERVICE_CALLS = [
        ("get", HISTORY),
        ("post", HISTORY),
        ("get", BEST),
        ("get", SUMMARY),
    ]

    @pytest.mark.parametrize(("method", "url"), SERVICE_CALLS)
    def test_a_learner_gets_403_even_for_their_own_id(self, learner, method, url):
        response = getattr(learner, method)(url, intent_body(), format="json")
        assert response.status_code == 403
        assert response.json()["status"] == 403
        assert ProgramIntent.objects.count() == 0

    @pytest.mark.parametrize(("method", "url"), [*SERVICE_CALLS, ("post", RETIRE)])
    def test_anonymous_gets_401(self, client, method, url):
        response = getattr(client, method)(url, {}, content_type="application/json")
        assert response.status_code == 401

    @pytest.mark.parametrize(("method", "url"), [*SERVICE_CALLS, ("post", RETIRE)])
    def test_forged_staff_token_gets_401(self, method, url):
        payload = dev_token_payload(lms_user_id=9001, administrator=True)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"JWT {sign_dev_token(payload, secret='forged')}")
        response = getattr(client, method)(url, {"edx_lms_user_id": LEARNER}, format="json")
        assert response.status_code == 401

    @pytest.mark.parametrize("who", ["staff", "worker"])
    def test_staff_and_listed_workers_may_call(self, request, who):
        client = request.getfixturevalue(who)
        assert client.get(HISTORY).status_code == 200
        assert client.get(BEST).status_code == 200
        assert client.get(SUMMARY).status_code == 200
        assert client.post(HISTORY, intent_body(), format="json").status_code == 201

    def test_an_unlisted_non_staff_service_user_gets_403(self, make_client):
        client = make_client(9004, preferred_username="some_other_worker")
        assert client.get(HISTORY).status_code == 403

    def test_staff_and_workers_cannot_retire_learners(self, staff, worker):
        assert staff.post(RETIRE, {"edx_lms_user_id": LEARNER}, format="json").status_code == 403
        assert worker.post(RETIRE, {"edx_lms_user_id": LEARNER}, format="json").status_code == 403

    def test_the_learner_endpoints_keep_working_for_learners(self, learner):
        response = learner.post("/api/v1/program_intents/", intent_body(), format="json")
        assert response.status_code == 201
        assert learner.get("/api/v1/program_intents/most_recent_and_certain/").status_code == 200


class TestLearnerIntents:
    def test_history_newest_first_with_every_filter(self, staff):
        def add(certainty, hours, reason="BUNDLE_PURCHASE", program=PROGRAM):
            from pie.apps.intents.tests.factories import reason as reason_for

            return ProgramIntentFactory(
                lms_user_id=LEARNER,
                program_uuid=program,
                certainty=certainty,
                reason=reason_for(reason),
                effective_timestamp=T0 + datetime.timedelta(hours=hours),
            )

        a = add("MAYBE", 1, "ENROLLED_ALL_COURSES")
        b = add("CERTAIN_YES", 2)
        c = add("CERTAIN_NO", 3, program=uuid.uuid4())
        ProgramIntentFactory(lms_user_id=LEARNER + 1)

        def ids(**params):
            response = staff.get(HISTORY, params)
            assert response.status_code == 200, response.content
            return [row["id"] for row in response.json()["results"]]

        assert ids() == [c.pk, b.pk, a.pk]
        assert ids(program_uuid=PROGRAM.hex) == [b.pk, a.pk]
        assert ids(reason="enrolled_all_courses") == [a.pk]
        assert ids(certainty="certain_no") == [c.pk]
        assert ids(effective_after="2024-01-01T02:00:00Z") == [c.pk, b.pk]
        assert ids(effective_before="2024-01-01 02:00:00") == [a.pk]

    @pytest.mark.parametrize(
        "params",
        [{"program_uuid": "x"}, {"certainty": "SURE"}, {"effective_after": "soon"}],
    )
    def test_bad_filter_is_400(self, staff, params):
        response = staff.get(HISTORY, params)
        assert response.status_code == 400
        assert set(params) <= set(response.json()["errors"])

    @pytest.mark.parametrize("bad_id", ["abc", "0", "-5", "99999999999"])
    def test_bad_learner_id_in_the_path_is_400(self, staff, bad_id):
        response = staff.get(f"/api/v1/learners/{bad_id}/program_intents/")
        assert response.status_code == 400

    def test_best_intents_use_the_same_rule_as_the_learner_endpoint(self, staff, make_client):
        ProgramIntentFactory(
            lms_user_id=LEARNER,
            program_uuid=PROGRAM,
            certainty="CERTAIN_NO",
            effective_timestamp=T0,
        )
        ProgramIntentFactory(
            lms_user_id=LEARNER,
            program_uuid=PROGRAM,
            certainty="MAYBE",
            effective_timestamp=T0 + datetime.timedelta(days=1),
        )
        ProgramIntentFactory(lms_user_id=LEARNER, certainty="MAYBE")
        as_service = staff.get(BEST).json()
        as_learner = make_client(LEARNER).get("/api/v1/program_intents/most_recent_and_certain/")
        assert as_service == as_learner.json()
        assert {row["certainty"] for row in as_service} == {"CERTAIN_NO", "MAYBE"}


class TestRecordForALearner:
    def test_one_intent_is_recorded_for_the_learner_in_the_path(self, worker):
        response = worker.post(HISTORY, intent_body(), format="json")
        assert response.status_code == 201
        assert response.json()["lms_user_id"] == LEARNER
        assert ProgramIntent.objects.get().lms_user_id == LEARNER

    def test_duplicate_is_400_like_the_learner_post(self, worker):
        worker.post(HISTORY, intent_body(), format="json")
        response = worker.post(HISTORY, intent_body(), format="json")
        assert response.status_code == 400
        assert "already recorded" in response.json()["detail"]
        assert ProgramIntent.objects.count() == 1

    def test_a_list_is_answered_item_by_item_and_each_item_stands_alone(self, worker):
        items = [
            intent_body(),
            intent_body(certainty="MAYBE"),
            intent_body(),  # duplicate of the first
            intent_body(reason="NOPE"),
            "not an object",
            intent_body(lms_user_id=LEARNER + 1),
        ]
        response = worker.post(HISTORY, items, format="json")
        assert response.status_code == 200, response.content
        body = response.json()
        assert (body["created"], body["failed"]) == (2, 4)
        assert [result["status"] for result in body["results"]] == [201, 201, 400, 400, 400, 403]
        assert [result["index"] for result in body["results"]] == list(range(6))
        assert body["results"][0]["intent"]["certainty"] == "CERTAIN_YES"
        assert "reason" in body["results"][3]["errors"]
        assert ProgramIntent.objects.count() == 2

    def test_a_list_of_1000_is_accepted_and_1001_refused(self, worker):
        items = [
            intent_body(effective_timestamp=(T0 + datetime.timedelta(seconds=n)).isoformat())
            for n in range(1001)
        ]
        assert worker.post(HISTORY, items, format="json").status_code == 400
        assert ProgramIntent.objects.count() == 0
        response = worker.post(HISTORY, items[:1000], format="json")
        assert response.status_code == 200
        assert response.json()["created"] == 1000
        assert worker.post(HISTORY, [], format="json").status_code == 400


class TestProgramSummary:
    def test_counts_learners_by_their_best_intent_for_the_program(self, staff):
        other_program = uuid.uuid4()

        def add(learner, certainty, hours, program=PROGRAM):
            ProgramIntentFactory(
                lms_user_id=learner,
                program_uuid=program,
                certainty=certainty,
                effective_timestamp=T0 + datetime.timedelta(hours=hours),
            )

        add(1, "MAYBE", 5)
        add(1, "CERTAIN_YES", 1)  # certain beats the newer MAYBE -> YES
        add(2, "CERTAIN_YES", 1)
        add(2, "CERTAIN_NO", 2)  # newer certain -> NO
        add(3, "MAYBE", 1)
        add(3, "MAYBE", 2)  # -> MAYBE, counted once
        add(4, "CERTAIN_YES", 1, program=other_program)  # other program: not counted
        response = staff.get(SUMMARY)
        assert response.status_code == 200
        assert response.json() == {
            "program_uuid": str(PROGRAM),
            "learners": 3,
            "certainty": {"CERTAIN_YES": 1, "CERTAIN_NO": 1, "MAYBE": 1},
        }

    def test_program_with_no_intents_has_zero_counts(self, staff):
        response = staff.get(f"/api/v1/programs/{uuid.uuid4().hex}/intents/summary")
        assert response.json()["learners"] == 0
        assert response.json()["certainty"] == {"CERTAIN_YES": 0, "CERTAIN_NO": 0, "MAYBE": 0}

    def test_bad_program_uuid_is_400(self, staff):
        assert staff.get("/api/v1/programs/nope/intents/summary/").status_code == 400

    def test_summary_is_one_query(self, django_assert_num_queries):
        from pie.apps.intents.selectors import program_intent_summary

        for learner in range(10):
            ProgramIntentFactory(lms_user_id=learner, program_uuid=PROGRAM)
        with django_assert_num_queries(1):
            assert program_intent_summary(program_uuid=PROGRAM)["CERTAIN_YES"] == 10


class TestRetirement:
    def make_learner_data(self, make_client):
        make_client(LEARNER).post("/api/v1/program_intents/", intent_body(), format="json")
        ProgramIntentFactory.create_batch(3, lms_user_id=LEARNER)
        ProgramIntentFactory(lms_user_id=LEARNER + 1)
        assert User.objects.get(lms_user_id=LEARNER).email

    @pytest.mark.parametrize("field", ["edx_lms_user_id", "lms_user_id"])
    def test_retiring_deletes_intents_and_scrubs_the_user(
        self, retirement_worker, make_client, field
    ):
        self.make_learner_data(make_client)
        response = retirement_worker.post(RETIRE, {field: LEARNER}, format="json")
        assert response.status_code == 204
        assert not ProgramIntent.objects.filter(lms_user_id=LEARNER).exists()
        assert ProgramIntent.objects.filter(lms_user_id=LEARNER + 1).count() == 1
        user = User.objects.get(lms_user_id=LEARNER)
        assert user.username.startswith("retired_user_")
        assert (user.email, user.first_name, user.last_name, user.is_active) == ("", "", "", False)

    def test_retiring_is_idempotent_and_204_when_pie_holds_nothing(self, retirement_worker):
        for _ in range(2):
            response = retirement_worker.post(RETIRE, {"edx_lms_user_id": 777}, format="json")
            assert response.status_code == 204

    def test_an_unexpired_token_of_the_retired_learner_is_refused(
        self, retirement_worker, make_client
    ):
        self.make_learner_data(make_client)
        retirement_worker.post(RETIRE, {"edx_lms_user_id": LEARNER}, format="json")
        response = make_client(LEARNER).get("/api/v1/program_intents/most_recent_and_certain/")
        assert response.status_code == 401
        assert "retired" in response.json()["detail"]
        assert not User.objects.filter(lms_user_id=LEARNER, is_active=True).exists()

    @pytest.mark.parametrize(
        "body",
        [
            {},
            {"edx_lms_user_id": "abc"},
            {"edx_lms_user_id": 4.5},
            {"edx_lms_user_id": True},
            {"edx_lms_user_id": None},
            [],
        ],
    )
    def test_missing_or_non_integer_id_is_400(self, retirement_worker, body):
        response = retirement_worker.post(RETIRE, body, format="json")
        assert response.status_code == 400

    def test_a_superuser_may_not_retire(self, admin_client):
        ProgramIntentFactory(lms_user_id=LEARNER)
        response = admin_client.post(
            RETIRE, {"edx_lms_user_id": LEARNER}, content_type="application/json"
        )
        assert response.status_code == 403
        assert ProgramIntent.objects.filter(lms_user_id=LEARNER).exists()

    def test_retirement_is_logged_without_personal_data(
        self, retirement_worker, make_client, caplog
    ):
        self.make_learner_data(make_client)
        with caplog.at_level("INFO"):
            retirement_worker.post(RETIRE, {"edx_lms_user_id": LEARNER}, format="json")
        text = caplog.text
        assert f"Retired LMS user {LEARNER}: 4 intent(s) deleted, 1 user row(s) scrubbed" in text
        assert f"learner{LEARNER}" not in text  # the username and email are not logged

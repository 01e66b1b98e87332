"""
Identical intents posted at the same instant, through the HTTP API with real JWTs.

The database's unique constraint is what keeps one row, so these tests run only against a
database server (PostgreSQL, MariaDB/MySQL): SQLite serializes writers and proves nothing.
Each thread has its own Django database connection; the tests are transactional so that
the threads see each other's commits.
"""

import datetime
import threading

import pytest
from django.db import connection

from pie.apps.intents.models import CurrentIntent, ProgramIntent
from pie.apps.intents.selectors import intents_most_recent_and_certain
from pie.apps.intents.services import current_intents_check
from pie.apps.intents.tests.factories import reason

pytestmark = [
    pytest.mark.postgres_or_mysql,
    pytest.mark.skipif(
        connection.vendor == "sqlite", reason="needs a database server (set DATABASE_URL)"
    ),
    pytest.mark.django_db(transaction=True),
]

LIST_URL = "/api/v1/program_intents/"
LEARNER = 2002
THREADS = 12
T0 = datetime.datetime(2024, 5, 1, 12, 0, tzinfo=datetime.UTC)


def body(effective_timestamp: datetime.datetime) -> dict:
    return {
        "program_uuid": "3a0fd5a0-f5c0-4b1f-a3b8-f0f4c6a7e9d1",
        "reason": "BUNDLE_PURCHASE",
        "certainty": "CERTAIN_YES",
        "effective_timestamp": effective_timestamp.isoformat(),
    }


def post_at_once(make_client, bodies: list[dict]) -> list:
    """POST each body from its own thread, all released together; the responses, in order."""
    barrier = threading.Barrier(len(bodies))
    responses = [None] * len(bodies)
    errors = []

    def post(position: int) -> None:
        try:
            client = make_client(LEARNER)  # each thread its own client, same learner
            barrier.wait(timeout=30)
            responses[position] = client.post(LIST_URL, bodies[position], format="json")
        except Exception as error:  # reported by the test, not lost in the thread
            errors.append(error)
            barrier.abort()
        finally:
            connection.close()  # this thread's connection; teardown drops the test database

    threads = [threading.Thread(target=post, args=(n,)) for n in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert all(response is not None for response in responses)
    return responses


@pytest.fixture(autouse=True)
def seeded_reason():
    # A transactional test flushes the tables afterwards, seeded reasons included.
    reason("BUNDLE_PURCHASE")


@pytest.mark.parametrize("round_", range(3))
def test_identical_posts_racing_store_one_row_one_201_and_400s(make_client, round_):
    effective_timestamp = T0 + datetime.timedelta(microseconds=round_)
    responses = post_at_once(make_client, [body(effective_timestamp)] * THREADS)

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201] + [400] * (THREADS - 1), [r.content for r in responses]
    for response in responses:
        assert response["Content-Type"].startswith("application/json")
        if response.status_code == 400:
            assert "already recorded" in response.json()["detail"]
    assert ProgramIntent.objects.filter(lms_user_id=LEARNER).count() == 1


def test_distinct_posts_racing_are_all_stored(make_client):
    bodies = [body(T0 + datetime.timedelta(seconds=n)) for n in range(THREADS)]
    responses = post_at_once(make_client, bodies)

    assert [response.status_code for response in responses] == [201] * THREADS
    assert ProgramIntent.objects.filter(lms_user_id=LEARNER).count() == THREADS


@pytest.mark.parametrize("round_", range(3))
def test_racing_posts_for_one_program_leave_the_best_intent_current(make_client, round_):
    """
    Twelve writers, one learner and program, different certainties and timestamps: whichever
    commits last, the current intent is the one the rule picks from all twelve.
    """
    certainties = ["MAYBE", "CERTAIN_YES", "CERTAIN_NO"]
    bodies = [
        {
            **body(T0 + datetime.timedelta(seconds=(n * 7 + round_) % THREADS)),
            "certainty": certainties[(n + round_) % 3],
        }
        for n in range(THREADS)
    ]
    responses = post_at_once(make_client, bodies)

    assert [response.status_code for response in responses] == [201] * THREADS
    best = ProgramIntent.objects.filter(
        lms_user_id=LEARNER, certainty__in=["CERTAIN_YES", "CERTAIN_NO"]
    )
    expected = best.order_by("-effective_timestamp", "-id").first()
    assert [row[0] for row in intents_most_recent_and_certain(lms_user_id=LEARNER)] == [expected.pk]
    assert CurrentIntent.objects.count() == 1
    assert current_intents_check().differences == 0


def test_overlapping_imports_running_at_once_store_each_intent_once():
    """Two bulk imports whose files share half their rows, racing batch by batch."""
    import random
    import uuid

    from pie.apps.intents.importing import intents_import

    reason("BUNDLE_PURCHASE")

    def rows(first: int, last: int) -> list:
        return [
            (
                n,
                {
                    "program_uuid": str(uuid.UUID(int=n % 7 + 1)),
                    "user_id": str(n % 500 + 1),
                    "intent_reason": "BUNDLE_PURCHASE",
                    "intent_certainty": "MAYBE",
                    "effective_time": (T0 + datetime.timedelta(seconds=n)).isoformat(),
                },
            )
            for n in range(first, last)
        ]

    # Shuffled: each batch touches keys all over the other file's range.
    files = [rows(0, 3000), rows(1500, 4500)]
    for seed, file in enumerate(files):
        random.Random(seed).shuffle(file)
    summaries, errors = [None, None], []
    barrier = threading.Barrier(2)

    def run(position: int) -> None:
        try:
            barrier.wait(timeout=30)
            summaries[position] = intents_import(rows=files[position], batch_size=100)
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert ProgramIntent.objects.count() == 4500
    assert sum(summary.inserted for summary in summaries) == 4500
    assert sum(summary.duplicates for summary in summaries) == 1500
    assert CurrentIntent.objects.count() == len({(n % 500, n % 7) for n in range(4500)})
    assert current_intents_check().differences == 0


def test_imports_and_posts_racing_on_the_same_learners_keep_the_best_intents_current(
    make_client,
):
    """An import and API writers on the same learners and programs at the same moment."""
    from pie.apps.intents.importing import intents_import

    rows = [
        (
            n,
            {
                "program_uuid": body(T0)["program_uuid"],
                "user_id": str(LEARNER if n % 2 else LEARNER + 1 + n % 5),
                "intent_reason": "BUNDLE_PURCHASE",
                "intent_certainty": ["MAYBE", "CERTAIN_YES", "CERTAIN_NO"][n % 3],
                "effective_time": (T0 + datetime.timedelta(seconds=n % 40)).isoformat(),
            },
        )
        for n in range(2, 1202)
    ]
    errors = []
    barrier = threading.Barrier(2)

    def run_import() -> None:
        try:
            barrier.wait(timeout=30)
            intents_import(rows=rows, batch_size=50)
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    importer = threading.Thread(target=run_import)
    importer.start()
    barrier.wait(timeout=30)
    bodies = [
        {**body(T0 + datetime.timedelta(seconds=n, microseconds=1)), "certainty": "CERTAIN_NO"}
        for n in range(THREADS)
    ]
    responses = post_at_once(make_client, bodies)
    importer.join(timeout=120)

    assert not errors, errors
    assert {response.status_code for response in responses} == {201}
    assert current_intents_check().differences == 0


def test_an_import_leaves_another_threads_connection_working():
    """
    The import forks its CSV reader only in a one-thread process. In a forked child, another
    thread's connection is garbage (its thread is gone there), and once the child's garbage
    collector frees it, the driver says goodbye to the server on the socket the parent's
    thread still uses (forked.py). The rows below make the reader collect at once, as a long
    import's reader would sooner or later.
    """
    import gc

    from pie.apps.intents.importing import intents_import

    reason("BUNDLE_PURCHASE")
    connected, imported, outcome = threading.Event(), threading.Event(), []

    def hold_a_connection() -> None:
        try:
            outcome.append(ProgramIntent.objects.count())
            connected.set()
            imported.wait(timeout=60)
            outcome.append(ProgramIntent.objects.count())
        except Exception as error:
            outcome.append(error)
        finally:
            connection.close()

    def rows():
        gc.collect()
        for n in range(50):
            yield (
                n,
                {
                    "program_uuid": "3a0fd5a0-f5c0-4b1f-a3b8-f0f4c6a7e9d1",
                    "user_id": str(n + 1),
                    "intent_reason": "BUNDLE_PURCHASE",
                    "intent_certainty": "MAYBE",
                    "effective_time": T0.isoformat(),
                },
            )

    holder = threading.Thread(target=hold_a_connection)
    holder.start()
    assert connected.wait(timeout=30)
    summary = intents_import(rows=rows(), batch_size=20)
    imported.set()
    holder.join(timeout=60)
    assert summary.inserted == 50
    assert outcome == [0, 50]

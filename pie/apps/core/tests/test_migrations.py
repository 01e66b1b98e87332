"""Upgrading a deployment: accounts that tokens created before core.0002 keep working."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("core", "0001_initial")]
AFTER = [("core", "0002_jwt_accounts_and_retired_learners")]


@pytest.mark.django_db(transaction=True)
def test_0002_marks_token_accounts_and_remembers_learners_retired_before_it():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old_apps = executor.loader.project_state(BEFORE).apps
    OldUser = old_apps.get_model("core", "User")
    # As edx-drf-extensions' get_or_create left them: no password at all.
    OldUser.objects.create(username="learner7", lms_user_id=7, password="")
    OldUser.objects.create(username="credentials_worker", password="")
    # createsuperuser stores a hash; a scrubbed (retired) learner an unusable marker.
    OldUser.objects.create(username="opsadmin", password="md5$salt$hash", is_superuser=True)
    OldUser.objects.create(
        username="retired_user_0123abcd", lms_user_id=8, password="!unusable", is_active=False
    )

    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    new_apps = executor.loader.project_state(AFTER).apps
    User = new_apps.get_model("core", "User")
    RetiredLearner = new_apps.get_model("core", "RetiredLearner")
    marked = dict(User.objects.values_list("username", "created_by_jwt"))
    assert marked == {
        "learner7": True,
        "credentials_worker": True,
        "opsadmin": False,
        "retired_user_0123abcd": False,
    }
    assert list(RetiredLearner.objects.values_list("lms_user_id", flat=True)) == [8]
    # Leave the schema as the rest of the suite expects it.
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_0003_renames_created_by_jwt_to_is_lms_account_keeping_every_value():
    before = [("core", "0002_jwt_accounts_and_retired_learners")]
    after = [("core", "0003_rename_created_by_jwt_is_lms_account")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    OldUser = executor.loader.project_state(before).apps.get_model("core", "User")
    OldUser.objects.create(username="learner7", lms_user_id=7, created_by_jwt=True)
    OldUser.objects.create(username="opsadmin", password="md5$salt$hash", created_by_jwt=False)

    executor = MigrationExecutor(connection)
    executor.migrate(after)
    User = executor.loader.project_state(after).apps.get_model("core", "User")

    assert dict(User.objects.values_list("username", "is_lms_account")) == {
        "learner7": True,
        "opsadmin": False,
    }
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

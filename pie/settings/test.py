"""Settings pytest uses: SQLite in memory unless DATABASE_URL names another database."""

import os
import warnings

from jwt.warnings import InsecureKeyLengthWarning

from pie.settings.base import *  # noqa: F403
from pie.settings.base import database_from_url

SECRET_KEY = "pie-test-insecure-secret-key"
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]

DATABASES = {"default": database_from_url(os.environ.get("DATABASE_URL") or "sqlite://:memory:")}

JWT_AUTH["JWT_ISSUERS"] = [  # noqa: F405
    {
        "ISSUER": "http://test.pie/oauth2",
        "AUDIENCE": "pie-test-audience",
        "SECRET_KEY": "pie-test-jwt-secret",
    }
]

PIE_DEV_TOKENS_ENABLED = True

# Only the event bus round-trip test talks to Redis, and it skips when Redis is unreachable
# (unless PIE_REQUIRE_REDIS=1). Each run uses its own topic prefix.
EVENT_BUS_REDIS_CONNECTION_URL = (
    os.environ.get("EVENT_BUS_REDIS_CONNECTION_URL") or "redis://127.0.0.1:6379/"
)
EVENT_BUS_TOPIC_PREFIX = "test"

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# The development JWT secrets are short by design (devstack's is "lms-secret");
# production.py refuses short secrets instead.
warnings.filterwarnings("ignore", category=InsecureKeyLengthWarning)

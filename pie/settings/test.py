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

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# The development JWT secrets are short by design (devstack's is "lms-secret");
# production.py refuses short secrets instead.
warnings.filterwarnings("ignore", category=InsecureKeyLengthWarning)

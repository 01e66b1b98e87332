"""Laptop and devstack settings: SQLite by default, devstack's JWT secrets.

These values are public (they are devstack's defaults), which is why production.py refuses
every one of them.
"""

import os
import warnings

from jwt.warnings import InsecureKeyLengthWarning

from pie.settings.base import *  # noqa: F403

DEBUG = os.environ.get("DEBUG", "true").lower() in ("1", "true", "yes")
SECRET_KEY = os.environ.get("SECRET_KEY", "pie-local-insecure-secret-key")  # noqa: F405
ALLOWED_HOSTS = ["localhost", "127.0.0.1", "[::1]", "pie.app"]

# Devstack's LMS signs tokens with this secret, issuer and audience, so tokens from a local
# LMS work against a local PIE.
JWT_AUTH["JWT_ISSUERS"] = [  # noqa: F405
    {
        "ISSUER": "http://localhost:18000/oauth2",
        "AUDIENCE": "lms-key",
        "SECRET_KEY": "lms-secret",
    }
]
JWT_AUTH["JWT_AUTH_COOKIE_SECURE"] = False  # noqa: F405

# Staff sign-in through devstack's LMS: register an OAuth2 application there with these
# (docs/operations.rst, "Staff sign-in"), as devstack's provisioning does for credentials.
SOCIAL_AUTH_EDX_OAUTH2_KEY = "pie-sso-key"
SOCIAL_AUTH_EDX_OAUTH2_SECRET = "pie-sso-secret"
SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT = "http://localhost:18000"
SOCIAL_AUTH_EDX_OAUTH2_PUBLIC_URL_ROOT = "http://localhost:18000"
SOCIAL_AUTH_EDX_OAUTH2_LOGOUT_URL = "http://localhost:18000/logout"

# Devstack's micro-frontends: profile, learner dashboard, account, authn, learning.
DEVSTACK_MFE_ORIGINS = [f"http://localhost:{port}" for port in (1995, 1996, 1997, 1999, 2000)]
CORS_ALLOWED_ORIGINS = DEVSTACK_MFE_ORIGINS
CSRF_TRUSTED_ORIGINS = DEVSTACK_MFE_ORIGINS

PIE_DEV_TOKENS_ENABLED = True

# A Redis on this machine for `./manage.py consume_events` (devstack's credentials publishes
# with the prefix "dev"). `make run` and `make test` do not need it.
EVENT_BUS_REDIS_CONNECTION_URL = (
    os.environ.get("EVENT_BUS_REDIS_CONNECTION_URL") or "redis://localhost:6379/"
)
EVENT_BUS_TOPIC_PREFIX = os.environ.get("EVENT_BUS_TOPIC_PREFIX", "dev")
# Shorter in the event bus tests, which take the database away on purpose.
PIE_EVENT_BUS_DATABASE_OUTAGE_SECONDS = float(
    os.environ.get("PIE_EVENT_BUS_DATABASE_OUTAGE_SECONDS") or 300
)

# `make serve` runs gunicorn with DEBUG=false; the admin still gets its CSS and JavaScript.
PIE_SERVE_STATIC_FILES = True

# The development JWT secrets are short by design (devstack's is "lms-secret");
# production.py refuses short secrets instead.
warnings.filterwarnings("ignore", category=InsecureKeyLengthWarning)

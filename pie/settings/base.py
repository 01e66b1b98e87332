"""Settings shared by every PIE environment.

Environment-specific modules (local, test, production) import everything from here and
override what differs. Nothing secret is set here: secrets come from local.py/test.py
(development values) or from the operator's configuration (production.py).
"""

import os
from pathlib import Path

import dj_database_url
from corsheaders.defaults import default_headers as cors_default_headers

BASE_DIR = Path(__file__).resolve().parent.parent.parent

SECRET_KEY = os.environ.get("SECRET_KEY", "")
DEBUG = False
ALLOWED_HOSTS: list[str] = []

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    # Swagger UI's JavaScript and CSS as static files: /api-docs/ loads nothing from a CDN.
    "drf_spectacular_sidecar",
    "corsheaders",
    # Staff sign in with their LMS account: social-auth's storage (the link between an LMS
    # username and PIE's account) and views, under edx-auth-backends' EdXOAuth2.
    "social_django",
    # GET /csrf/api/v1/token, where micro-frontends fetch a CSRF token before a write.
    "csrf.apps.CsrfAppConfig",
    "pie.apps.core",
    "pie.apps.intents",
    # The Open edX event bus: openedx_events provides the signals and `consume_events`;
    # edx_event_bus_redis adds `produce_event` (its consumer is named by EVENT_BUS_CONSUMER).
    "openedx_events",
    "edx_event_bus_redis",
]

MIDDLEWARE = [
    "edx_django_utils.cache.middleware.RequestCacheMiddleware",
    # edx-django-utils' monitoring, as openedx/credentials lists it (below the request cache,
    # which holds the attributes until the response). Not MonitoringMemoryMiddleware nor
    # FrontendMonitoringMiddleware: both are switched by django-waffle, which PIE does not
    # install, and PIE serves no learner-facing HTML. They report to the backends named by
    # OPENEDX_TELEMETRY (none by default).
    "edx_django_utils.monitoring.MonitoringSupportMiddleware",
    "edx_django_utils.monitoring.DeploymentMonitoringMiddleware",
    "edx_django_utils.monitoring.CookieMonitoringMiddleware",
    "pie.apps.core.middleware.RequestLoggingMiddleware",
    # Before SecurityMiddleware and CommonMiddleware, so that a preflight is answered (and
    # never redirected) and every response carries the CORS headers.
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Rebuilds the JWT from the LMS's split cookie pair (header.payload + signature).
    "edx_rest_framework_extensions.auth.jwt.middleware.JwtAuthCookieMiddleware",
    "edx_rest_framework_extensions.auth.jwt.middleware.EnsureJWTAuthSettingsMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # A sign-in through the LMS that fails (refused, cancelled, stale) is a page, not a 500.
    "pie.apps.core.sso.SignInErrorMiddleware",
]

ROOT_URLCONF = "pie.urls"
WSGI_APPLICATION = "pie.wsgi.application"
AUTH_USER_MODEL = "core.User"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "pie.apps.core.sso.sign_in_context",
            ],
        },
    },
]


def database_from_url(url: str) -> dict:
    """Build a DATABASES entry from a URL, with the options each backend needs to be correct."""
    config = dj_database_url.parse(url, conn_max_age=int(os.environ.get("CONN_MAX_AGE", "0")))
    engine = config["ENGINE"]
    if engine == "django.db.backends.mysql":
        config.setdefault("OPTIONS", {}).update(
            {
                # utf8mb4 stores every UTF-8 character; strict mode turns silent truncation
                # into errors; READ COMMITTED avoids gap-lock deadlocks on concurrent inserts.
                "charset": "utf8mb4",
                "init_command": "SET sql_mode='STRICT_TRANS_TABLES'",
                "isolation_level": "read committed",
            }
        )
    if engine == "django.db.backends.sqlite3":
        config.setdefault("OPTIONS", {}).update(
            {
                # WAL lets readers run while a writer commits; NORMAL sync is durable in WAL
                # mode except on power loss; a larger page cache keeps the intents index in
                # memory during imports; IMMEDIATE makes concurrent writers wait for the lock
                # (up to "timeout" seconds) instead of failing with "database is locked".
                "init_command": (
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-65536"
                ),
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            }
        )
    if engine in ("django.db.backends.mysql", "django.db.backends.postgresql"):
        # Create test databases with a name derived from the configured one, so that
        # `make test-postgres` never touches the database a developer runs PIE on.
        config.setdefault("TEST", {})["NAME"] = f"test_{config['NAME']}"
    if engine == "django.db.backends.mysql":
        # Whatever the server's default character set, the test database holds utf8mb4 like
        # the connection (its collation is the server's default for utf8mb4).
        config["TEST"]["CHARSET"] = "utf8mb4"
    return config


# An empty DATABASE_URL (e.g. `DATABASE_URL= make run`) means the default, not an error.
DATABASES = {
    "default": database_from_url(
        os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'pie.sqlite3'}"
    )
}

AUTHENTICATION_BACKENDS = [
    # Staff sign in with their LMS account (pie.apps.core.sso, docs/operations.rst).
    "auth_backends.backends.EdXOAuth2",
    # Local accounts (createsuperuser): a laptop with no LMS, or an operator's way in.
    "django.contrib.auth.backends.ModelBackend",
    # Grants nothing to local accounts: what the LMS's staff may see and do in the admin.
    "pie.apps.core.backends.LmsStaffPermissionBackend",
]

# The LMS's OAuth2 application for PIE (docs/operations.rst, "Staff sign-in"). Empty: the
# admin offers local passwords only, and /login/ says that sign-in is not configured.
SOCIAL_AUTH_EDX_OAUTH2_KEY = ""
SOCIAL_AUTH_EDX_OAUTH2_SECRET = ""
# Where PIE's server reaches the LMS (the token exchange), and where browsers reach it
# (authorize and logout) when that differs, e.g. http://lms:8000 inside Docker.
SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT = ""
SOCIAL_AUTH_EDX_OAUTH2_PUBLIC_URL_ROOT = ""
# Where /logout/ sends the browser after ending PIE's session; empty: the LMS's /logout.
SOCIAL_AUTH_EDX_OAUTH2_LOGOUT_URL = ""
# Not auth-backends' default pipeline: its get_user_if_exists takes any account of that
# username, a local superuser's included. PIE's steps apply identity.py's rules instead.
SOCIAL_AUTH_PIPELINE = [
    "social_core.pipeline.social_auth.social_details",
    "social_core.pipeline.social_auth.social_uid",
    "social_core.pipeline.social_auth.auth_allowed",
    "social_core.pipeline.social_auth.social_user",
    "pie.apps.core.sso.lms_account",
    "pie.apps.core.sso.staff_only",
    "social_core.pipeline.social_auth.associate_user",
    # No load_extra_data: PIE keeps no LMS access or refresh token.
]
SOCIAL_AUTH_LOGIN_REDIRECT_URL = "/admin/"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "static"
# Serve static files from Django even with DEBUG off (pie/urls.py); local settings only.
PIE_SERVE_STATIC_FILES = False

# Request bodies: the API takes small JSON objects. Bodies above this size are refused with
# a 400 before they are parsed. PIE accepts no files: uploads are held in memory up to the
# same limit and never written to disk.
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024  # a backfill list of 1,000 intents fits
FILE_UPLOAD_MAX_MEMORY_SIZE = DATA_UPLOAD_MAX_MEMORY_SIZE
FILE_UPLOAD_HANDLERS = ["django.core.files.uploadhandler.MemoryFileUploadHandler"]

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "pie.apps.core.authentication.PieJwtAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "edx_rest_framework_extensions.paginators.DefaultPagination",
    "DEFAULT_PARSER_CLASSES": [
        "pie.apps.core.api.parsers.BoundedJSONParser",
        # Forms for the browsable API.
        "pie.apps.core.api.parsers.JsonAwareFormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # Open edX ADR 0029 error envelope: {"type", "title", "status", "detail", "errors"}.
    "EXCEPTION_HANDLER": (
        "edx_rest_framework_extensions.errors.standardized_error_exception_handler"
    ),
    "PAGE_SIZE": 10,
}

# No JWT_PAYLOAD_USER_ATTRIBUTE_MAPPING: PIE maps a token's claims onto its account itself
# (pie.apps.core.identity: email, and administrator as is_staff), so that no setting can make
# a token grant more.
EDX_DRF_EXTENSIONS = {
    # Maps database outages to 503 and reshapes validation errors before the envelope.
    "STANDARDIZED_ERROR_BASE_HANDLER": "pie.apps.core.api.errors.pie_exception_handler",
}

# JWT verification. PIE decodes tokens with its own handler (pie.apps.core.authentication)
# so that a signature is always checked; see docs/decisions/0003-jwt-verification.rst.
# Issuers, secrets and public keys are set per environment.
JWT_AUTH = {
    "JWT_DECODE_HANDLER": "pie.apps.core.authentication.decode_jwt",
    "JWT_PAYLOAD_GET_USERNAME_HANDLER": "pie.apps.core.authentication.username_from_payload",
    "JWT_AUTH_HEADER_PREFIX": "JWT",
    "JWT_ALGORITHM": "HS256",
    "JWT_VERIFY_EXPIRATION": True,
    "JWT_VERIFY_AUDIENCE": True,
    "JWT_LEEWAY": 1,
    "JWT_SUPPORTED_VERSION": "1.2.0",
    "JWT_ISSUERS": [],
    "JWT_PUBLIC_SIGNING_JWK_SET": None,
    "JWT_AUTH_COOKIE": "edx-jwt-cookie",
    "JWT_AUTH_COOKIE_HEADER_PAYLOAD": "edx-jwt-cookie-header-payload",
    "JWT_AUTH_COOKIE_SIGNATURE": "edx-jwt-cookie-signature",
    "JWT_AUTH_REFRESH_COOKIE": "edx-jwt-refresh-cookie",
}

# Micro-frontends (docs/operations.rst, "Open edX integration"): frontend-platform's client
# sends the LMS's JWT cookies with credentials and the header USE-JWT-COOKIE, and preflights
# every request. Only the API and the CSRF token view answer cross-origin requests.
CORS_ALLOWED_ORIGINS: list[str] = []
CORS_ALLOW_CREDENTIALS = True
CORS_ALLOW_HEADERS = (*cors_default_headers, "use-jwt-cookie")
CORS_URLS_REGEX = r"^/(api|csrf)/"
# An origin that posts with a CSRF token must also be trusted by Django's CSRF check.
CSRF_TRUSTED_ORIGINS: list[str] = []
# PIE's own names, so that another service's cookies on a shared domain (the LMS's
# "csrftoken" and "sessionid") are never mistaken for PIE's.
CSRF_COOKIE_NAME = "pie_csrftoken"
SESSION_COOKIE_NAME = "pie_sessionid"

SPECTACULAR_SETTINGS = {
    "TITLE": "PIE: Program Intent and Engagement",
    "DESCRIPTION": (
        "Records why we believe a learner intends to complete a program, and answers "
        "each learner's best-known intent per program."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v[0-9]",
    # Swagger UI from drf-spectacular-sidecar's static files, served at STATIC_URL.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Usernames of other Open edX services' workers (their JWTs' preferred_username) allowed on
# the service API (/api/v1/learners/..., /api/v1/programs/...), besides staff.
PIE_SERVICE_WORKER_USERNAMES: list[str] = []
# The user edx-platform's retirement pipeline calls PIE as (POST /api/v1/retire_user/).
RETIREMENT_SERVICE_WORKER_USERNAME = "retirement_service_worker"

# edx-django-utils' monitoring: no New Relic or Datadog agent unless an operator adds one
# (e.g. ["edx_django_utils.monitoring.OpenTelemetryBackend"] with that agent installed).
# None would mean New Relic, edx-django-utils' default.
OPENEDX_TELEMETRY: list[str] = []

# The Open edX event bus (docs/event_bus.rst): `./manage.py consume_events` reads program
# certificate events from Redis Streams. Nothing else in PIE needs Redis. The producer is
# only used by tests and bench/events.py: PIE publishes no events.
EVENT_BUS_CONSUMER = "edx_event_bus_redis.RedisEventConsumer"
EVENT_BUS_PRODUCER = "edx_event_bus_redis.create_producer"
# e.g. redis://:PASSWORD@redis.example.com:6379/0 (rediss:// for TLS). None: no consumer.
EVENT_BUS_REDIS_CONNECTION_URL = os.environ.get("EVENT_BUS_REDIS_CONNECTION_URL") or None
# Streams are named "<prefix>-<topic>", so environments can share one Redis.
EVENT_BUS_TOPIC_PREFIX = os.environ.get("EVENT_BUS_TOPIC_PREFIX", "")
# How long a receiver holds an event while the database does not answer, retrying with
# backoff, before the consumer exits (status 75) without acknowledging it, so that the next
# consumer reads it again (pie/apps/intents/event_delivery.py). Five minutes covers a database
# restart or failover; a longer outage costs a restart of the consumer every five minutes.
PIE_EVENT_BUS_DATABASE_OUTAGE_SECONDS = 300.0
# How long the Redis consumer blocks waiting for an event (the library's default is 60 s):
# consume_intent_events checks for SIGTERM between reads, so it stops within 5 s, after
# acknowledging the event in hand. An idle consumer then asks Redis once every 5 s.
EVENT_BUS_REDIS_CONSUMER_POLL_TIMEOUT = 5

# create_dev_token signs tokens with the first issuer's secret; only development settings
# turn it on.
PIE_DEV_TOKENS_ENABLED = False

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "pie.apps.core.logging.RequestIdFilter"},
        "traceback_only": {"()": "pie.apps.core.logging.TracebackOnlyFilter"},
        "event_bus_personal_data": {"()": "pie.apps.core.logging.EventBusPersonalDataFilter"},
    },
    "formatters": {
        "standard": {
            "format": "%(asctime)s %(levelname)s %(process)d [%(name)s] "
            "[request_id %(request_id)s] %(message)s",
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "standard",
            "filters": ["request_id"],
        },
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        # A request is logged once, by pie.request (pie.apps.core.middleware). Runserver's
        # access log repeats it (4xx at WARNING, 5xx at ERROR), and so do django.request's
        # lines except those with a traceback (a view's exception outside DRF).
        "django.server": {"level": "CRITICAL"},
        "django.request": {"filters": ["traceback_only"]},
        # At INFO it logs the email copied from each new token: PII that PIE does not log.
        "edx_rest_framework_extensions.auth.jwt.authentication": {"level": "WARNING"},
        # Their error lines quote whole events, with the learner's email: see the filter.
        "edx_event_bus_redis.internal.consumer": {"filters": ["event_bus_personal_data"]},
        "edx_event_bus_redis.internal.producer": {"filters": ["event_bus_personal_data"]},
    },
}

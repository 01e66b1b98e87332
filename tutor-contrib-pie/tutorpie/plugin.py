"""
Tutor plugin for PIE (Program Intent and Engagement): configuration, PIE's settings file,
the ``pie`` and ``pie-consumer`` services for ``tutor local`` and ``tutor k8s``, the web proxy
route, the init tasks, and the credentials producer PIE's consumer reads from.

Everything is declared through Tutor's hooks (``tutor.hooks.Filters``); the templates and
patches are files next to this module.
"""

from __future__ import annotations

import os
from glob import glob
from importlib.resources import files
from urllib.parse import quote

from tutor import hooks

from .__about__ import __version__

TEMPLATES_ROOT = str(files("tutorpie") / "templates")
PATCHES_ROOT = str(files("tutorpie") / "patches")

# Settings named PIE_<key>. Operators change them with `tutor config save --set PIE_...`.
CONFIG_DEFAULTS = {
    "VERSION": __version__,
    "HOST": "pie.{{ LMS_HOST }}",
    # A local name by default: `docker build` tags it on the host that runs `tutor local`.
    # Kubernetes nodes pull images, so for `tutor k8s` set a name in your own registry.
    "DOCKER_IMAGE": "pie:{{ PIE_VERSION }}",
    "MYSQL_DATABASE": "pie",
    "MYSQL_USERNAME": "pie",
    "GUNICORN_WORKERS": 2,
    # The LMS user edx-platform's retirement driver calls services as; PIE and the LMS are
    # given the same name.
    "RETIREMENT_SERVICE_WORKER_USERNAME": "retirement_service_worker",
    "RETIREMENT_OAUTH2_KEY": "pie-retirement",
    # Other services' workers allowed on PIE's service API (besides staff).
    "SERVICE_WORKER_USERNAMES": [],
    # The LMS application that staff would sign in to PIE's admin with.
    "OAUTH2_KEY_SSO": "pie-sso",
    # The event bus consumer (`pie-consumer`); false: no such service.
    "RUN_CONSUMER": True,
    # The Redis and stream prefix that Tutor's LMS uses for the event bus
    # (apps/openedx/settings/partials/common_all.py: redis://@redis:6379/ and "dev").
    "EVENT_BUS_REDIS_CONNECTION_URL": (
        "redis://{% if REDIS_USERNAME and REDIS_PASSWORD %}{{ REDIS_USERNAME }}:"
        "{{ REDIS_PASSWORD }}{% endif %}@{{ REDIS_HOST }}:{{ REDIS_PORT }}/"
    ),
    "EVENT_BUS_TOPIC_PREFIX": "dev",
}
# Generated once by `tutor config save` and kept in config.yml.
CONFIG_UNIQUE = {
    "MYSQL_PASSWORD": "{{ 24|random_string }}",
    # PIE refuses a SECRET_KEY shorter than 50 characters.
    "SECRET_KEY": "{{ 64|random_string }}",
    "OAUTH2_SECRET_SSO": "{{ 32|random_string }}",
    "RETIREMENT_OAUTH2_SECRET": "{{ 32|random_string }}",
}

hooks.Filters.CONFIG_DEFAULTS.add_items(
    [(f"PIE_{key}", value) for key, value in CONFIG_DEFAULTS.items()]
)
hooks.Filters.CONFIG_UNIQUE.add_items(
    [(f"PIE_{key}", value) for key, value in CONFIG_UNIQUE.items()]
)

# Init tasks, in this order: the database and its user, the LMS accounts, then migrations.
for service in ("mysql", "lms", "pie"):
    with open(os.path.join(TEMPLATES_ROOT, "pie", "tasks", service, "init"), encoding="utf-8") as f:
        hooks.Filters.CLI_DO_INIT_TASKS.add_item((service, f.read()))

# PIE's image is built from PIE's repository (docs/tutor.rst), not from a template here:
# Tutor pulls and pushes it.
hooks.Filters.IMAGES_PULL.add_item(("pie", "{{ PIE_DOCKER_IMAGE }}"))
hooks.Filters.IMAGES_PUSH.add_item(("pie", "{{ PIE_DOCKER_IMAGE }}"))


@hooks.Filters.APP_PUBLIC_HOSTS.add()
def _pie_public_hosts(hosts: list[str], context_name: str) -> list[str]:
    return [*hosts, "{{ PIE_HOST }}"]


def _url_quote(value: object) -> str:
    """A user name or password inside DATABASE_URL: every reserved character percent-encoded."""
    return quote(str(value), safe="")


hooks.Filters.ENV_TEMPLATE_FILTERS.add_item(("pie_url_quote", _url_quote))


hooks.Filters.ENV_TEMPLATE_ROOTS.add_item(TEMPLATES_ROOT)
# templates/pie/apps/pie.yml is rendered to env/plugins/pie/apps/pie.yml.
hooks.Filters.ENV_TEMPLATE_TARGETS.add_item(("pie/apps", "plugins"))

for path in sorted(glob(os.path.join(PATCHES_ROOT, "*"))):
    with open(path, encoding="utf-8") as patch_file:
        hooks.Filters.ENV_PATCHES.add_item((os.path.basename(path), patch_file.read()))

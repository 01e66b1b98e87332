"""WSGI entry point (gunicorn pie.wsgi:application)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pie.settings.production")

application = get_wsgi_application()

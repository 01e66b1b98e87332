from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "pie.apps.core"
    label = "core"
    verbose_name = "Core"

    def ready(self):
        # Imported for their side effects: system checks and the OpenAPI security scheme.
        from pie.apps.core import checks  # noqa: F401
        from pie.apps.core.api import schema  # noqa: F401

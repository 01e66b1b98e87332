from django.apps import AppConfig


class IntentsConfig(AppConfig):
    name = "pie.apps.intents"
    label = "intents"
    verbose_name = "Program intents"

    def ready(self):
        # Connects the receivers of the Open edX events PIE learns intents from.
        from pie.apps.intents import handlers  # noqa: F401

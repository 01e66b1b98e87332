"""A telemetry backend for tests: what edx-django-utils would send to New Relic or Datadog."""

import contextlib

from edx_django_utils.monitoring import TelemetryBackend


class RecordingBackend(TelemetryBackend):
    """Keeps every custom attribute and span name in class-level lists, in order."""

    attributes: list[tuple[str, object]] = []
    spans: list[str] = []

    def set_attribute(self, key, value):
        self.attributes.append((key, value))

    def record_exception(self):
        pass

    def create_span(self, name, operation_name=None):
        self.spans.append(name)
        return contextlib.nullcontext()

    def tag_root_span_with_error(self, exception):
        pass

    def set_local_root_span_name(self, name, group=None, priority=None):
        pass

from drf_spectacular.extensions import OpenApiAuthenticationExtension, OpenApiViewExtension
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers


class PieJwtAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "pie.apps.core.authentication.PieJwtAuthentication"
    name = "jwtAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "An LMS JWT: `JWT <token>` or `Bearer <token>`.",
        }


class CsrfTokenResponse(serializers.Serializer):
    csrfToken = serializers.CharField(  # the name edx-drf-extensions answers with
        help_text="Send it back in the X-CSRFToken header of a write made with JWT cookies."
    )


class CsrfTokenViewSchema(OpenApiViewExtension):
    """edx-drf-extensions' GET /csrf/api/v1/token, which micro-frontends call before a write."""

    target_class = "csrf.api.v1.views.CsrfTokenView"

    def view_replacement(self):
        @extend_schema_view(
            get=extend_schema(
                summary="A CSRF token for writes made with the LMS's JWT cookies",
                responses=CsrfTokenResponse,
                auth=[],
                tags=["csrf"],
            )
        )
        class Fixed(self.target_class):
            pass

        return Fixed


class ErrorResponseSerializer(serializers.Serializer):
    """
    Every error PIE answers: Open edX's error envelope (ADR 0029). ``errors`` comes with a 400
    for invalid input, one list of messages per field; ``detail`` sums it up in one line.
    """

    # Written here rather than taken from edx-drf-extensions, whose serializer documents a
    # user_message PIE never sends and carries a docstring meant for developers, not callers.
    type = serializers.CharField(
        help_text="A URI naming the kind of error, e.g. https://docs.openedx.org/errors/validation."
    )
    title = serializers.CharField(help_text="The kind of error, e.g. Validation Error.")
    status = serializers.IntegerField(help_text="The HTTP status, repeated.")
    detail = serializers.CharField(help_text="What went wrong, in one line.")
    instance = serializers.CharField(help_text="The path of the request.")
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Invalid input only: the messages for each field.",
    )

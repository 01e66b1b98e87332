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

from drf_spectacular.extensions import OpenApiAuthenticationExtension


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

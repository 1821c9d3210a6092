"""Tells drf-spectacular how the API authenticates, so the schema and the docs page's
Authorize button offer `Authorization: Bearer <key>`. Imported by ApiConfig.ready()."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.ApiTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A key made on your Account page (API tokens), or by the administrator.",
        }

"""How our authenticators appear in the OpenAPI document (loaded in CoreConfig.ready)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class RawTokenScheme(OpenApiAuthenticationExtension):
    target_class = "batchplatform.authentication.RawTokenAuthentication"
    name = "apiToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "The raw API token, no scheme word: `Authorization: <token>`",
        }


class BasicScheme(OpenApiAuthenticationExtension):
    target_class = "batchplatform.authentication.BasicAuthentication"
    name = "basicAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "basic"}


class SessionScheme(OpenApiAuthenticationExtension):
    target_class = "batchplatform.authentication.SessionAuthentication"
    name = "cookieAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "cookie", "name": "sessionid"}

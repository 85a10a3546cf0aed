"""How the /solutions authenticator appears in the OpenAPI document (loaded in ProfilingConfig.ready)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class SolutionsBasicScheme(OpenApiAuthenticationExtension):
    target_class = "profiling.api.authentication.SolutionsBasicAuthentication"
    name = "solutionsBasicAuth"  # answers 403, not 401, to bad credentials

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "basic"}

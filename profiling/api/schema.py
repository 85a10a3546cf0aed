"""How the /solutions surface appears in the OpenAPI document: its authenticator (loaded in
ProfilingConfig.ready) and its answers, text or JSON."""

import copy

from drf_spectacular.extensions import OpenApiAuthenticationExtension

from batchplatform.api.basic import PlainErrorAutoSchema


class SolutionsBasicScheme(OpenApiAuthenticationExtension):
    target_class = "profiling.api.authentication.SolutionsBasicAuthentication"
    name = "solutionsBasicAuth"  # answers 403, not 401, to bad credentials

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "basic"}


# The GUID answer of an upload or a submit when the client accepts JSON (profiling.api.base.key_answer).
KEY_ANSWER_SCHEMA = {
    "type": "object",
    "required": ["batchKey", "status"],
    "properties": {"batchKey": {"type": "string", "format": "uuid"}, "status": {"type": "string"}},
}
_TEXT = {"type": "string"}


class SolutionsAutoSchema(PlainErrorAutoSchema):
    """/solutions answers text, or JSON when the client accepts it: both are documented. A view
    declares its statuses with a string body; errors become the surface's Error in JSON, a string
    200 the batch key's answer. Bad credentials are a 403 here, never a 401."""

    error_media_types = ("text/plain", "application/json")

    def _error_statuses(self):
        statuses = [(code, text) for code, text in super()._error_statuses() if code not in ("401", "403")]
        if self.get_auth():
            statuses.insert(0, ("403", "Bad credentials, or a user of no organisation."))
        return statuses

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        for code, response in responses.items():
            if response.get("content") != {"application/json": {"schema": _TEXT}}:
                continue
            if code.startswith("2"):
                response["content"] = {
                    "text/plain": {"schema": _TEXT},
                    "application/json": {"schema": copy.deepcopy(KEY_ANSWER_SCHEMA)},
                }
            else:
                responses[code] = self._error_response(response.get("description") or "", code)
        return responses

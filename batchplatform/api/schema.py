"""The OpenAPI document says what each surface really answers.

Loaded in CoreConfig.ready for the authentication schemes. Each surface's base view sets a
`SurfaceAutoSchema` subclass that knows its error format (and, for /v1, its envelope), so a view
declares only its own bodies and status codes; `response_links` adds OpenAPI links from a
response to the operations its ids open, which drf-spectacular has no helper for.
"""

import copy

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ResolvedComponent

_LINKS_ATTRIBUTE = "_openapi_links"
_UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def link(operation_id: str, description: str = "", request_body: dict | None = None, **parameters: str) -> dict:
    """An OpenAPI link: `parameters` map the target's parameter names to runtime expressions,
    e.g. link("v1_plugins_retrieve", plugin_id="$response.body#/data/id")."""
    definition = {"operationId": operation_id, "parameters": parameters}
    if request_body is not None:
        definition["requestBody"] = request_body
    if description:
        definition["description"] = description
    return definition


def response_links(status_code: int, **links: dict):
    """Decorates a view method: its `status_code` response links to the named operations."""

    def decorate(method):
        declared = dict(getattr(method, _LINKS_ATTRIBUTE, {}))
        declared.setdefault(str(status_code), {}).update(links)
        setattr(method, _LINKS_ATTRIBUTE, declared)
        return method

    return decorate


class SurfaceAutoSchema(AutoSchema):
    """Adds the surface's errors (explicit where a cause is certain, `default` for the rest) and
    the links a view method declared with `response_links`."""

    # Set by each surface: the component name and schema of its error body, per media type.
    error_component_name: str = ""
    error_schema: dict = {}
    error_media_types: tuple[str, ...] = ("application/json",)

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        for code, description in self._error_statuses():
            responses.setdefault(code, self._error_response(description, code))
        self._add_links(responses)
        return responses

    def _error_statuses(self) -> list[tuple[str, str]]:
        statuses = []
        has_input = self._get_request_body() is not None or any(
            parameter.get("in") == "query" for parameter in self._get_parameters()
        )
        if has_input:
            statuses.append(("400", "The request is malformed or invalid."))
        if self.get_auth():
            statuses.append(("401", "Missing or invalid credentials."))
        if self.method in _UNSAFE_METHODS and self.get_auth():
            statuses.append(("403", "Refused (e.g. a browser session without its CSRF token)."))
        if "{" in self.path or has_input:
            statuses.append(("404", "No such object in the caller's organisation."))
        if self.get_auth():
            statuses.append(("429", "Too many failed sign-ins: retry after `Retry-After` seconds."))
        statuses.append(("default", "Any other error, in the same shape."))
        return statuses

    def _error_response(self, description: str, code: str) -> dict:
        component = ResolvedComponent(
            name=self.error_component_name,
            type=ResolvedComponent.SCHEMA,
            # A copy: drf-spectacular's enum hook rewrites component schemas in place, and the
            # next document generated would refer to an enum component it never registered.
            schema=copy.deepcopy(self.error_schema),
            object=self.error_component_name,
        )
        self.registry.register_on_missing(component)
        response = {
            "description": description,
            "content": {
                media_type: {"schema": {"type": "string"} if media_type == "text/plain" else component.ref}
                for media_type in self.error_media_types
            },
        }
        if code == "429":
            response["headers"] = {
                "Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait before trying again"}
            }
        return response

    def _add_links(self, responses: dict) -> None:
        # A viewset's handler is its action (view.action); an APIView's is named for the method.
        handler = getattr(self.view, getattr(self.view, "action", None) or self.method.lower(), None)
        for code, links in getattr(handler, _LINKS_ATTRIBUTE, {}).items():
            if code in responses:
                responses[code].setdefault("links", {}).update(links)


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

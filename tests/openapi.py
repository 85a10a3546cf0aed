"""Checks a test client's answer against the OpenAPI document, as the fuzzer does (tests/e2e/test_fuzz.py).

For regression tests of what the fuzzer found: `assert_documented(client, response)` fails with
schemathesis's own message when the answer breaks the document served at /api/schema/.
"""

from datetime import timedelta
from functools import cache

import httpx
import schemathesis
from schemathesis.specs.openapi.checks import response_schema_conformance


@cache
def _document(client_class) -> dict:
    return client_class().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()


def assert_documented(response) -> None:
    """The test client's `response` is what the document says its operation answers."""
    request = response.wsgi_request
    schema = schemathesis.openapi.from_dict(_document(type(response.client)))
    operation = schema.find_operation_by_path(request.method, request.path)
    assert operation is not None, f"{request.method} {request.path} is not in the document"
    answer = httpx.Response(
        response.status_code,
        headers=dict(response.headers),
        content=response.content,
        request=httpx.Request(request.method, f"http://testserver{request.get_full_path()}"),
    )
    answer.elapsed = timedelta(0)  # set by a transport on a real exchange
    path_parameters = {name: str(value) for name, value in request.resolver_match.kwargs.items()}
    operation.Case(path_parameters=path_parameters).validate_response(answer, checks=[response_schema_conformance])

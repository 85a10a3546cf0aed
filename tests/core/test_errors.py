"""Bad input gets a clear error in the surface's own format, never a 500."""

from pathlib import Path

import pytest
from django.db import close_old_connections
from django.urls import URLResolver, get_resolver

from batchplatform.api import errors
from batchplatform.api.errors import ERROR_FORMATS, error_format_of_view
from tests.database import end_the_connection_from_the_server

pytestmark = pytest.mark.urls("tests.core.urls")


def assert_v1_error(response, status, code):
    assert response.status_code == status, response.content
    body = response.json()
    assert body["status"] == "error"
    assert body["error_code"] == code
    assert body["error"] and body["error_id"]
    return body


def test_unknown_v1_route_is_a_404_in_the_envelope(v1):
    assert_v1_error(v1.get("/v1/no/such/thing"), 404, "NOT_FOUND")


def test_unknown_ecc_route_is_a_404_in_plain_json(ecc):
    response = ecc.get("/ecc/v1/no-such-resource")
    assert response.status_code == 404
    assert response.json()["error"] == "NOT_FOUND"


def test_wrong_method_is_a_405_in_the_envelope(v1):
    assert_v1_error(v1.delete("/v1/connected_user"), 405, "METHOD_NOT_ALLOWED")


def test_malformed_json_is_a_400_in_the_envelope(v1):
    response = v1.post("/v1/_probe", data='{"name": ', content_type="application/json")
    body = assert_v1_error(response, 400, "MALFORMED_REQUEST")
    assert "JSON" in body["error"]


def test_validation_errors_name_the_field(v1):
    response = v1.post("/v1/_probe", {"name": "x" * 11, "count": -1}, format="json")
    body = assert_v1_error(response, 400, "VALIDATION_ERROR")
    assert "name:" in body["error"] and "count:" in body["error"]
    assert set(body["details"]) == {"name", "count"}


def test_unsupported_media_type_is_a_415(v1):
    assert_v1_error(v1.post("/v1/_probe", data="name=x", content_type="text/csv"), 415, "UNSUPPORTED_MEDIA_TYPE")


def test_an_oversized_body_is_a_413_not_a_500(v1, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    response = v1.post("/v1/_probe", data='{"name": "' + "x" * 5000 + '"}', content_type="application/json")
    assert_v1_error(response, 413, "PAYLOAD_TOO_LARGE")


def test_malformed_json_on_ecc_is_a_400_in_plain_json(ecc):
    response = ecc.post("/ecc/v1/_probe", data="{oops", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"] == "MALFORMED_REQUEST"


def test_a_crash_answers_500_in_the_envelope(v1):
    v1.raise_request_exception = False
    assert_v1_error(v1.get("/v1/_crash"), 500, "INTERNAL_ERROR")


@pytest.mark.parametrize(
    "path", ["/v1/connected_user", "/v1/plugins/0", "/v1/integration_batch_instances/0/executions/0"]
)
def test_options_describes_a_view_instead_of_failing(v1, path):
    response = v1.options(path)
    assert response.status_code == 200
    assert response.json()["data"]["name"]


@pytest.mark.parametrize(
    "path",
    ["/v1/integration_batch_instances/616091949846972952031678276042752", "/ecc/v1/orders/99999999999999999999999"],
)
def test_ids_too_large_for_the_database_are_a_404(v1, ecc, path):
    client = v1 if path.startswith("/v1") else ecc
    assert client.get(path).status_code == 404


def test_an_organisation_id_too_large_for_the_database_is_a_404(v1):
    assert_v1_error(v1.get("/v1/plugins", {"organisation_id": "9" * 40}), 404, "NOT_FOUND")


@pytest.mark.django_db(transaction=True)
def test_a_lost_database_connection_is_a_503_with_retry_after_and_the_next_request_reconnects(ecc):
    end_the_connection_from_the_server()
    ecc.raise_request_exception = False

    response = ecc.get("/ecc/v1/subscriptions")

    assert response.status_code == 503, response.content
    assert response.json()["error"] == "SERVICE_UNAVAILABLE"
    assert response["Retry-After"] == "5"
    # At the end of a request Django hands an unusable connection back (the pool drops it);
    # the test client skips that signal, so do what it does.
    close_old_connections()
    assert ecc.get("/ecc/v1/subscriptions").status_code == 200


# --- each surface declares its error format; the core names none -----------------------------


def test_the_format_follows_the_views_declaration_not_the_path(client, db):
    response = client.get("/elsewhere/_text_probe")
    assert response.status_code in (401, 403)
    assert response["Content-Type"].startswith("text/plain")
    json_response = client.get("/elsewhere/_text_probe", HTTP_ACCEPT="application/json")
    assert json_response.json()["error"] in ("NOT_AUTHENTICATED", "AUTHENTICATION_FAILED")


def test_an_unknown_route_answers_in_the_format_its_urls_module_declares(client, db):
    response = client.get("/solutions/no/such/thing")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/plain")
    assert response.content.decode() == "Not found."


def test_outside_every_surface_django_answers_its_own_404_page(client, db):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert not response["Content-Type"].startswith("application/json")


def _declarations(resolver, found):
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            found.append((str(pattern.pattern), getattr(pattern.urlconf_module, "error_format", None)))
            _declarations(pattern, found)
        else:
            found.append((str(pattern.pattern), error_format_of_view(pattern.callback)))
    return found


def test_every_declared_error_format_is_one_the_core_writes():
    declared = _declarations(get_resolver("batchplatform.urls"), [])
    assert {name for _, name in declared if name} <= set(ERROR_FORMATS)
    by_route = dict(declared)
    assert (by_route["v1/"], by_route["ecc/v1/"], by_route["solutions/"]) == ("envelope", "json", "text")


def test_the_core_error_module_names_no_surface():
    source = Path(errors.__file__).read_text()
    for prefix in ("/v1", "/ecc", "/solutions", '"v1"', '"ecc"', '"solutions"'):
        assert prefix not in source

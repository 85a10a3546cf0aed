"""The OpenAPI document says what each surface answers (batchplatform/api/schema.py, v1.py, basic.py)."""

from tests.openapi import assert_documented


def _document(client):
    return client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()


def _resolved(document, schema: dict) -> dict:
    if "$ref" in schema:
        return document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def test_every_v1_answer_is_described_in_its_envelope(client, db):
    document = _document(client)
    for path, operations in document["paths"].items():
        if not path.startswith("/v1/"):
            continue
        for method, operation in operations.items():
            for code, response in operation["responses"].items():
                for media_type, content in response.get("content", {}).items():
                    if media_type != "application/json":
                        continue  # a log's text or an artifact's bytes come as they are
                    status = _resolved(document, _resolved(document, content["schema"])["properties"]["status"])
                    expected = "ok" if code.startswith("2") else "error"
                    assert status["enum"] == [expected], (method, path, code)


def test_the_document_is_the_same_each_time_it_is_generated(client, db):
    first, second = _document(client), _document(client)
    assert first == second
    assert "EnvelopeErrorEnum" in second["components"]["schemas"]


def test_a_v1_page_carries_its_paging_fields(v1):
    answer = v1.get("/v1/plugins", {"max_results": 1})
    assert_documented(answer)
    assert set(answer.json()) == {"status", "data", "count", "total", "first_result", "max_results"}


def test_each_surface_describes_its_own_errors(v1, ecc):
    assert_documented(missing := v1.get("/v1/plugins/999999"))
    assert missing.json()["status"] == "error"
    assert_documented(bad_paging := v1.get("/v1/plugins", {"max_results": "many"}))
    assert bad_paging.json()["error_code"] == "INVALID_PAGING"
    assert_documented(unknown := ecc.get("/ecc/v1/orders/999999"))
    assert unknown.json()["status"] == 404


def test_a_create_links_to_the_reads_of_what_it_created(client, db):
    document = _document(client)
    links = document["paths"]["/v1/plugins"]["post"]["responses"]["201"]["links"]
    assert links["GetPlugin"] == {
        "operationId": "v1_plugins_retrieve",
        "parameters": {"plugin_id": "$response.body#/data/id"},
    }
    operation_ids = {o["operationId"] for ops in document["paths"].values() for o in ops.values()}
    for path, operations in document["paths"].items():
        for operation in operations.values():
            for response in operation["responses"].values():
                for name, link in response.get("links", {}).items():
                    assert link["operationId"] in operation_ids, (path, name)

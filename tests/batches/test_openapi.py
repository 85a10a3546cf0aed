"""The ECC bodies and routes in the OpenAPI document (batches/openapi.py, batches/schema_urls.py)."""

from tests.openapi import assert_documented


def test_the_events_long_poll_is_described_though_no_drf_view_serves_it(client, db):
    document = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    operation = document["paths"]["/ecc/v1/events/{event_type}"]["get"]
    assert operation["operationId"] == "ecc_events_get"
    assert {"200", "304", "401", "404"} <= set(operation["responses"])


def test_an_accepted_order_is_described_with_a_link_to_the_order(ecc):
    accepted = ecc.post("/ecc/v1/subscriptions", {"iccid": "89461177710001700003"}, format="json")
    assert accepted.status_code == 202
    assert_documented(accepted)
    assert_documented(ecc.get(f"/ecc/v1/orders/{accepted.json()['orders'][0]}"))
    assert_documented(ecc.get("/ecc/v1/subscriptions"))


def test_a_batch_is_described_as_submitted_and_as_read(ecc):
    requests = [{"method": "POST", "resource": "subscriptions", "body": {"iccid": "89461177710001700003"}}]
    submitted = ecc.post("/ecc/v1/batches", {"requests": requests}, format="json")
    assert_documented(submitted)
    assert_documented(ecc.get(f"/ecc/v1/batches/{submitted.json()['batchid']}"))

"""/ecc/v1/: the resources to click through (a session in a browser) or read (HTTP Basic), and
the viewsets behind them answering as the views before them did."""

import pytest


def test_the_root_lists_the_resources_as_json_with_basic_auth(ecc):
    response = ecc.get("/ecc/v1/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert response.json() == {
        "subscriptions": "http://testserver/ecc/v1/subscriptions",
        "batches": "http://testserver/ecc/v1/batches",
        "orders": "http://testserver/ecc/v1/orders/{order_id}",
        "events": "http://testserver/ecc/v1/events/{event_type}",
    }


def test_a_signed_in_person_browses_from_the_root_to_the_subscriptions(client, member, subscriptions):
    client.force_login(member)
    root = client.get("/ecc/v1/", HTTP_ACCEPT="text/html")
    assert root.status_code == 200 and root["Content-Type"].startswith("text/html")
    assert 'href="http://testserver/ecc/v1/subscriptions"' in root.content.decode()
    listed = client.get("/ecc/v1/subscriptions", HTTP_ACCEPT="text/html")
    assert listed.status_code == 200 and "46708421488" in listed.content.decode()


def test_the_root_needs_credentials(client, db):
    response = client.get("/ecc/v1/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Basic")
    assert response.json()["status"] == 401


@pytest.mark.parametrize(
    ("url", "name", "allowed"),
    [
        ("/ecc/v1/subscriptions", "Subscription List", "GET, POST, HEAD, OPTIONS"),
        ("/ecc/v1/subscriptions/msisdn:46708421488", "Subscription Detail", "GET, PATCH, HEAD, OPTIONS"),
        ("/ecc/v1/subscriptions/msisdn:46708421488/services", "Subscription Services", "POST, PATCH, DELETE, OPTIONS"),
        ("/ecc/v1/subscriptions/msisdn:46708421488/services/cfu", "Subscription Service", "PATCH, DELETE, OPTIONS"),
        (
            "/ecc/v1/subscriptions/msisdn:46708421488/services/Data1G/a1",
            "Subscription Service Instance",
            "DELETE, OPTIONS",
        ),
        ("/ecc/v1/orders/1", "Order Detail", "GET, HEAD, OPTIONS"),
        ("/ecc/v1/batches", "Batch List", "POST, OPTIONS"),
        ("/ecc/v1/batches/x", "Batch Detail", "GET, HEAD, OPTIONS"),
    ],
)
def test_each_route_answers_options_and_refuses_other_methods_as_before(ecc, subscriptions, url, name, allowed):
    options = ecc.options(url)
    assert (options.status_code, options.json()["name"], options["Allow"]) == (200, name, allowed)
    refused = ecc.put(url, {}, format="json")
    assert refused.status_code == 405
    assert refused.json() == {"status": 405, "error": "METHOD_NOT_ALLOWED", "message": 'Method "PUT" not allowed.'}

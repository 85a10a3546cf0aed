import pytest

from batches.models import Batch, BatchRequest, Order, Subscription
from batchplatform.models import Event
from tests.batches.conftest import SEED_BATCH, assigned, submit


def test_the_seeds_batch_is_accepted_as_in_its_example(ecc, subscriptions):
    response = submit(ecc, SEED_BATCH)
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "INITIALISING"
    assert body["creationdate"].endswith("Z")
    assert body["requests"] == [
        {"requestid": "127322", "status": "APPROVED", "info": None, "orderid": None},
        {"requestid": "127323", "status": "APPROVED", "info": None, "orderid": None},
        {"requestid": "127324", "status": "APPROVED", "info": None, "orderid": None},
        {"requestid": "127325", "status": "REJECTED", "info": "Missing id parameter in body", "orderid": None},
    ]
    assert ecc.get(f"/ecc/v1/batches/{body['batchid']}").json()["requests"] == body["requests"]


def test_the_seeds_batch_is_processed_to_its_end(ecc, organisation, subscriptions, eager):
    response = eager(submit, ecc, SEED_BATCH)
    batch = ecc.get(f"/ecc/v1/batches/{response.json()['batchid']}").json()
    statuses = {r["requestid"]: (r["status"], r["info"]) for r in batch["requests"]}
    assert statuses == {
        "127322": ("COMPLETED", None),
        "127323": ("COMPLETED", None),
        "127324": ("COMPLETED", None),
        "127325": ("REJECTED", "Missing id parameter in body"),
    }
    assert batch["status"] == "PARTIALLY_COMPLETED"
    assert all(isinstance(r["orderid"], int) for r in batch["requests"][:3])
    assert Subscription.objects.get(msisdn="46708421499").iccid == "89461177710001700003"
    assert Subscription.objects.get(msisdn="46708421488").blocked is True
    assert assigned(subscriptions["46708421466"]) == ["Data1G/a1"]
    order = ecc.get(f"/ecc/v1/orders/{batch['requests'][1]['orderid']}").json()
    assert (order["status"], order["msisdn"]) == ("COMPLETED", "46708421488")
    events = Event.objects.filter(organisation=organisation).order_by("stream", "sequence")
    order_events = [e.payload for e in events if e.stream == "ecc.order"]
    assert {e["requestid"] for e in order_events} == {"127322", "127323", "127324"}
    assert all(e["batchid"] == batch["batchid"] for e in order_events)
    assert [e.payload["status"] for e in events if e.stream == "ecc.batch"] == ["PARTIALLY_COMPLETED"]


def test_a_subscription_that_does_not_exist_fails_without_an_order(ecc, subscriptions, eager):
    body = {
        "requests": [{"method": "PATCH", "resource": "subscriptions/msisdn:46799999999", "body": {"blocked": True}}]
    }
    batch = ecc.get(f"/ecc/v1/batches/{eager(submit, ecc, body).json()['batchid']}").json()
    assert batch["requests"] == [
        {"requestid": None, "status": "FAILED", "info": "Subscription not found", "orderid": None}
    ]
    assert batch["status"] == "PARTIALLY_COMPLETED"
    assert not Order.objects.exists()


def test_another_organisations_subscription_is_not_found_in_a_batch(ecc, subscriptions, foreign_subscription, eager):
    body = {
        "requests": [{"method": "PATCH", "resource": "subscriptions/msisdn:46700000001", "body": {"blocked": True}}]
    }
    batch = ecc.get(f"/ecc/v1/batches/{eager(submit, ecc, body).json()['batchid']}").json()
    assert batch["requests"][0]["info"] == "Subscription not found"
    foreign_subscription.refresh_from_db()
    assert foreign_subscription.blocked is False


def test_requests_for_the_same_subscription_are_serialised_not_failed(ecc, subscriptions, eager):
    """Create, then address the new subscription by msisdn, block it, give it a service: in a
    single batch they wait for each other instead of failing."""
    body = {
        "requests": [
            {
                "method": "POST",
                "resource": "subscriptions",
                "body": {"msisdn": "46701112223", "iccid": "89461177710001711111"},
            },
            {"method": "PATCH", "resource": "subscriptions/msisdn:46701112223", "body": {"blocked": True}},
            {
                "method": "POST",
                "resource": "subscriptions/iccid:89461177710001711111/services",
                "body": {"id": "Data1G"},
            },
            {"method": "PATCH", "resource": "subscriptions/msisdn:46701112223", "body": {"state": "IN_USE"}},
        ]
    }
    batch = ecc.get(f"/ecc/v1/batches/{eager(submit, ecc, body).json()['batchid']}").json()
    assert [r["status"] for r in batch["requests"]] == ["COMPLETED"] * 4
    assert batch["status"] == "COMPLETED"
    created = Subscription.objects.get(msisdn="46701112223")
    assert (created.blocked, created.state, assigned(created)) == (True, "IN_USE", ["Data1G/a1"])


def test_a_multi_batch_stops_a_sequence_after_a_request_that_did_not_complete(ecc, subscriptions, eager):
    iccid = subscriptions["46708421488"].iccid
    other = subscriptions["46708421477"].iccid
    body = {
        "type": "multi",
        "requests": [
            {"method": "PATCH", "resource": f"subscriptions/iccid:{iccid}", "body": {"state": "IN_USE"}},
            {"method": "DELETE", "resource": f"subscriptions/iccid:{iccid}/services/cfu"},  # not assigned: FAILED
            {"method": "PATCH", "resource": f"subscriptions/iccid:{iccid}", "body": {"blocked": True}},
            {"method": "PATCH", "resource": f"subscriptions/iccid:{other}", "body": {"blocked": True}},
        ],
    }
    batch = ecc.get(f"/ecc/v1/batches/{eager(submit, ecc, body).json()['batchid']}").json()
    assert [r["status"] for r in batch["requests"]] == ["COMPLETED", "FAILED", "APPROVED", "COMPLETED"]
    assert batch["status"] == "PARTIALLY_COMPLETED"
    assert Subscription.objects.get(iccid=iccid).blocked is False


def test_a_multi_batch_request_without_an_iccid_is_rejected(ecc, subscriptions):
    body = {
        "type": "multi",
        "requests": [{"method": "PATCH", "resource": "subscriptions/msisdn:46708421488", "body": {"blocked": True}}],
    }
    request = submit(ecc, body).json()["requests"][0]
    assert request["status"] == "REJECTED" and "iccid" in request["info"]


def test_a_batch_where_everything_completes_is_completed(ecc, subscriptions, eager):
    body = {
        "requests": [
            {"method": "PATCH", "resource": f"subscriptions/msisdn:{m}", "body": {"blocked": True}}
            for m in subscriptions
        ]
    }
    batch = ecc.get(f"/ecc/v1/batches/{eager(submit, ecc, body).json()['batchid']}").json()
    assert batch["status"] == "COMPLETED"


@pytest.mark.parametrize(
    ("request_", "info"),
    [
        ({"method": "GET", "resource": "subscriptions"}, "Unsupported request: GET subscriptions"),
        (
            {"method": "PATCH", "resource": "subscriptions/phone:123", "body": {"blocked": True}},
            "Invalid subscription address",
        ),
        (
            {"method": "PATCH", "resource": "subscriptions/msisdn:46708421488", "body": {}},
            "Missing blocked or state parameter in body",
        ),
        (
            {"method": "PATCH", "resource": "subscriptions/msisdn:46708421488", "body": {"blocked": "yes"}},
            "Invalid blocked",
        ),
        (
            {"method": "PATCH", "resource": "subscriptions/msisdn:46708421488", "body": {"state": "DEAD"}},
            "Invalid state",
        ),
        (
            {"method": "POST", "resource": "subscriptions", "body": {"msisdn": "46708421499"}},
            "Missing iccid parameter in body",
        ),
        ({"method": "POST", "resource": "subscriptions", "body": {"iccid": 8946}}, "Invalid iccid"),
        (
            {"method": "POST", "resource": "subscriptions/msisdn:46708421488/services", "body": {"id": ["x"]}},
            "Invalid id",
        ),
        ({"method": "POST", "resource": "subscriptions/msisdn:46708421488/services", "body": "Data1G"}, "Invalid body"),
        ({"resource": "subscriptions"}, "A request needs a method and a resource"),
        ({"method": "DELETE", "resource": "subscriptions/msisdn:46708421488/services"}, "Missing id parameter in body"),
    ],
)
def test_requests_are_verified_on_arrival(ecc, subscriptions, request_, info):
    answer = submit(ecc, {"requests": [request_]}).json()["requests"][0]
    assert answer["status"] == "REJECTED"
    assert info in answer["info"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"requests": []}, "1 to 100 requests, not 0"),
        (
            {
                "requests": [{"method": "POST", "resource": "subscriptions", "body": {"iccid": "89461177710001700003"}}]
                * 101
            },
            "not 101",
        ),
        ({"type": "bulk", "requests": [{}]}, "Unknown batch type 'bulk'"),
        ({"type": "single"}, "Missing requests parameter"),
        ({"requests": "all of them"}, "Missing requests parameter"),
        ([{"method": "POST"}], "must be a batch"),
        ({"requests": ["PATCH subscriptions"]}, "requests[0] must be an object"),
        ({"requests": [{}], "priority": 1}, "Unknown batch parameter(s): priority"),
    ],
)
def test_a_body_that_is_not_a_batch_is_a_400_and_nothing_is_written(ecc, db, member, body, message):
    response = submit(ecc, body)
    assert response.status_code == 400
    assert message in response.json()["message"]
    assert not Batch.objects.exists() and not BatchRequest.objects.exists()


def test_malformed_json_is_a_400(ecc, member):
    response = ecc.post("/ecc/v1/batches", data='{"requests": [', content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"] == "MALFORMED_REQUEST"


def test_a_batch_needs_credentials(client, db):
    assert client.post("/ecc/v1/batches", {}, content_type="application/json").status_code == 401


def test_another_organisations_batch_is_a_404(ecc, ecc_stranger, subscriptions):
    batchid = submit(ecc, SEED_BATCH).json()["batchid"]
    assert ecc_stranger.get(f"/ecc/v1/batches/{batchid}").status_code == 404
    assert ecc.get("/ecc/v1/batches/not-a-uuid").status_code == 404
    assert ecc.get("/ecc/v1/batches/f81d4fae-7dec-11d0-a765-00a0c91e6bf6").status_code == 404


def test_the_same_idempotency_key_and_body_returns_the_first_answer(ecc, subscriptions):
    first = submit(ecc, SEED_BATCH, HTTP_IDEMPOTENCY_KEY="k-1")
    again = submit(ecc, SEED_BATCH, HTTP_IDEMPOTENCY_KEY="k-1")
    assert again.status_code == 202 and again.json() == first.json()
    assert Batch.objects.count() == 1
    other = submit(ecc, {**SEED_BATCH, "type": "multi"}, HTTP_IDEMPOTENCY_KEY="k-1")
    assert other.status_code == 422
    assert Batch.objects.count() == 1


def test_a_refused_batch_releases_its_idempotency_key(ecc, subscriptions):
    assert submit(ecc, {"requests": []}, HTTP_IDEMPOTENCY_KEY="k-3").status_code == 400
    assert submit(ecc, SEED_BATCH, HTTP_IDEMPOTENCY_KEY="k-3").status_code == 202


@pytest.mark.parametrize(
    "request_",
    [
        {"method": "PATCH", "resource": "/" * 300 + "subscriptions/msisdn:46708421488", "body": {"blocked": True}},
        {"method": "GET", "resource": "x" * 400},
        {"method": "P" * 50, "resource": "subscriptions"},
        {"method": "PATCH", "resource": "subscriptions/" + "a" * 280, "body": {"blocked": True}},
    ],
)
def test_oversized_requests_are_rejected_on_arrival_and_never_stall_the_batch(ecc, subscriptions, eager, request_):
    answer = eager(submit, ecc, {"requests": [request_]})
    assert answer.status_code == 202
    batch = ecc.get(f"/ecc/v1/batches/{answer.json()['batchid']}").json()
    assert batch["requests"][0]["status"] == "REJECTED"
    assert len(batch["requests"][0]["info"]) <= 300
    assert batch["status"] == "PARTIALLY_COMPLETED"


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        ({"requestid": "x" * 101}, "longer than 100 characters"),
        ({"requestid": True}, "must be a string"),
        ({"body": {"blocked": True, "note": "a\u0000b"}}, "NUL"),
    ],
)
def test_bad_request_fields_are_a_400_not_a_500(ecc, subscriptions, request_, message):
    body = {"requests": [{"method": "PATCH", "resource": "subscriptions/msisdn:46708421488", **request_}]}
    response = submit(ecc, body)
    assert response.status_code == 400
    assert message in response.json()["message"]
    assert not Batch.objects.exists()


def test_a_nul_in_a_standalone_body_or_a_username_is_refused_cleanly(ecc, client, subscriptions):
    response = ecc.patch(
        "/ecc/v1/subscriptions/msisdn:46708421488/services/cfu", {"forward-number": "1\u00002"}, format="json"
    )
    assert response.status_code == 400
    from tests.conftest import _basic

    assert client.get("/ecc/v1/subscriptions", HTTP_AUTHORIZATION=_basic("ali\u0000ce", "x")).status_code == 401


def test_a_batch_sent_as_a_form_is_a_415(ecc, subscriptions):
    response = ecc.post("/ecc/v1/batches", {"requests": "[]"}, format="multipart", HTTP_IDEMPOTENCY_KEY="k-form")
    assert response.status_code == 415
    assert response.json()["error"] == "UNSUPPORTED_MEDIA_TYPE"

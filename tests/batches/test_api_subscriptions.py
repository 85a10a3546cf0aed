import pytest

from batches.models import Order, Subscription
from tests.batches.conftest import assigned


def test_a_subscription_is_created_with_a_202_and_its_order(ecc, organisation, eager):
    response = eager(
        ecc.post, "/ecc/v1/subscriptions", {"msisdn": "46708421488", "iccid": "89461177710001700003"}, format="json"
    )
    assert response.status_code == 202
    (order_id,) = response.json()["orders"]
    order = ecc.get(f"/ecc/v1/orders/{order_id}").json()
    assert (order["orderId"], order["status"], order["iccid"]) == (order_id, "COMPLETED", "89461177710001700003")
    assert order["orderDate"].endswith("Z") and order["completionDate"].endswith("Z")
    detail = ecc.get("/ecc/v1/subscriptions/msisdn:46708421488").json()
    assert detail["iccid"] == "89461177710001700003"
    assert (detail["status"], detail["blocked"], detail["ongoing-orders"]) == ("BEFORE_FIRST_USE", False, [])
    assert ecc.get("/ecc/v1/subscriptions/iccid:89461177710001700003").json()["msisdn"] == "46708421488"


def test_a_sim_in_use_is_a_409(ecc, subscriptions):
    existing = subscriptions["46708421488"]
    response = ecc.post("/ecc/v1/subscriptions", {"msisdn": "46700000009", "iccid": existing.iccid}, format="json")
    assert response.status_code == 409
    assert "already in use" in response.json()["message"]


def test_block_state_assign_modify_withdraw_each_answer_202_with_an_order(ecc, subscriptions, eager):
    url = "/ecc/v1/subscriptions/msisdn:46708421488"
    steps = [
        (ecc.patch, url, {"blocked": True}),
        (ecc.patch, url, {"state": "IN_USE"}),
        (ecc.post, f"{url}/services", {"id": "Data1G", "limit": "100"}),
        (
            ecc.post,
            f"{url}/services",
            {"services": [{"id": "cfu", "forward-number": "467012312334"}, {"id": "Data1G"}]},
        ),
        (ecc.patch, f"{url}/services/cfu", {"forward-number": "467012312345"}),
        (ecc.delete, f"{url}/services/Data1G/a1", None),
    ]
    for method, path, body in steps:
        response = eager(method, path, body, format="json")
        assert response.status_code == 202, (path, response.content)
        assert Order.objects.get(pk=response.json()["orders"][0]).status == "COMPLETED"
    subscription = Subscription.objects.get(msisdn="46708421488")
    assert (subscription.blocked, subscription.state) == (True, "IN_USE")
    assert assigned(subscription) == ["Data1G/a2", "cfu"]
    services = {s["id"]: s for s in ecc.get(url).json()["services"]}
    assert services["cfu"]["forward-number"] == "467012312345"
    eager(ecc.delete, f"{url}/services/Data1G", None)
    assert assigned(subscription) == ["cfu"]


def test_one_outstanding_order_per_subscription(ecc, subscriptions):
    url = "/ecc/v1/subscriptions/msisdn:46708421488"
    assert ecc.patch(url, {"blocked": True}, format="json").status_code == 202  # not yet carried out
    response = ecc.patch(url, {"blocked": False}, format="json")
    assert response.status_code == 409
    assert ecc.get(url).json()["ongoing-orders"] == [Order.objects.get().pk]


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("patch", "/ecc/v1/subscriptions/msisdn:46799999999", {"blocked": True}, 404),
        ("patch", "/ecc/v1/subscriptions/phone:1", {"blocked": True}, 404),
        ("get", "/ecc/v1/subscriptions/msisdn:46700000001", None, 404),  # another organisation's
        ("patch", "/ecc/v1/subscriptions/msisdn:46700000001", {"blocked": True}, 404),
        ("post", "/ecc/v1/subscriptions/msisdn:46700000001/services", {"id": "cfu"}, 404),
        ("patch", "/ecc/v1/subscriptions/msisdn:46708421488", {"blocked": "yes"}, 400),
        ("patch", "/ecc/v1/subscriptions/msisdn:46708421488", {}, 400),
        ("post", "/ecc/v1/subscriptions/msisdn:46708421488/services", {"limit": 100}, 400),
        ("post", "/ecc/v1/subscriptions/msisdn:46708421488/services", {"id": "NoSuchService"}, 400),
        ("delete", "/ecc/v1/subscriptions/msisdn:46708421488/services/cfu", None, 400),  # not assigned
        ("post", "/ecc/v1/subscriptions", {"iccid": "12"}, 400),
        ("put", "/ecc/v1/subscriptions/msisdn:46708421488", {"blocked": True}, 405),
        ("get", "/ecc/v1/orders/999999", None, 404),
    ],
)
def test_bad_standalone_requests_get_clear_errors_and_no_order(
    ecc, subscriptions, foreign_subscription, method, path, body, status
):
    response = getattr(ecc, method)(path, body, format="json")
    assert response.status_code == status, response.content
    assert response.json()["message"]
    assert not Order.objects.exists()


def test_a_change_back_to_before_first_use_is_refused(ecc, subscriptions):
    Subscription.objects.filter(msisdn="46708421488").update(state="IN_USE")
    response = ecc.patch("/ecc/v1/subscriptions/msisdn:46708421488", {"state": "BEFORE_FIRST_USE"}, format="json")
    assert response.status_code == 409


def test_another_organisations_order_is_a_404(ecc, ecc_stranger, subscriptions):
    order_id = ecc.patch("/ecc/v1/subscriptions/msisdn:46708421488", {"blocked": True}, format="json").json()["orders"][
        0
    ]
    assert ecc_stranger.get(f"/ecc/v1/orders/{order_id}").status_code == 404


def test_subscriptions_are_listed_with_filters_sorting_and_paging(ecc, subscriptions, foreign_subscription):
    Subscription.objects.filter(msisdn="46708421477").update(blocked=True)
    listed = ecc.get("/ecc/v1/subscriptions").json()["subscriptions"]
    assert [s["msisdn"] for s in listed] == ["46708421488", "46708421477", "46708421466"]  # by iccid
    assert set(listed[0]) >= {"msisdn", "iccid", "blocked", "subscription-type", "ongoing-orders"}
    msisdns = lambda params: [s["msisdn"] for s in ecc.get("/ecc/v1/subscriptions", params).json()["subscriptions"]]  # noqa: E731
    assert msisdns({"order-by": "msisdn:desc"}) == ["46708421488", "46708421477", "46708421466"]
    assert msisdns({"order-by": ["blocked", "msisdn"]}) == ["46708421466", "46708421488", "46708421477"]
    assert msisdns({"blocked": "true"}) == ["46708421477"]
    assert msisdns({"msisdn": "prefix:4670842148"}) == ["46708421488"]
    assert msisdns({"iccid": subscriptions["46708421466"].iccid}) == ["46708421466"]
    assert msisdns({"offset": 1, "limit": 1}) == ["46708421477"]
    for bad in ({"limit": 101}, {"offset": -1}, {"order-by": "imsi"}, {"blocked": "maybe"}, {"limit": "ten"}):
        assert ecc.get("/ecc/v1/subscriptions", bad).status_code == 400, bad

"""batches.services.intake: a batch accepted, each request read or REJECTED, in one go."""

import pytest

from batches import services
from batches.models import Batch, BatchRequest
from batchplatform.errors import Invalid
from tests.batches.conftest import SEED_BATCH

NEW_ICCID = "89461177710001700099"


def test_a_batch_is_stored_with_each_request_approved_or_rejected(organisation, subscriptions):
    batch = services.submit_batch(organisation=organisation, payload=SEED_BATCH)
    requests = list(batch.requests.order_by("position"))
    assert (batch.status, batch.batch_type) == ("INITIALISING", "single")
    assert [r.status for r in requests] == ["APPROVED", "APPROVED", "APPROVED", "REJECTED"]
    assert [r.requestid for r in requests] == ["127322", "127323", "127324", "127325"]
    assert requests[3].info == "Missing id parameter in body"


def test_requests_on_one_subscription_share_a_group_key_whatever_the_address(organisation, subscriptions):
    payload = {
        "requests": [
            {
                "method": "POST",
                "resource": "subscriptions",
                "body": {"iccid": NEW_ICCID, "msisdn": "46700000099"},
            },
            {"method": "PATCH", "resource": "subscriptions/msisdn:46700000099", "body": {"blocked": True}},
            {"method": "PATCH", "resource": "subscriptions/msisdn:46708421488", "body": {"blocked": True}},
            {"method": "PATCH", "resource": "subscriptions/iccid:89461177710001700000", "body": {"state": "IN_USE"}},
        ]
    }
    batch = services.submit_batch(organisation=organisation, payload=payload)
    keys = list(batch.requests.order_by("position").values_list("group_key", flat=True))
    assert keys == ["89461177710001700099", "89461177710001700099", "89461177710001700000", "89461177710001700000"]


def test_a_multi_batch_request_must_name_its_iccid(organisation, subscriptions):
    payload = {
        "type": "multi",
        "requests": [{"method": "PATCH", "resource": "subscriptions/msisdn:46708421488", "body": {"blocked": True}}],
    }
    request = services.submit_batch(organisation=organisation, payload=payload).requests.get()
    assert (request.status, request.info) == (
        "REJECTED",
        "Missing iccid: every request of a multi batch must name its iccid",
    )


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ([], "must be a batch"),
        ({"requests": [], "extra": 1}, r"Unknown batch parameter\(s\): extra"),
        ({"type": "double", "requests": [{}]}, "Unknown batch type"),
        ({"requests": []}, "A batch holds 1 to"),
        ({"requests": ["x"]}, r"requests\[0\] must be an object"),
    ],
)
def test_a_payload_that_is_not_a_batch_is_invalid_and_nothing_is_written(organisation, payload, message):
    with pytest.raises(Invalid, match=message):
        services.submit_batch(organisation=organisation, payload=payload)
    assert not Batch.objects.exists() and not BatchRequest.objects.exists()

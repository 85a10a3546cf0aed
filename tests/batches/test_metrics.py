from prometheus_client.parser import text_string_to_metric_families

from batches.models import Order


def test_orders_needing_attention_are_in_the_metrics(client, settings, organisation):
    settings.METRICS_ENABLED = True
    Order.objects.create(organisation=organisation, iccid="89461177710001700003", operation="create")
    Order.objects.create(
        organisation=organisation, iccid="89461177710001700004", operation="create", needs_attention=True
    )
    text = client.get("/metrics", REMOTE_ADDR="127.0.0.1").content.decode()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert families["batchplatform_ecc_orders_needing_attention"].samples[0].value == 1
    by_status = {s.labels["status"]: s.value for s in families["batchplatform_ecc_orders"].samples}
    assert by_status == {"PROVISIONING": 2, "COMPLETED": 0, "CANCELED": 0}
    assert "batchplatform_ecc_batches" in families
    assert families["batchplatform_ecc_oldest_open_batch_seconds"].samples[0].value == 0

from prometheus_client.parser import text_string_to_metric_families

from plugins import services


def test_executions_by_status_and_the_oldest_due_one_are_in_the_metrics(client, settings, instance):
    settings.METRICS_ENABLED = True
    services.create_execution(instance=instance, user=None, expected_start_date="2026-01-01T00:00Z")
    done = services.create_execution(instance=instance, user=None, expected_start_date="2026-01-02T00:00Z")
    services.cancel_execution(execution=done)
    text = client.get("/metrics", REMOTE_ADDR="127.0.0.1").content.decode()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    by_status = {s.labels["status"]: s.value for s in families["batchplatform_executions"].samples}
    assert by_status["CANCELED"] == 1 and by_status["SUCCEEDED"] == 0
    assert by_status["PENDING"] + by_status["RUNNING"] + by_status["FAILED"] == 1  # a worker may have taken it
    assert families["batchplatform_execution_oldest_due_seconds"].samples[0].value >= 0

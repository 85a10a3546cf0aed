"""The /v1 bodies are what the OpenAPI document says, nulls included (found by the fuzzer)."""

from plugins import services
from plugins.models import Execution, IntegrationBatchInstance
from tests.openapi import assert_documented


def test_a_plugin_without_a_version_is_described_with_a_null_current_version(v1, plugin):
    assert_documented(listing := v1.get("/v1/plugins"))
    assert listing.json()["data"][0]["current_version_id"] is None
    assert_documented(v1.get(f"/v1/plugins/{plugin.pk}"))
    assert_documented(v1.put(f"/v1/plugins/{plugin.pk}", {"name": "renamed"}, format="json"))


def test_an_instance_whose_author_left_is_described_with_null_authors(v1, instance, member):
    services.update_instance(instance=instance, user=member, name="renamed")
    IntegrationBatchInstance.objects.filter(pk=instance.pk).update(created_by=None, last_modified_by=None)
    assert_documented(answer := v1.get(f"/v1/integration_batch_instances/{instance.pk}"))
    assert answer.json()["data"]["created_by"] is None


def test_an_execution_not_started_is_described_with_null_dates_and_user(v1, instance):
    created = v1.post(f"/v1/integration_batch_instances/{instance.pk}/executions", {}, format="json")
    assert_documented(created)
    execution_id = created.json()["data"]["id"]
    Execution.objects.filter(pk=execution_id).update(user=None)  # e.g. created by the schedule
    assert_documented(answer := v1.get(f"/v1/integration_batch_instances/{instance.pk}/executions/{execution_id}"))
    assert answer.json()["data"]["start_date"] is None
    assert answer.json()["data"]["user_id"] is None
    assert_documented(v1.get(f"/v1/integration_batch_instances/{instance.pk}/executions"))
    assert_documented(v1.get("/v1/integration_batch_instances.executions"))

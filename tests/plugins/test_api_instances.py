import pytest

from plugins.models import Execution, IntegrationBatchInstance
from tests.core.test_errors import assert_v1_error

BASE = {
    "group_id": "com.my-client.integration_batch",
    "artifact_id": "integration-batch-my-client",
    "version_id": "1.0.0",
    "name": "The name of my instance",
}


def pending(instance, when="2030-01-01T03:00Z", status="PENDING"):
    return Execution.objects.create(
        organisation=instance.organisation,
        instance=instance,
        version=instance.version,
        execution_type="CRON",
        expected_start_date=when,
        status=status,
    )


def test_an_instance_is_resolved_from_group_artifact_and_version(v1, version, organisation, member):
    response = v1.post(
        "/v1/integration_batch_instances", {**BASE, "cron": "0 3 * * *", "cron_status": "ACTIVE"}, format="json"
    )
    assert response.status_code == 201, response.content
    data = response.json()["data"]
    assert data["version_id"] == str(version.pk) and data["version_value"] == "1.0.0"
    assert data["organisation_id"] == str(organisation.pk)
    assert (data["ram_size"], data["cpu_size"], data["disk_size"]) == ("LOW", "LOW", "LOW")
    assert data["is_periodic"] is True and data["created_by"] == str(member.pk)
    assert isinstance(data["creation_ts"], int)


def test_a_non_periodic_instance_needs_no_cron(v1, version):
    data = v1.post("/v1/integration_batch_instances", {**BASE, "ram_size": "EXTRA_LARGE"}, format="json").json()["data"]
    assert data["cron"] is None and data["cron_status"] is None and data["is_periodic"] is False
    assert data["ram_size"] == "EXTRA_LARGE"


def test_the_version_may_be_given_by_id_or_left_to_the_current_one(v1, version):
    by_id = v1.post("/v1/integration_batch_instances", {**BASE, "version_id": str(version.pk)}, format="json")
    assert by_id.json()["data"]["version_value"] == "1.0.0"
    current = v1.post(
        "/v1/integration_batch_instances", {k: v for k, v in BASE.items() if k != "version_id"}, format="json"
    )
    assert current.json()["data"]["version_id"] == str(version.pk)


@pytest.mark.parametrize(
    ("change", "code", "words"),
    [
        ({"cron": "0 3 * * *"}, "CRON_WITHOUT_STATUS", "together"),
        ({"cron_status": "ACTIVE"}, "CRON_WITHOUT_STATUS", "together"),
        ({"cron": "61 * * * *", "cron_status": "ACTIVE"}, "INVALID_CRON", "minute field '61' is out of range 0-59"),
        ({"cron": "* * *", "cron_status": "ACTIVE"}, "INVALID_CRON", "expected 5"),
        ({"cron": "0 3 * * *", "cron_status": "SOMETIMES"}, "INVALID_CRON_STATUS", "ACTIVE or PAUSED"),
        ({"ram_size": "HUGE"}, "INVALID_SIZE", "ram_size"),
        ({"cpu_size": "low"}, "INVALID_SIZE", "cpu_size"),
        ({"disk_size": ""}, "INVALID_SIZE", "disk_size"),
        ({"artifact_id": "nope"}, "PLUGIN_NOT_FOUND", "nope"),
        ({"version_id": "9.9.9"}, "VERSION_NOT_FOUND", "9.9.9"),
    ],
)
def test_bad_instances_are_refused_with_a_clear_error(v1, version, change, code, words):
    body = assert_v1_error(v1.post("/v1/integration_batch_instances", {**BASE, **change}, format="json"), 400, code)
    assert words in body["error"]
    assert not IntegrationBatchInstance.objects.exists()


def test_an_instance_of_another_organisations_plugin_cannot_be_created(v1, foreign_instance, version):
    body = {**BASE, "group_id": "com.globex", "artifact_id": "secret"}
    assert_v1_error(v1.post("/v1/integration_batch_instances", body, format="json"), 400, "PLUGIN_NOT_FOUND")
    assert_v1_error(
        v1.post(
            "/v1/integration_batch_instances",
            {**BASE, "organisation_id": str(foreign_instance.organisation_id)},
            format="json",
        ),
        404,
        "NOT_FOUND",
    )


def test_instances_are_listed_with_filters(v1, instance, version):
    v1.post("/v1/integration_batch_instances", {**BASE, "name": "one-off"}, format="json")
    url = "/v1/integration_batch_instances"
    assert v1.get(url).json()["total"] == 2
    assert [i["name"] for i in v1.get(url, {"is_periodic": "true"}).json()["data"]] == ["nightly import"]
    assert [i["name"] for i in v1.get(url, {"is_periodic": "false"}).json()["data"]] == ["one-off"]
    assert v1.get(url, {"cron_status": "ACTIVE"}).json()["total"] == 1
    assert v1.get(url, {"group_id": BASE["group_id"], "artifact_id": BASE["artifact_id"]}).json()["total"] == 2
    assert v1.get(url, {"archived": "true"}).json()["total"] == 0
    assert_v1_error(v1.get(url, {"cron_status": "SOMETIMES"}), 400, "VALIDATION_ERROR")


def test_another_organisations_instance_is_a_404_everywhere(v1, foreign_instance):
    url = f"/v1/integration_batch_instances/{foreign_instance.pk}"
    for response in (
        v1.get(url),
        v1.put(url, {"name": "mine now"}, format="json"),
        v1.delete(url),
        v1.get(f"{url}/properties"),
        v1.put(f"{url}/properties/technical_name=one_more_property", {"value": {"value": "x"}}, format="json"),
        v1.get(f"{url}/executions"),
        v1.post(f"{url}/executions", {"parameters": {"execution_type": "MANUAL"}}, format="json"),
    ):
        assert_v1_error(response, 404, "NOT_FOUND")
    foreign_instance.refresh_from_db()
    assert foreign_instance.name == "theirs" and not foreign_instance.executions.exists()


def test_put_changes_only_what_it_sends(v1, instance):
    url = f"/v1/integration_batch_instances/{instance.pk}"
    data = v1.put(url, {"name": "renamed", "cpu_size": "LARGE"}, format="json").json()["data"]
    assert (data["name"], data["cpu_size"], data["cron"], data["cron_status"]) == (
        "renamed",
        "LARGE",
        "0 3 * * *",
        "ACTIVE",
    )
    assert_v1_error(v1.put(url, {"cron": None}, format="json"), 400, "CRON_WITHOUT_STATUS")
    data = v1.put(url, {"cron": None, "cron_status": None}, format="json").json()["data"]
    assert data["is_periodic"] is False


def test_pausing_cancels_coming_executions(v1, instance):
    coming, done = pending(instance), pending(instance, when="2020-01-01T03:00Z", status="SUCCEEDED")
    data = v1.put(f"/v1/integration_batch_instances/{instance.pk}", {"cron_status": "PAUSED"}, format="json").json()[
        "data"
    ]
    assert data["cron_status"] == "PAUSED"
    coming.refresh_from_db()
    done.refresh_from_db()
    assert (coming.status, done.status) == ("CANCELED", "SUCCEEDED")
    assert coming.end_date is not None


def test_deleting_an_instance_that_never_ran_deletes_it(v1, instance):
    response = v1.delete(f"/v1/integration_batch_instances/{instance.pk}")
    assert response.json()["data"]["outcome"] == "deleted"
    assert not IntegrationBatchInstance.objects.exists()


def test_deleting_an_instance_with_history_archives_it_and_cancels_what_was_coming(v1, instance):
    pending(instance, when="2020-01-01T03:00Z", status="FAILED")
    coming = pending(instance)
    assert v1.delete(f"/v1/integration_batch_instances/{instance.pk}").json()["data"]["outcome"] == "archived"
    instance.refresh_from_db()
    coming.refresh_from_db()
    assert instance.archived and instance.cron_status == "PAUSED" and coming.status == "CANCELED"


def test_deleting_an_instance_with_a_running_execution_is_refused(v1, instance):
    pending(instance, status="RUNNING")
    assert_v1_error(v1.delete(f"/v1/integration_batch_instances/{instance.pk}"), 409, "EXECUTION_RUNNING")
    assert IntegrationBatchInstance.objects.get().archived is False


def test_instance_properties_show_the_versions_with_the_instances_values(v1, instance):
    url = f"/v1/integration_batch_instances/{instance.pk}/properties"
    properties = {p["technical_name"]: p for p in v1.get(url).json()["data"]}
    assert properties["batch_size"]["value"] == {"value": 100}
    response = v1.put(
        f"{url}/technical_name=batch_size", {"value": {"value": 500}, "property_type": "INT"}, format="json"
    )
    assert response.json()["data"]["value"] == {"value": 500}
    assert {p["technical_name"]: p for p in v1.get(url).json()["data"]}["batch_size"]["value"] == {"value": 500}


@pytest.mark.parametrize(
    ("name", "value", "status", "code"),
    [
        ("provider", {"value": "someone else"}, 400, "PROPERTY_NOT_WRITABLE"),
        ("batch_size", {"value": "many"}, 400, "INVALID_PROPERTY_VALUE"),
        ("nonexistent", {"value": 1}, 404, "PROPERTY_NOT_FOUND"),
    ],
)
def test_instance_property_values_are_checked(v1, instance, name, value, status, code):
    url = f"/v1/integration_batch_instances/{instance.pk}/properties/technical_name={name}"
    assert_v1_error(v1.put(url, {"value": value}, format="json"), status, code)
    assert not instance.property_values.exists()

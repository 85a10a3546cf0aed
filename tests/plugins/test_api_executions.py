import pytest

from batchplatform.errors import Conflict
from plugins import services
from plugins.models import Execution
from tests.core.test_errors import assert_v1_error

TICK = 1562595783663


def create(v1, instance, **parameters):
    body = {"parameters": {"execution_type": "MANUAL", "expected_start_date": TICK, **parameters}}
    return v1.post(f"/v1/integration_batch_instances/{instance.pk}/executions", body, format="json")


def test_an_execution_is_created_pending_with_server_owned_fields(v1, instance, member, organisation):
    response = create(v1, instance)
    assert response.status_code == 201, response.content
    data = response.json()["data"]
    assert data["status"] == "PENDING"
    assert data["parameters"] == {"execution_type": "MANUAL", "expected_start_date": TICK}
    assert data["external_model_id"] == str(instance.pk)
    assert data["external_model_name"] == "PUBLIC_INTEGRATION_BATCH"
    assert data["job_type"] == "BATCH_INTEGRATION"
    assert (data["organisation_id"], data["user_id"]) == (str(organisation.pk), str(member.pk))
    assert data["start_date"] is None and data["error"] is None and data["result"] is None


def test_fields_the_server_owns_are_ignored_on_create(v1, instance):
    body = {
        "parameters": {"execution_type": "CRON", "expected_start_date": TICK},
        "status": "SUCCEEDED",
        "start_date": TICK,
        "job_type": "SOMETHING",
        "error": None,
        "external_model_id": "42",
    }
    data = v1.post(f"/v1/integration_batch_instances/{instance.pk}/executions", body, format="json").json()["data"]
    assert (data["status"], data["start_date"], data["external_model_id"]) == ("PENDING", None, str(instance.pk))


def test_one_execution_per_instance_and_expected_start_date(v1, instance):
    assert create(v1, instance).status_code == 201
    assert_v1_error(create(v1, instance), 409, "DUPLICATE_EXECUTION")
    assert Execution.objects.count() == 1


@pytest.mark.parametrize(
    "parameters",
    [
        {"execution_type": "SOMETIMES"},
        {"expected_start_date": "yesterday"},
        {"expected_start_date": 10**20},
        {"expected_start_date": True},
    ],
)
def test_bad_execution_parameters_are_refused(v1, instance, parameters):
    assert_v1_error(create(v1, instance, **parameters), 400, "VALIDATION_ERROR")
    assert not Execution.objects.exists()


def test_an_archived_instance_takes_no_execution(v1, instance):
    services.update_instance(instance=instance, user=None, archived=True)
    assert_v1_error(create(v1, instance), 400, "INSTANCE_ARCHIVED")


def test_a_client_may_cancel_but_not_finish_an_execution(v1, instance):
    execution_id = create(v1, instance).json()["data"]["id"]
    url = f"/v1/integration_batch_instances/{instance.pk}/executions/{execution_id}"
    assert_v1_error(v1.put(url, {"status": "SUCCEEDED"}, format="json"), 400, "STATUS_NOT_ALLOWED")
    assert_v1_error(v1.put(url, {"status": "RUNNING"}, format="json"), 400, "STATUS_NOT_ALLOWED")
    data = v1.put(url, {"status": "CANCELED"}, format="json").json()["data"]
    assert data["status"] == "CANCELED" and data["end_date"] is not None
    assert v1.put(url, {"status": "CANCELED"}, format="json").status_code == 200  # idempotent


def test_a_finished_execution_cannot_be_canceled(v1, instance):
    execution = services.create_execution(instance=instance, user=None, expected_start_date="2026-01-01T00:00Z")
    services.transition(execution, to="RUNNING")
    services.transition(execution, to="SUCCEEDED", result={"rows": 3})
    url = f"/v1/integration_batch_instances/{instance.pk}/executions/{execution.pk}"
    assert_v1_error(v1.put(url, {"status": "CANCELED"}, format="json"), 409, "ILLEGAL_TRANSITION")


def test_the_transition_function_refuses_illegal_moves(instance):
    execution = services.create_execution(instance=instance, user=None, expected_start_date="2026-01-01T00:00Z")
    for illegal in ("SUCCEEDED", "FAILED", "PENDING"):
        with pytest.raises(Conflict):
            services.transition(execution, to=illegal)
    running = services.transition(execution, to="RUNNING")
    assert running.start_date is not None
    stale = Execution.objects.get(pk=execution.pk)
    services.transition(running, to="FAILED", error={"message": "boom"})
    stale.status = "RUNNING"  # a second worker that read the row before the first finished
    with pytest.raises(Conflict, match="meanwhile"):
        services.transition(stale, to="SUCCEEDED")
    assert Execution.objects.get(pk=execution.pk).status == "FAILED"


def test_executions_are_listed_and_filtered(v1, instance):
    for offset in range(3):
        create(v1, instance, expected_start_date=TICK + offset * 1000)
    create(v1, instance, expected_start_date=TICK + 10_000, execution_type="CRON")
    url = f"/v1/integration_batch_instances/{instance.pk}/executions"
    assert v1.get(url).json()["total"] == 4
    assert v1.get(url, {"execution_type": "CRON"}).json()["total"] == 1
    assert v1.get(url, {"status": "PENDING"}).json()["total"] == 4
    assert v1.get(url, {"status": "RUNNING"}).json()["total"] == 0
    window = {"expected_start_date_from": TICK + 1000, "expected_start_date_to": TICK + 10_000}
    assert v1.get(url, window).json()["total"] == 2
    assert_v1_error(v1.get(url, {"expected_start_date_from": "monday"}), 400, "VALIDATION_ERROR")
    assert_v1_error(v1.get(url, {"status": "DONE"}), 400, "VALIDATION_ERROR")


def test_the_organisation_wide_list_shows_only_the_callers_executions(v1, v1_stranger, instance, foreign_instance):
    create(v1, instance)
    services.create_execution(instance=foreign_instance, user=None, expected_start_date="2026-01-01T00:00Z")
    page = v1.get("/v1/integration_batch_instances.executions").json()
    assert page["total"] == 1 and page["data"][0]["external_model_id"] == str(instance.pk)
    assert v1_stranger.get("/v1/integration_batch_instances.executions").json()["total"] == 1
    assert_v1_error(
        v1.get("/v1/integration_batch_instances.executions", {"organisation_id": foreign_instance.organisation_id}),
        404,
        "NOT_FOUND",
    )


def test_an_execution_is_deleted_unless_it_runs(v1, instance):
    execution = services.create_execution(instance=instance, user=None, expected_start_date="2026-01-01T00:00Z")
    url = f"/v1/integration_batch_instances/{instance.pk}/executions/{execution.pk}"
    services.transition(execution, to="RUNNING")
    assert_v1_error(v1.delete(url), 409, "EXECUTION_RUNNING")
    services.transition(execution, to="FAILED")
    assert v1.delete(url).status_code == 204
    assert_v1_error(v1.get(url), 404, "NOT_FOUND")


def test_an_execution_of_another_instance_is_not_found_under_this_one(v1, instance, version, member):
    other = services.create_instance(
        organisation=instance.organisation,
        user=member,
        name="other",
        group_id=version.plugin.group_id,
        artifact_id=version.plugin.artifact_id,
    )
    execution = services.create_execution(instance=other, user=None, expected_start_date="2026-01-01T00:00Z")
    assert_v1_error(
        v1.get(f"/v1/integration_batch_instances/{instance.pk}/executions/{execution.pk}"), 404, "NOT_FOUND"
    )

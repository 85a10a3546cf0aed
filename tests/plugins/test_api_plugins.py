import pytest

from plugins.models import Execution, Plugin, PluginVersion
from tests.core.test_errors import assert_v1_error
from tests.plugins.conftest import PROPERTIES, upload, zip_bytes

PLUGIN = {
    "plugin_type": "INTEGRATION_BATCH",
    "group_id": "com.my-client.integration_batch",
    "artifact_id": "integration-batch-my-client",
}


def test_creating_a_plugin_defaults_to_the_callers_organisation(v1, organisation):
    response = v1.post("/v1/plugins", PLUGIN, format="json")
    assert response.status_code == 201
    data = response.json()["data"]
    assert data["organisation_id"] == str(organisation.pk)
    assert data["current_version_id"] is None
    assert data["id"].isdigit()


def test_a_plugin_for_another_organisation_is_a_404(v1, other_organisation):
    response = v1.post("/v1/plugins", {**PLUGIN, "organisation_id": str(other_organisation.pk)}, format="json")
    assert_v1_error(response, 404, "NOT_FOUND")
    assert not Plugin.objects.exists()


def test_an_unknown_plugin_type_is_refused(v1):
    body = assert_v1_error(
        v1.post("/v1/plugins", {**PLUGIN, "plugin_type": "TOASTER"}, format="json"), 400, "UNKNOWN_PLUGIN_TYPE"
    )
    assert "INTEGRATION_BATCH" in body["error"]


def test_a_duplicate_group_and_artifact_is_a_409(v1, plugin):
    assert_v1_error(v1.post("/v1/plugins", PLUGIN, format="json"), 409, "DUPLICATE_PLUGIN")


def test_another_organisation_may_reuse_the_same_artifact(v1_stranger, plugin):
    assert v1_stranger.post("/v1/plugins", PLUGIN, format="json").status_code == 201


def test_plugins_are_listed_paged_and_filtered(v1, organisation):
    for n in range(5):
        v1.post("/v1/plugins", {**PLUGIN, "artifact_id": f"a{n}"}, format="json")
    v1.post("/v1/plugins", {**PLUGIN, "plugin_type": "RECOMMENDER", "artifact_id": "reco"}, format="json")
    page = v1.get("/v1/plugins", {"first_result": 2, "max_results": 2}).json()
    assert (page["status"], page["count"], page["total"], page["first_result"], page["max_results"]) == (
        "ok",
        2,
        6,
        2,
        2,
    )
    assert [p["artifact_id"] for p in page["data"]] == ["a2", "a3"]
    assert v1.get("/v1/plugins", {"plugin_type": "RECOMMENDER"}).json()["total"] == 1
    assert v1.get("/v1/plugins", {"artifact_id": "a4"}).json()["data"][0]["artifact_id"] == "a4"


@pytest.mark.parametrize(
    "params", [{"max_results": 0}, {"max_results": 100000}, {"first_result": -1}, {"first_result": "x"}]
)
def test_paging_is_bounded(v1, params):
    assert_v1_error(v1.get("/v1/plugins", params), 400, "INVALID_PAGING")


def test_another_organisations_plugins_are_invisible(v1, v1_stranger, plugin):
    assert v1_stranger.get("/v1/plugins").json()["total"] == 0
    assert_v1_error(v1_stranger.get(f"/v1/plugins/{plugin.pk}"), 404, "NOT_FOUND")
    assert_v1_error(v1_stranger.get(f"/v1/plugins/{plugin.pk}/versions"), 404, "NOT_FOUND")
    assert_v1_error(v1_stranger.get("/v1/plugins", {"organisation_id": plugin.organisation_id}), 404, "NOT_FOUND")


def test_staff_see_every_organisation(v1_staff, plugin):
    assert v1_staff.get(f"/v1/plugins/{plugin.pk}").status_code == 200


def test_a_plugin_can_be_renamed_and_pointed_at_a_version(v1, plugin, version):
    second = v1.post(
        f"/v1/plugins/{plugin.pk}/versions", {"version_id": "1.1.0", "plugin_properties": PROPERTIES}, format="json"
    )
    assert v1.get(f"/v1/plugins/{plugin.pk}").json()["data"]["current_version_id"] == second.json()["data"]["id"]
    response = v1.put(
        f"/v1/plugins/{plugin.pk}", {"name": "Importer", "current_version_id": str(version.pk)}, format="json"
    )
    assert response.json()["data"]["name"] == "Importer"
    assert response.json()["data"]["current_version_id"] == str(version.pk)


def test_a_version_is_created_with_its_properties(v1, plugin):
    response = v1.post(
        f"/v1/plugins/{plugin.pk}/versions", {"version_id": "1.0.0", "plugin_properties": PROPERTIES}, format="json"
    )
    assert response.status_code == 201
    data = response.json()["data"]
    assert (data["version_id"], data["plugin_id"], data["group_id"]) == ("1.0.0", str(plugin.pk), plugin.group_id)
    assert [p["technical_name"] for p in data["plugin_properties"]] == [
        "provider",
        "name",
        "one_more_property",
        "batch_size",
    ]
    assert v1.get(f"/v1/plugins/{plugin.pk}").json()["data"]["current_version_id"] == data["id"]
    properties = v1.get(f"/v1/plugins/{plugin.pk}/versions/{data['id']}/properties").json()["data"]
    assert properties[3] == {**PROPERTIES[3]}
    assert v1.get(f"/v1/plugins/{plugin.pk}/versions/1.0.0").json()["data"]["id"] == data["id"]
    assert v1.get(f"/v1/plugins/{plugin.pk}/versions").json()["total"] == 1


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"version_id": "1.0"}, "INVALID_VERSION_ID"),
        ({"plugin_properties": [PROPERTIES[0]]}, "MISSING_PROPERTY"),
        ({"plugin_properties": [*PROPERTIES, {**PROPERTIES[2], "property_type": "BLOB"}]}, "DUPLICATE_PROPERTY"),
        ({"plugin_properties": [*PROPERTIES[:2], {**PROPERTIES[2], "property_type": "BLOB"}]}, "UNKNOWN_PROPERTY_TYPE"),
        (
            {"plugin_properties": [*PROPERTIES[:2], {**PROPERTIES[3], "value": {"value": "many"}}]},
            "INVALID_PROPERTY_VALUE",
        ),
        ({"plugin_properties": [*PROPERTIES[:2], {**PROPERTIES[3], "value": "100"}]}, "INVALID_PROPERTY_VALUE"),
        ({"plugin_properties": [*PROPERTIES[:2], {**PROPERTIES[3], "origin": "SOMEWHERE"}]}, "INVALID_PROPERTY"),
        ({"plugin_properties": {"provider": 1}}, "INVALID_PROPERTY"),
    ],
)
def test_a_bad_version_is_refused_and_nothing_is_written(v1, plugin, change, code):
    body = {"version_id": "1.0.0", "plugin_properties": PROPERTIES, **change}
    assert_v1_error(v1.post(f"/v1/plugins/{plugin.pk}/versions", body, format="json"), 400, code)
    assert not PluginVersion.objects.exists()


def test_a_duplicate_version_is_a_409(v1, plugin, version):
    response = v1.post(
        f"/v1/plugins/{plugin.pk}/versions", {"version_id": "1.0.0", "plugin_properties": PROPERTIES}, format="json"
    )
    assert_v1_error(response, 409, "DUPLICATE_VERSION")


def test_code_is_attached_as_an_archive_with_an_entry_point(v1, plugin, version):
    response = v1.put(
        f"/v1/plugins/{plugin.pk}/versions/{version.pk}/archive",
        {"file": upload(), "entry_point": "main:run"},
        format="multipart",
    )
    assert response.status_code == 200, response.content
    archive = response.json()["data"]["archive"]
    assert archive["kind"] == "zip" and len(archive["sha256"]) == 64
    version.refresh_from_db()
    with version.archive.open() as stored:
        assert stored.read() == zip_bytes({"main.py": b"def run(context):\n    return {'ok': True}\n"})


@pytest.mark.parametrize(
    ("file", "entry_point", "code"),
    [
        (upload(files={"../evil.py": b"x"}), "main:run", "ARCHIVE_UNSAFE_PATH"),
        (upload(files={"/etc/cron.d/x": b"x"}), "main:run", "ARCHIVE_UNSAFE_PATH"),
        (upload(name="code.rar"), "main:run", "ARCHIVE_UNSUPPORTED_TYPE"),
        (upload(), "main:run\nrm -rf /", "ENTRY_POINT_INVALID"),
        (upload(), "run.sh", "ENTRY_POINT_NOT_IN_ARCHIVE"),
    ],
)
def test_a_bad_archive_is_refused(v1, plugin, version, file, entry_point, code):
    response = v1.put(
        f"/v1/plugins/{plugin.pk}/versions/{version.pk}/archive",
        {"file": file, "entry_point": entry_point},
        format="multipart",
    )
    assert_v1_error(response, 400, code)
    version.refresh_from_db()
    assert not version.archive


def test_an_archive_over_the_size_limit_is_refused(v1, plugin, version, settings):
    settings.PLUGIN_ARCHIVE_MAX_BYTES = 2048
    big = upload(files={"data.bin": bytes(range(256)) * 64})
    response = v1.put(
        f"/v1/plugins/{plugin.pk}/versions/{version.pk}/archive",
        {"file": big, "entry_point": "main:run"},
        format="multipart",
    )
    assert_v1_error(response, 400, "ARCHIVE_TOO_LARGE")


def test_an_archive_upload_without_a_file_is_a_clear_400(v1, plugin, version):
    response = v1.put(
        f"/v1/plugins/{plugin.pk}/versions/{version.pk}/archive", {"entry_point": "main:run"}, format="multipart"
    )
    body = assert_v1_error(response, 400, "VALIDATION_ERROR")
    assert "file" in body["details"]


def test_a_used_version_keeps_its_code_and_can_only_be_archived(v1, plugin, version, instance, member):
    Execution.objects.create(
        organisation=instance.organisation,
        instance=instance,
        version=version,
        execution_type="MANUAL",
        expected_start_date="2026-01-01T00:00Z",
        status="SUCCEEDED",
    )
    url = f"/v1/plugins/{plugin.pk}/versions/{version.pk}"
    assert_v1_error(
        v1.put(f"{url}/archive", {"file": upload(), "entry_point": "main:run"}, format="multipart"),
        409,
        "VERSION_IN_USE",
    )
    assert_v1_error(v1.delete(url), 409, "VERSION_IN_USE")
    assert v1.post(f"{url}/archived").json()["data"]["archived"] is True


def test_an_unused_version_can_be_deleted(v1, plugin, version):
    assert v1.delete(f"/v1/plugins/{plugin.pk}/versions/{version.pk}").status_code == 204
    assert v1.get(f"/v1/plugins/{plugin.pk}").json()["data"]["current_version_id"] is None


def test_a_version_reference_with_non_ascii_digits_is_a_404_not_a_500(v1, plugin, version):
    assert_v1_error(v1.get(f"/v1/plugins/{plugin.pk}/versions/%C2%B2"), 404, "VERSION_NOT_FOUND")
    assert_v1_error(
        v1.put(f"/v1/plugins/{plugin.pk}", {"current_version_id": "²"}, format="json"), 404, "VERSION_NOT_FOUND"
    )


def test_a_nul_in_a_property_value_is_a_400_not_a_500(v1, plugin):
    body = {"version_id": "2.0.0", "plugin_properties": [{**PROPERTIES[0], "value": {"value": "a\u0000b"}}]}
    assert_v1_error(v1.post(f"/v1/plugins/{plugin.pk}/versions", body, format="json"), 400, "MALFORMED_REQUEST")

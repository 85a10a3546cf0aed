"""install_plugin_from_folder (plugins/services/installs.py): idempotent, a new version when the code changes."""

import pytest

from batchplatform.errors import Invalid
from plugins import services
from plugins.models import ExecutionStatus, IntegrationBatchInstance, Plugin, PluginVersion
from tests.plugins.runs import runner_settings

pytestmark = pytest.mark.django_db
__all__ = ["runner_settings"]

MAIN = "def run(context):\n    return {'inputs': context.inputs, 'threshold': context.properties['threshold']}\n"


@pytest.fixture
def folder(tmp_path):
    code = tmp_path / "scoring"
    code.mkdir()
    (code / "main.py").write_text(MAIN)
    (code / "tests").mkdir()
    (code / "tests" / "test_main.py").write_text("def test(): pass\n")  # left out, as packplugin does
    return code


def install(organisation, folder, **changes):
    arguments = {
        "organisation": organisation,
        "folder": folder,
        "group_id": "com.batchplatform.solutions",
        "artifact_id": "insureright-scoring",
        "version_id": "1.0.0",
        "entry_point": "main:run",
        "instance_name": "insureright/scoring",
        "properties": {"threshold": 0.5},
        "size_class": "MEDIUM",
    }
    return services.install_plugin_from_folder(**{**arguments, **changes})


def test_installing_twice_changes_nothing(organisation, folder):
    first = install(organisation, folder)
    again = install(organisation, folder)
    assert again.pk == first.pk and again.version_id == first.version_id
    assert Plugin.objects.count() == PluginVersion.objects.count() == IntegrationBatchInstance.objects.count() == 1
    version = first.version
    assert version.version_id == "1.0.0" and version.entry_point == "main:run" and version.archive_sha256
    assert version.plugin.current_version_id == version.pk
    assert (first.ram_size, first.cpu_size, first.disk_size) == ("MEDIUM", "MEDIUM", "MEDIUM")
    assert first.cron is None and first.organisation == organisation


def test_changed_code_makes_a_new_version_and_moves_the_instance(organisation, folder):
    first = install(organisation, folder)
    (folder / "main.py").write_text(MAIN + "# changed\n")
    moved = install(organisation, folder)
    assert moved.pk == first.pk
    assert moved.version_id != first.version_id
    new, old = moved.version, first.version
    assert new.version_id == f"1.0.0+{new.archive_sha256[:12]}"
    assert new.archive_sha256 != old.archive_sha256
    assert new.plugin.current_version_id == new.pk
    old.refresh_from_db()
    assert not old.archived  # kept: earlier executions ran it
    # Back to the first code: its version is reused, not made a third time.
    (folder / "main.py").write_text(MAIN)
    back = install(organisation, folder)
    assert back.version_id == old.pk
    assert PluginVersion.objects.count() == 2


def test_a_new_version_id_with_new_code_is_used_as_given(organisation, folder):
    install(organisation, folder)
    (folder / "main.py").write_text(MAIN + "# 1.1\n")
    assert install(organisation, folder, version_id="1.1.0").version.version_id == "1.1.0"


def test_changed_properties_or_sizes_are_applied(organisation, folder):
    first = install(organisation, folder)
    second = install(organisation, folder, properties={"threshold": 0.7}, size_class="LOW")
    assert second.pk == first.pk and second.version_id != first.version_id
    assert second.ram_size == "LOW"
    values = {p["technical_name"]: p["value"] for p in services.instance_properties(second)}
    assert values["threshold"] == {"value": 0.7}
    assert values["provider"] == {"value": "batchplatform"}


def test_an_operators_pause_survives_a_reinstall(organisation, folder):
    instance = install(organisation, folder)
    services.update_instance(instance=instance, user=None, archived=True)
    (folder / "main.py").write_text(MAIN + "# changed\n")
    again = install(organisation, folder)
    assert again.pk == instance.pk and again.archived


def test_each_organisation_gets_its_own(organisation, other_organisation, folder):
    ours = install(organisation, folder)
    theirs = install(other_organisation, folder)
    assert ours.pk != theirs.pk and theirs.version.plugin.organisation == other_organisation


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"entry_point": "missing:run"}, "missing"),
        ({"size_class": "HUGE"}, "size_class"),
        ({"properties": {"threshold": [1]}}, "threshold"),
    ],
)
def test_what_cannot_be_installed_is_refused_clearly(organisation, folder, changes, says):
    with pytest.raises(Invalid) as refused:
        install(organisation, folder, **changes)
    assert says in refused.value.message
    assert not Plugin.objects.exists()


def test_an_empty_folder_is_refused(organisation, tmp_path):
    with pytest.raises(Invalid, match="no file to package"):
        install(organisation, tmp_path)


@pytest.mark.usefixtures("runner_settings")
def test_an_installed_processor_runs_with_its_inputs(organisation, folder):
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    instance = install(organisation, folder)
    name = default_storage.save("test-inputs/installed.csv", ContentFile(b"a\n"))
    execution = services.start_processor_execution(
        instance=instance, inputs={"insured.csv": {"storage_name": name}}, parameters={}
    )
    execution = services.run_execution(execution_id=execution.pk)
    assert execution.status == ExecutionStatus.SUCCEEDED, execution.error
    assert execution.result == {"inputs": ["insured.csv"], "threshold": 0.5}

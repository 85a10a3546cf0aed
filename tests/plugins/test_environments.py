"""requirements.txt: dependencies installed once per version from a local wheel directory."""

import shutil

import pytest

from plugins.environments import READY_MARK, environment_path
from plugins.models import ExecutionStatus, PluginVersion
from tests.plugins.runs import plugin_instance, plugin_version, run_in_process, runner_settings
from tests.plugins.wheels import build_wheel

pytestmark = pytest.mark.usefixtures("runner_settings")
__all__ = ["runner_settings"]

USES_GREETING = "import greeting\ndef run(context):\n    return {'greeting': greeting.hello()}\n"


@pytest.fixture
def wheelhouse(tmp_path, settings):
    directory = tmp_path / "wheels"
    build_wheel(directory, "greeting", "1.0", "def hello():\n    return 'hello from a wheel'\n")
    settings.PLUGIN_PIP_ARGS = f"--no-index --find-links {directory}"
    return directory


def test_dependencies_are_installed_once_and_reused(wheelhouse, plugin, organisation, member):
    version = plugin_version(plugin, {"main.py": USES_GREETING, "requirements.txt": "greeting==1.0\n"}, "main:run")
    instance = plugin_instance(organisation, member, version)
    first = run_in_process(instance)
    assert first.status == ExecutionStatus.SUCCEEDED, first.error
    assert first.result == {"greeting": "hello from a wheel"}
    assert (environment_path(version) / READY_MARK).exists()

    shutil.rmtree(wheelhouse)  # the second run cannot install anything: it must reuse the environment
    second = run_in_process(instance)
    assert second.status == ExecutionStatus.SUCCEEDED, second.error
    assert second.result == {"greeting": "hello from a wheel"}


def test_an_install_failure_makes_the_version_unusable_with_the_installers_message(
    wheelhouse, plugin, organisation, member
):
    version = plugin_version(
        plugin, {"main.py": USES_GREETING, "requirements.txt": "greeting==1.0\nno-such-package==9.9\n"}, "main:run"
    )
    instance = plugin_instance(organisation, member, version)
    execution = run_in_process(instance)
    assert execution.status == ExecutionStatus.FAILED
    assert execution.error["message"].startswith("the dependencies of version 1.0.0 could not be installed")
    assert "no-such-package" in execution.error["message"]
    stored = PluginVersion.objects.get(pk=version.pk).environment_error
    assert "installing requirements.txt failed" in stored and "no-such-package" in stored
    assert not environment_path(version).exists()

    again = run_in_process(instance)
    assert again.status == ExecutionStatus.FAILED
    assert again.error["message"] == execution.error["message"]


def test_a_plugin_without_requirements_runs_in_an_empty_environment(plugin, organisation, member):
    code = "import sys\ndef run(context):\n    return {'prefix': sys.prefix, 'base': sys.base_prefix}\n"
    version = plugin_version(plugin, {"main.py": code}, "main:run")
    execution = run_in_process(plugin_instance(organisation, member, version))
    assert execution.status == ExecutionStatus.SUCCEEDED, execution.error
    # A virtual environment of its own: neither the machine's site-packages nor the platform's.
    assert execution.result["prefix"] == "/opt/batchplatform-env" != execution.result["base"]
    assert not environment_path(version).exists()

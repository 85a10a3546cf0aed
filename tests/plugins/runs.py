"""Plugins built in a test and run through the real runner, in this process or by a real worker."""

import dataclasses
import textwrap
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from plugins import conf, services
from tests.plugins.conftest import PROPERTIES, zip_bytes

NETWORK_PROPERTY = {
    "technical_name": "network",
    "value": {"value": True},
    "property_type": "BOOLEAN",
    "origin": "PLUGIN",
    "writable": True,
    "deletable": False,
}


def code(text: str) -> bytes:
    return textwrap.dedent(text).lstrip().encode()


def plugin_version(plugin, files: dict, entry_point: str, version_id: str = "1.0.0", properties=None):
    version = services.create_version(
        plugin=plugin, version_id=version_id, plugin_properties=(properties or PROPERTIES) + [NETWORK_PROPERTY]
    )
    upload = SimpleUploadedFile(
        "code.zip", zip_bytes({k: code(v) if isinstance(v, str) else v for k, v in files.items()})
    )
    return services.attach_archive(version=version, uploaded_file=upload, entry_point=entry_point)


def plugin_instance(organisation, member, version, **fields):
    return services.create_instance(
        organisation=organisation,
        user=member,
        name="runner test",
        group_id=version.plugin.group_id,
        artifact_id=version.plugin.artifact_id,
        version_id=version.version_id,
        **fields,
    )


def due_execution(instance):
    return services.create_execution(
        instance=instance, user=None, expected_start_date=timezone.now() - timedelta(seconds=1)
    )


def run_in_process(instance):
    """What a worker does with the execution's message, here in the test's process."""
    execution = due_execution(instance)
    return services.run_execution(execution_id=execution.pk)


def with_limits(settings, size="LOW", **changes):
    classes = dict(conf.get("PLUGIN_SIZE_CLASSES"))
    classes[size] = dataclasses.replace(classes[size], **changes)
    settings.PLUGIN_SIZE_CLASSES = classes


@pytest.fixture
def runner_settings(settings, tmp_path):
    settings.PLUGIN_WORK_ROOT = tmp_path / "runs"
    settings.PLUGIN_ENV_ROOT = tmp_path / "envs"
    settings.PLUGIN_POLL_INTERVAL = 0.05
    settings.PLUGIN_LOG_UPLOAD_INTERVAL = 0.2
    settings.PLUGIN_CANCEL_GRACE_SECONDS = 2.0
    return settings

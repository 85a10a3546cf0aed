import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from plugins import services

STATIC = {"origin": "PLUGIN_STATIC", "writable": False, "deletable": False, "property_type": "STRING"}
PROPERTIES = [
    {"technical_name": "provider", "value": {"value": "mediarithmics"}, **STATIC},
    {"technical_name": "name", "value": {"value": "My Plugin Name"}, **STATIC},
    {
        "technical_name": "one_more_property",
        "value": {"value": ""},
        "property_type": "STRING",
        "origin": "PLUGIN",
        "writable": True,
        "deletable": True,
    },
    {
        "technical_name": "batch_size",
        "value": {"value": 100},
        "property_type": "INT",
        "origin": "INSTANCE",
        "writable": True,
        "deletable": False,
    },
]


def zip_bytes(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files.items():
            # A fixed date: the same files make the same bytes, whenever the test runs.
            info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            archive.writestr(info, content)
    return buffer.getvalue()


def upload(name="code.zip", files=None) -> SimpleUploadedFile:
    content = zip_bytes(files or {"main.py": b"def run(context):\n    return {'ok': True}\n"})
    return SimpleUploadedFile(name, content, content_type="application/zip")


@pytest.fixture
def plugin(organisation):
    return services.create_plugin(
        organisation=organisation,
        plugin_type="INTEGRATION_BATCH",
        group_id="com.my-client.integration_batch",
        artifact_id="integration-batch-my-client",
    )


@pytest.fixture
def version(plugin):
    return services.create_version(plugin=plugin, version_id="1.0.0", plugin_properties=PROPERTIES)


@pytest.fixture
def instance(organisation, member, version):
    return services.create_instance(
        organisation=organisation,
        user=member,
        name="nightly import",
        group_id=version.plugin.group_id,
        artifact_id=version.plugin.artifact_id,
        version_id="1.0.0",
        cron="0 3 * * *",
        cron_status="ACTIVE",
    )


@pytest.fixture
def foreign_instance(other_organisation, stranger):
    plugin = services.create_plugin(
        organisation=other_organisation, plugin_type="INTEGRATION_BATCH", group_id="com.globex", artifact_id="secret"
    )
    services.create_version(plugin=plugin, version_id="1.0.0", plugin_properties=PROPERTIES)
    return services.create_instance(
        organisation=other_organisation, user=stranger, name="theirs", group_id="com.globex", artifact_id="secret"
    )

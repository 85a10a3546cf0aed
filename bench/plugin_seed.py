"""One plugin version whose archive holds a `main.py`, for the benches that run plugins.

bench/runner.py calls it in its own (Django) process; bench/faults_executions.py through
`manage.py shell`, whose path starts at the repository root (hence `bench.plugin_seed`).
"""

import io
import zipfile


def main_archive(main: str | bytes) -> bytes:
    """A zip holding `main.py`."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("main.py", main)
    return buffer.getvalue()


def create_bench_plugin(*, organisation, artifact_id: str, archive: bytes):
    """Plugin com.bench:`artifact_id` 1.0.0 of `organisation`, with `archive` (entry point main:run)."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from plugins import services

    plugin = services.create_plugin(
        organisation=organisation, plugin_type="INTEGRATION_BATCH", group_id="com.bench", artifact_id=artifact_id
    )
    static = {"origin": "PLUGIN_STATIC", "writable": False, "deletable": False, "property_type": "STRING"}
    version = services.create_version(
        plugin=plugin,
        version_id="1.0.0",
        plugin_properties=[
            {"technical_name": "provider", "value": {"value": "bench"}, **static},
            {"technical_name": "name", "value": {"value": artifact_id}, **static},
        ],
    )
    upload = SimpleUploadedFile(f"{artifact_id}.zip", archive)
    services.attach_archive(version=version, uploaded_file=upload, entry_point="main:run")
    return version

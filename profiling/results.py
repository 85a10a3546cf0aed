"""Results zips: a processor execution's artifacts packed into one zip in the storage."""

import shutil
import tempfile
import uuid
import zipfile
from pathlib import PurePosixPath

from django.core.files import File
from django.core.files.storage import default_storage

from plugins import selectors as plugin_selectors

CHUNK = 1024 * 1024


def results_name_for(submission) -> str:
    """A name of its own for each packing: a packer whose lease ran out while another took over
    must never write, or delete, the file the other one completed the submission with."""
    return (
        f"solutions/{submission.organisation.slug}/{submission.batch.batch_key}/"
        f"{submission.submission_type.name}-{submission.pk}-run{submission.runs}-{uuid.uuid4().hex[:12]}-results.zip"
    )


def pack_results(*, name: str, execution) -> tuple[str, int]:
    """(storage name, size) of a zip holding every artifact, spooled to a temporary file (never
    whole in memory)."""
    with tempfile.TemporaryFile(prefix="results-") as spool:
        with zipfile.ZipFile(spool, "w", zipfile.ZIP_DEFLATED) as archive:
            for artifact in plugin_selectors.list_execution_artifacts(execution):
                member = _member_name(artifact["name"])
                with (
                    plugin_selectors.open_execution_artifact(execution, artifact["name"]) as source,
                    archive.open(member, "w", force_zip64=True) as target,
                ):
                    shutil.copyfileobj(source, target, CHUNK)
        size = spool.tell()
        spool.seek(0)
        saved = default_storage.save(name, File(spool, name=name))
    return saved, size


def open_results(name: str):
    return default_storage.open(name, "rb")


def delete_results(name: str) -> None:
    if name:
        default_storage.delete(name)


def _member_name(name: str) -> str:
    # Artifact names come from plugin code (untrusted): no absolute paths, no way out of the zip.
    parts = [part for part in PurePosixPath(name.replace("\\", "/")).parts if part not in ("/", "..", ".", "")]
    return "/".join(parts) or "artifact"

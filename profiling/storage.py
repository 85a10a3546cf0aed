"""Where zips are kept: the default storage (the data dir, or S3 with STORAGE_URL)."""

import contextlib
import shutil
import tempfile

from django.core.files.storage import default_storage


def zip_name_for(*, organisation_slug: str, batch_key) -> str:
    return f"profiling/{organisation_slug}/{batch_key}.zip"


def save_zip(*, name: str, uploaded_file) -> str:
    """Stores the upload; a file on local disk is moved, not copied, by the filesystem storage."""
    return default_storage.save(name, uploaded_file)


def delete_zip(name: str) -> None:
    default_storage.delete(name)


def open_zip_file(name: str):
    return default_storage.open(name, "rb")


@contextlib.contextmanager
def local_zip(name: str):
    """A path to the zip on this machine: the file itself on local storage, else a streamed copy."""
    try:
        path = default_storage.path(name)
    except NotImplementedError:
        path = None  # a remote storage (S3): copy it down in chunks
    if path is not None:
        yield path
        return
    with tempfile.NamedTemporaryFile(prefix="batch-", suffix=".zip") as copy:
        with default_storage.open(name, "rb") as source:
            shutil.copyfileobj(source, copy, 1024 * 1024)
        copy.flush()
        yield copy.name

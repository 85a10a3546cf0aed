"""A processor's inputs, staged before the child starts: each streamed from storage (a zip member
inflated as it is read, never a whole file in memory) into <work>/input/<name>, which the plugin
sees read-only as INPUT_DIR (bubblewrap's --ro-bind; without it, file modes, as a best effort).

A staging failure is a PreparationFailed naming the input, so the execution ends FAILED saying why.
"""

import contextlib
import logging
import os
import zipfile
import zlib
from pathlib import Path
from typing import IO

from django.core.exceptions import SuspiciousFileOperation
from django.core.files.storage import default_storage

from batchplatform.errors import Invalid
from plugins import conf
from plugins.runner.reports import append_log
from plugins.runner.run import PreparationFailed, Run
from plugins.services.processors import check_input_name

logger = logging.getLogger(__name__)

CHUNK = 1024 * 1024
GIB = 1024 * 1024 * 1024


class _TooLarge(Exception):
    pass


def _size(count: int) -> str:
    if count >= GIB:
        return f"{count / GIB:.3g} GiB"
    return f"{count / (1024 * 1024):.3g} MiB"


def stage_inputs(run: Run) -> None:
    """Every input of the execution in run.input (an empty folder when there are none), then read-only."""
    run.input.mkdir(parents=True, exist_ok=True)
    inputs = run.execution.inputs or {}
    cap = conf.get("PLUGIN_INPUT_MAX_BYTES")
    staged = 0
    for name in sorted(inputs):
        source = inputs[name]
        try:
            # Checked when the execution was started; again here, as a row may be written by other means.
            check_input_name(name)
        except Invalid as error:
            raise PreparationFailed(error.message) from None
        try:
            staged += _stage_one(run.input / name, source, remaining=cap - staged)
        except _TooLarge:
            raise PreparationFailed(
                f"input {name}: the inputs are larger than PLUGIN_INPUT_MAX_BYTES ({_size(cap)})"
            ) from None
        except PreparationFailed as failure:
            raise PreparationFailed(f"input {name}: {failure.message}") from None
        except Exception as error:
            # Whatever the storage raises, the execution ends FAILED with it, never stays RUNNING.
            logger.exception("input %s of execution %s could not be staged", name, run.execution.pk)
            raise PreparationFailed(f"input {name}: could not be staged: {error}") from None
    if inputs:
        append_log(run, f"[platform] {len(inputs)} input(s) staged in INPUT_DIR ({_size(staged)})\n")
    _make_read_only(run.input)


def _stage_one(target: Path, source: dict, *, remaining: int) -> int:
    storage_name, member = source["storage_name"], source.get("member")
    try:
        stored = default_storage.open(storage_name, "rb")
    except (FileNotFoundError, IsADirectoryError):
        raise PreparationFailed(f"{storage_name} is not in storage") from None
    except SuspiciousFileOperation:
        raise PreparationFailed(f"{storage_name} is not a storage name this platform serves") from None
    with stored:
        if member is None:
            return _copy(stored, target, remaining=remaining)
        try:
            archive = zipfile.ZipFile(stored)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError) as error:
            raise PreparationFailed(f"{storage_name} is not a readable zip ({error})") from None
        with archive:
            try:
                info = archive.getinfo(member)
            except KeyError:
                raise PreparationFailed(f"member {member} not found in {storage_name}") from None
            if info.is_dir():
                raise PreparationFailed(f"member {member} of {storage_name} is a folder, not a file")
            if info.file_size > remaining:
                raise _TooLarge
            try:
                with archive.open(info) as inflated:
                    return _copy(inflated, target, remaining=remaining)
            except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as error:
                # A bad CRC, truncated data, an unknown compression method, a password.
                raise PreparationFailed(f"member {member} of {storage_name} cannot be read ({error})") from None


def _copy(source: IO[bytes], target: Path, *, remaining: int) -> int:
    """Streams source into a new file, counting: past `remaining` bytes it stops (the zip's declared
    size may lie)."""
    copied = 0
    with open(target, "xb") as out:
        while chunk := source.read(CHUNK):
            copied += len(chunk)
            if copied > remaining:
                raise _TooLarge
            out.write(chunk)
    return copied


def _make_read_only(folder: Path) -> None:
    for entry in folder.iterdir():
        entry.chmod(0o444)
    folder.chmod(0o555)


def unlock_inputs(run: Run) -> None:
    """Writable again, so the work directory can be removed."""
    with contextlib.suppress(OSError):
        if run.input.is_dir():
            os.chmod(run.input, 0o700)

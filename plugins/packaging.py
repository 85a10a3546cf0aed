"""Packaging a plugin directory into an archive the version upload accepts (`manage.py packplugin`).

The archive is checked with the very rules the upload applies (`plugins.archives.inspect_archive` and
`resolve_entry_point`), so a package that `packplugin` writes is never refused on upload for its shape.
It is also reproducible: members sorted, timestamps fixed, so the same directory gives the same sha256.
"""

import fnmatch
import io
import os
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path

from plugins.archives import ArchiveError, ArchiveInfo, inspect_archive
from plugins.entry_points import resolve_entry_point

# Never part of a plugin's code: caches, version control, editor files, and the author's own tests
# (the platform never runs them). Matched against each path component.
DEFAULT_EXCLUDES = ("__pycache__", "*.pyc", "*.pyo", ".*", "tests", "*.egg-info", "dist", "build")
# 1980-01-01, the earliest time a zip can record: every member gets it, so the bytes depend on contents only.
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)


class PackagingError(ValueError):
    pass


@dataclass(frozen=True)
class Package:
    path: Path
    info: ArchiveInfo
    size: int


def plugin_files(directory: Path, *, excludes=DEFAULT_EXCLUDES, skip: Path | None = None) -> list[Path]:
    """The files to package, relative to `directory`, sorted; a symbolic link is refused, since the upload
    would accept it but never create it, and the plugin would break only when it runs."""
    directory = Path(directory)
    if not directory.is_dir():
        raise PackagingError(f"{directory} is not a directory")
    found = []
    for root, dirnames, filenames in os.walk(directory):
        here = Path(root)
        dirnames[:] = sorted(d for d in dirnames if not _excluded(d, excludes))
        for name in [*dirnames, *filenames]:
            if (here / name).is_symlink():
                relative = (here / name).relative_to(directory)
                raise PackagingError(f"{relative} is a symbolic link: copy the file in instead")
        for name in filenames:
            path = here / name
            if _excluded(name, excludes) or (skip is not None and path.resolve() == skip.resolve()):
                continue
            if not stat.S_ISREG(path.lstat().st_mode):
                raise PackagingError(f"{path.relative_to(directory)} is not a regular file")
            found.append(path.relative_to(directory))
    if not found:
        raise PackagingError(f"{directory} holds no file to package")
    return sorted(found, key=lambda p: p.as_posix())


def _excluded(name: str, excludes) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in excludes)


def zip_plugin(directory: Path, files: list[Path]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for relative in files:
            source = Path(directory) / relative
            info = zipfile.ZipInfo(relative.as_posix(), date_time=_FIXED_TIME)
            info.create_system = 3  # Unix, so the executable bit (run.sh) survives the upload
            executable = bool(source.stat().st_mode & stat.S_IXUSR)
            info.external_attr = (stat.S_IFREG | (0o755 if executable else 0o644)) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, source.read_bytes())
    return buffer.getvalue()


def pack_plugin(
    *,
    directory: Path,
    output: Path,
    entry_point: str | None,
    max_bytes: int,
    max_unpacked_bytes: int,
    max_members: int,
    excludes=DEFAULT_EXCLUDES,
) -> Package:
    output = Path(output)
    if output.suffix != ".zip":
        raise PackagingError(f"{output}: packplugin writes a .zip archive")
    files = plugin_files(directory, excludes=excludes, skip=output)
    content = zip_plugin(directory, files)
    try:
        info = inspect_archive(
            io.BytesIO(content),
            output.name,
            max_bytes=max_bytes,
            max_unpacked_bytes=max_unpacked_bytes,
            max_members=max_members,
        )
        if entry_point:
            # The upload's own check: the entry point names something the archive holds.
            resolve_entry_point(entry_point, info.members)
    except ArchiveError as error:
        raise PackagingError(f"the upload would refuse this archive: {error.message}") from None
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(content)
    return Package(path=output, info=info, size=len(content))

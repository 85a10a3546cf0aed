"""The checks a zip passes before anything reads its members (reference/valen.md, "The zip").

Only the central directory is read here, so a zip bomb is refused before a byte is inflated.
"""

import os
import zipfile
from dataclasses import dataclass

from profiling.profiler.limits import ProfileLimits

FORMATS = {".csv": "csv", ".psv": "psv", ".tsv": "tsv", ".txt": "txt"}

# The texts clients of the reference API already match on.
PASSWORD_PROTECTED = "error opening zipfile Password protected zipfile not supported"  # noqa: S105
UNREADABLE = "error opening zipfile zipfile could not be opened"
SUBDIRECTORIES = "File contains subdirectories, provide zips with only files"


class ZipRejected(Exception):
    """The upload is not a zip we accept; the message is what the client reads."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Member:
    name: str
    format: str  # csv, psv, tsv or txt
    compressed_size: int
    uncompressed_size: int
    compression: str  # stored, deflated, ...


_COMPRESSION_NAMES = {
    zipfile.ZIP_STORED: "stored",
    zipfile.ZIP_DEFLATED: "deflated",
    zipfile.ZIP_BZIP2: "bzip2",
    zipfile.ZIP_LZMA: "lzma",
}


def open_zip(source) -> zipfile.ZipFile:
    """A ZipFile on a path or a seekable binary file; ZipRejected when it is no zip at all."""
    try:
        return zipfile.ZipFile(source)
    except FileNotFoundError:
        raise  # our storage lost it: not the client's zip's fault
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError):
        raise ZipRejected(UNREADABLE) from None


def check_zip(archive: zipfile.ZipFile, limits: ProfileLimits | None = None) -> list[Member]:
    """The zip's members, or ZipRejected with the first rule it breaks."""
    limits = limits or ProfileLimits()
    infos = archive.infolist()
    if any(info.flag_bits & 0x1 for info in infos):
        raise ZipRejected(PASSWORD_PROTECTED)
    for info in infos:
        _check_name(info.filename)
    if any(info.is_dir() or "/" in info.filename or "\\" in info.filename for info in infos):
        raise ZipRejected(SUBDIRECTORIES)
    if not infos:
        raise ZipRejected("The zip contains no files; provide one delimited file per node")
    if len(infos) > limits.max_members:
        raise ZipRejected(f"The zip contains {len(infos)} files; at most {limits.max_members} are accepted")
    if len({info.filename for info in infos}) != len(infos):
        raise ZipRejected("The zip contains the same file name twice")
    members = []
    for info in infos:
        extension = os.path.splitext(info.filename)[1].lower()
        if extension not in FORMATS:
            raise ZipRejected(f"File {info.filename} is not a csv, psv, tsv or txt file")
        if info.compress_type not in _COMPRESSION_NAMES:
            raise ZipRejected(UNREADABLE)
        members.append(
            Member(
                name=info.filename,
                format=FORMATS[extension],
                compressed_size=info.compress_size,
                uncompressed_size=info.file_size,
                compression=_COMPRESSION_NAMES[info.compress_type],
            )
        )
    _check_sizes(members, limits)
    return members


def _check_sizes(members: list[Member], limits: ProfileLimits) -> None:
    formats = sorted({member.format for member in members})
    if len(formats) > 1:
        raise ZipRejected(f"All files of a zip must use the same format; this one mixes {', '.join(formats)}")
    total = sum(member.uncompressed_size for member in members)
    if total > limits.max_uncompressed_bytes:
        raise ZipRejected(f"The zip unpacks to {total} bytes; at most {limits.max_uncompressed_bytes} are accepted")
    for member in members:
        # A ratio only means something past a few kilobytes (a tiny file of one repeated byte is fine).
        if member.uncompressed_size > 1024 * 1024:
            ratio = member.uncompressed_size / max(member.compressed_size, 1)
            if ratio > limits.max_compression_ratio:
                raise ZipRejected(
                    f"File {member.name} is compressed {ratio:.0f} times; at most "
                    f"{limits.max_compression_ratio:.0f} is accepted (zip bomb)"
                )


def _check_name(name: str) -> None:
    parts = name.replace("\\", "/").split("/")
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":") or ".." in parts:
        raise ZipRejected(f"File name {name!r} is absolute or leaves the zip; provide zips with only files")
    if "\x00" in name or not name.strip():
        raise ZipRejected(UNREADABLE)

"""Checking an uploaded plugin code archive and extracting it safely.

Archives come from users, so every member name, link and size is treated as hostile: names may climb out of the
destination, links may point anywhere, and declared sizes may lie. Inspection and extraction apply the same rules
through `_Rules`, and extraction writes only regular files and directories, never links.
"""

import hashlib
import os
import posixpath
import re
import shutil
import stat
import tarfile
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal

CHUNK_SIZE = 64 * 1024
MAX_LINK_TARGET = 4096
MAX_NAME_LENGTH = 1024

# Per-member room for tar headers (pax / GNU long names) and block padding, on top of the file contents, when
# bounding the decompressed tar stream.
_TAR_OVERHEAD_PER_MEMBER = 4096
_TAR_OVERHEAD_FIXED = 4 * 10240

_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")  # a local file header, or the end record of an empty archive
_GZIP_MAGIC = b"\x1f\x8b"


class ArchiveError(ValueError):
    def __init__(self, message: str, code: str = "ARCHIVE_INVALID") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass(frozen=True)
class ArchiveInfo:
    kind: str
    members: list[str]
    unpacked_bytes: int
    sha256: str


@dataclass(frozen=True)
class _Member:
    name: str  # as written in the archive
    type: Literal["file", "dir", "symlink", "hardlink", "special"]
    size: int
    link_target: str | None
    executable: bool
    encrypted: bool = False


def archive_kind(filename: str) -> str:
    lowered = filename.lower()
    if lowered.endswith(".zip"):
        return "zip"
    if lowered.endswith((".tar.gz", ".tgz")):
        return "tar.gz"
    raise ArchiveError(
        f"'{filename}' is not a supported archive; upload a .zip, .tar.gz or .tgz file", "ARCHIVE_UNSUPPORTED_TYPE"
    )


_NAME_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("contains a backslash", re.compile(r"\\")),
    ("contains a control character", re.compile(r"[\x00-\x1f\x7f]")),
    ("is an absolute path", re.compile(r"^/")),
    ("starts with a drive letter", re.compile(r"^[A-Za-z]:")),
    ("contains a '..' component", re.compile(r"(^|/)\.\.(/|$)")),
    ("is too long", re.compile(rf"^.{{{MAX_NAME_LENGTH + 1},}}|[^/]{{256,}}", re.DOTALL)),
)


def _unsafe_name(name: str) -> str | None:
    """Why `name` cannot be used as a relative path inside the destination, or None if it can."""
    return next((reason for reason, pattern in _NAME_RULES if pattern.search(name)), None)


def normalise(name: str) -> str:
    # "./a//b/" -> "a/b"; "" means the archive's root directory entry ("./").
    return "/".join(part for part in name.split("/") if part not in ("", "."))


class _Rules:
    """The checks shared by inspection and extraction, applied member by member as they are read."""

    def __init__(self, *, max_unpacked_bytes: int, max_members: int | None) -> None:
        self.max_unpacked_bytes = max_unpacked_bytes
        self.max_members = max_members
        self.count = 0
        self.unpacked_bytes = 0
        self.members: list[str] = []
        self._files: set[str] = set()
        self._dirs: set[str] = set()
        self._symlinks: set[str] = set()
        self._ancestors: set[str] = set()

    def check(self, member: _Member) -> str | None:
        """Return the normalised path of an acceptable member (None for the root entry), or raise ArchiveError."""
        self.count += 1
        if self.max_members is not None and self.count > self.max_members:
            raise ArchiveError(
                f"the archive has more than {self.max_members} files and folders", "ARCHIVE_TOO_MANY_FILES"
            )
        if not member.name:
            raise ArchiveError("the archive has a member with an empty name")
        problem = _unsafe_name(member.name)
        if problem:
            raise ArchiveError(f"archive member '{member.name}' {problem}", "ARCHIVE_UNSAFE_PATH")
        self._check_type(member)
        path = normalise(member.name)
        if not path:
            if member.type != "dir":
                raise ArchiveError(f"archive member '{member.name}' has no file name")
            return None
        self._place(member, path)
        if member.type == "symlink":
            self._check_link(member, path)
        elif member.type == "file":
            self.add_bytes(member.size, declared=True)
        self.members.append(f"{path}/" if member.type == "dir" else path)
        return path

    @staticmethod
    def _check_type(member: _Member) -> None:
        if member.encrypted:
            raise ArchiveError(f"archive member '{member.name}' is encrypted", "ARCHIVE_ENCRYPTED")
        if member.type == "special":
            raise ArchiveError(
                f"archive member '{member.name}' is a device, pipe or other special file", "ARCHIVE_UNSAFE_MEMBER"
            )
        if member.type == "hardlink":
            raise ArchiveError(f"archive member '{member.name}' is a hard link", "ARCHIVE_UNSAFE_LINK")

    def _place(self, member: _Member, path: str) -> None:
        # Refuse duplicates and anything stored "under" a link or a file: on disk that would write through the link.
        parents = [posixpath.dirname(path)]
        while parents[-1]:
            parents.append(posixpath.dirname(parents[-1]))
        through = next((parent for parent in parents if parent in self._symlinks or parent in self._files), None)
        if through is not None:
            raise ArchiveError(
                f"archive member '{member.name}' lies under '{through}', which is not a folder",
                "ARCHIVE_UNSAFE_LINK" if through in self._symlinks else "ARCHIVE_INVALID",
            )
        taken = self._files | self._symlinks
        if member.type != "dir":
            taken = taken | self._dirs | self._ancestors
        if path in taken:
            raise ArchiveError(f"archive member '{member.name}' appears more than once")
        if member.type == "dir":
            self._dirs.add(path)
        else:
            (self._symlinks if member.type == "symlink" else self._files).add(path)
        self._ancestors.update(parents)

    def _check_link(self, member: _Member, path: str) -> None:
        target = member.link_target or ""
        refused = ArchiveError(
            f"archive member '{member.name}' is a link to '{target}', outside the archive", "ARCHIVE_UNSAFE_LINK"
        )
        if not target or "\\" in target or "\x00" in target or target.startswith("/") or re.match(r"[A-Za-z]:", target):
            raise refused
        resolved = posixpath.normpath(posixpath.join(posixpath.dirname(path), target))
        if resolved == ".." or resolved.startswith("../"):
            raise refused

    def add_bytes(self, size: int, *, declared: bool) -> None:
        self.unpacked_bytes += size
        if self.unpacked_bytes > self.max_unpacked_bytes:
            what = "declares" if declared else "unpacks to"
            raise ArchiveError(
                f"the archive {what} more than {self.max_unpacked_bytes} bytes of files", "ARCHIVE_TOO_LARGE"
            )


def _zip_members(archive: zipfile.ZipFile) -> Iterator[tuple[zipfile.ZipInfo, _Member]]:
    for info in archive.infolist():
        # Only archives made on Unix carry meaningful file-type bits in the high half of external_attr.
        mode = info.external_attr >> 16 if info.create_system == 3 else 0
        encrypted = bool(info.flag_bits & 0x1)
        link_target = None
        if stat.S_ISLNK(mode):
            kind = "symlink"
            if not encrypted:
                if info.file_size > MAX_LINK_TARGET:
                    raise ArchiveError(f"archive member '{info.filename}' is a link with an overlong target")
                link_target = _read_zip_member(archive, info).decode("utf-8", "replace")
        elif info.is_dir() or stat.S_ISDIR(mode):
            kind = "dir"
        elif stat.S_IFMT(mode) and not stat.S_ISREG(mode):
            kind = "special"
        else:
            kind = "file"
        yield (
            info,
            _Member(
                name=info.filename,
                type=kind,
                size=info.file_size,
                link_target=link_target,
                executable=bool(mode & stat.S_IXUSR),
                encrypted=encrypted,
            ),
        )


def _read_zip_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    try:
        with archive.open(info) as stream:
            return stream.read(MAX_LINK_TARGET + 1)
    except (zipfile.BadZipFile, NotImplementedError, RuntimeError, zlib.error, EOFError) as exc:
        raise ArchiveError(f"archive member '{info.filename}' cannot be read: {exc}") from None


def _tar_member(info: tarfile.TarInfo) -> _Member:
    if info.issparse():
        # Sparse files unpack to more bytes than they store; nothing in a code archive needs them.
        kind = "special"
    elif info.isreg():
        kind = "file"
    elif info.isdir():
        kind = "dir"
    elif info.issym():
        kind = "symlink"
    elif info.islnk():
        kind = "hardlink"
    else:
        kind = "special"
    return _Member(
        name=info.name,
        type=kind,
        size=info.size,
        link_target=info.linkname if info.issym() else None,
        executable=bool(info.mode & stat.S_IXUSR),
    )


def _open_zip(fileobj: IO[bytes]) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(fileobj)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as exc:
        raise ArchiveError(f"the file is not a valid zip archive: {exc}") from None


def _open_tar(fileobj: IO[bytes]) -> tarfile.TarFile:
    try:
        return tarfile.open(fileobj=fileobj, mode="r:gz")
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        raise ArchiveError(f"the file is not a valid .tar.gz archive: {exc}") from None


_READ_ERRORS = (tarfile.TarError, zipfile.BadZipFile, OSError, EOFError, zlib.error, NotImplementedError)


def _scan(fileobj: IO[bytes], kind: str, *, max_bytes: int, max_tar_stream: int) -> str:
    """Hash the upload in chunks, refusing it past max_bytes; for tar.gz also bound the decompressed stream.

    tarfile reads pax headers into memory and decompresses everything it skips, so a small gzip of zeros could
    otherwise cost gigabytes before any member-level check runs.
    """
    digest = hashlib.sha256()
    total = 0
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    inflating = kind == "tar.gz"
    inflated = 0
    fileobj.seek(0)
    while chunk := fileobj.read(CHUNK_SIZE):
        total += len(chunk)
        if total > max_bytes:
            raise ArchiveError(f"the archive is larger than {max_bytes} bytes", "ARCHIVE_TOO_LARGE")
        digest.update(chunk)
        data = chunk
        while inflating and data:
            if inflater.eof:
                # Concatenated gzip members are valid and tarfile reads them all; tarfile never reads other junk.
                if not data.startswith(_GZIP_MAGIC[:1]):
                    inflating = False
                    break
                inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
            try:
                inflated += len(inflater.decompress(data, CHUNK_SIZE))
            except zlib.error as exc:
                raise ArchiveError(f"the file is not a valid .tar.gz archive: {exc}") from None
            if inflated > max_tar_stream:
                raise ArchiveError("the archive unpacks to more bytes than allowed", "ARCHIVE_TOO_LARGE")
            data = inflater.unused_data if inflater.eof else inflater.unconsumed_tail
    fileobj.seek(0)
    return digest.hexdigest()


def _check_magic(fileobj: IO[bytes], kind: str, filename: str) -> None:
    fileobj.seek(0)
    head = fileobj.read(4)
    fileobj.seek(0)
    ok = head.startswith(_ZIP_MAGIC) if kind == "zip" else head.startswith(_GZIP_MAGIC)
    if not ok:
        expected = "a zip archive" if kind == "zip" else "a gzip-compressed tar archive"
        raise ArchiveError(f"'{filename}' is not {expected}")


def inspect_archive(
    fileobj: IO[bytes], filename: str, *, max_bytes: int, max_unpacked_bytes: int, max_members: int
) -> ArchiveInfo:
    kind = archive_kind(filename)
    size = getattr(fileobj, "size", None)
    if isinstance(size, int) and size > max_bytes:
        raise ArchiveError(f"the archive is larger than {max_bytes} bytes", "ARCHIVE_TOO_LARGE")
    try:
        _check_magic(fileobj, kind, filename)
        max_tar_stream = max_unpacked_bytes + (max_members + 1) * _TAR_OVERHEAD_PER_MEMBER + _TAR_OVERHEAD_FIXED
        sha256 = _scan(fileobj, kind, max_bytes=max_bytes, max_tar_stream=max_tar_stream)
        rules = _Rules(max_unpacked_bytes=max_unpacked_bytes, max_members=max_members)
        if kind == "zip":
            with _open_zip(fileobj) as archive:
                try:
                    for _, member in _zip_members(archive):
                        rules.check(member)
                except _READ_ERRORS as exc:
                    raise ArchiveError(f"the zip archive is damaged: {exc}") from None
        else:
            with _open_tar(fileobj) as archive:
                try:
                    # Iterating reads one header at a time, so a refusal stops before the rest is decompressed.
                    for info in archive:
                        rules.check(_tar_member(info))
                except _READ_ERRORS as exc:
                    raise ArchiveError(f"the .tar.gz archive is damaged: {exc}") from None
    finally:
        fileobj.seek(0)
    return ArchiveInfo(kind=kind, members=rules.members, unpacked_bytes=rules.unpacked_bytes, sha256=sha256)


class _Writer:
    """Writes regular files and directories under `root`, never following or creating links."""

    def __init__(self, root: Path, rules: _Rules) -> None:
        self.root = root
        self.rules = rules

    def directory(self, path: str) -> Path:
        current = self.root
        for part in path.split("/"):
            current = current / part
            try:
                os.mkdir(current, 0o755)
            except FileExistsError:
                # Only ever a directory we made ourselves; lstat so that a link can never be walked through.
                if not stat.S_ISDIR(os.lstat(current).st_mode):
                    raise ArchiveError(f"archive member '{path}' clashes with a file of the same name") from None
        return current

    def file(self, path: str, stream: IO[bytes], *, executable: bool) -> None:
        parent = posixpath.dirname(path)
        directory = self.directory(parent) if parent else self.root
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
        try:
            descriptor = os.open(directory / posixpath.basename(path), flags, 0o755 if executable else 0o644)
        except FileExistsError:
            raise ArchiveError(f"archive member '{path}' appears more than once") from None
        with os.fdopen(descriptor, "wb") as target:
            while chunk := stream.read(CHUNK_SIZE):
                # Count what is really written: declared sizes in the headers are only a claim.
                self.rules.add_bytes(len(chunk), declared=False)
                target.write(chunk)


def extract_archive(
    fileobj: IO[bytes], kind: str, destination: Path, *, max_unpacked_bytes: int, max_members: int | None = None
) -> None:
    """Extract into `destination`, which must not exist or be an empty directory; on error nothing is left there.

    Symbolic links that stay inside the archive pass inspection but are not created.
    """
    if kind not in ("zip", "tar.gz"):
        raise ArchiveError(f"unsupported archive kind '{kind}'", "ARCHIVE_UNSUPPORTED_TYPE")
    destination = Path(destination)
    if destination.is_symlink() or (destination.exists() and any(destination.iterdir())):
        raise FileExistsError(f"{destination} must not exist or be an empty directory")
    destination.parent.mkdir(parents=True, exist_ok=True)
    # Build in a sibling directory and rename it into place, so a refusal halfway leaves no partial tree.
    staging = Path(tempfile.mkdtemp(prefix=f".{destination.name}-", dir=destination.parent))
    try:
        staging.chmod(0o755)
        rules = _Rules(max_unpacked_bytes=max_unpacked_bytes, max_members=max_members)
        writer = _Writer(staging, rules)
        fileobj.seek(0)
        if kind == "zip":
            _extract_zip(fileobj, writer)
        else:
            _extract_tar(fileobj, writer)
        os.rename(staging, destination)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        fileobj.seek(0)


def _extract_zip(fileobj: IO[bytes], writer: _Writer) -> None:
    with _open_zip(fileobj) as archive:
        try:
            for info, member in _zip_members(archive):
                path = writer.rules.check(member)
                if path is None or member.type == "symlink":
                    continue
                if member.type == "dir":
                    writer.directory(path)
                else:
                    with archive.open(info) as stream:
                        writer.file(path, stream, executable=member.executable)
        except _READ_ERRORS as exc:
            raise ArchiveError(f"the zip archive is damaged: {exc}") from None


def _extract_tar(fileobj: IO[bytes], writer: _Writer) -> None:
    data_filter = getattr(tarfile, "data_filter", None)
    with _open_tar(fileobj) as archive:
        try:
            for info in archive:
                path = writer.rules.check(_tar_member(info))
                if data_filter is not None:
                    # A second opinion from the standard library's own rules for untrusted archives.
                    try:
                        data_filter(info, str(writer.root))
                    except tarfile.FilterError as exc:
                        raise ArchiveError(
                            f"archive member '{info.name}' is unsafe: {exc}", "ARCHIVE_UNSAFE_PATH"
                        ) from None
                if path is None or not (info.isreg() or info.isdir()):
                    continue
                if info.isdir():
                    writer.directory(path)
                    continue
                stream = archive.extractfile(info)
                if stream is None:  # pragma: no cover - isreg() members always have data
                    raise ArchiveError(f"archive member '{info.name}' cannot be read")
                with stream:
                    writer.file(path, stream, executable=bool(info.mode & stat.S_IXUSR))
        except _READ_ERRORS as exc:
            raise ArchiveError(f"the .tar.gz archive is damaged: {exc}") from None

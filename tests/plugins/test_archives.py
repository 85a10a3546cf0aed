import gzip
import hashlib
import io
import os
import stat
import struct
import tarfile
import zipfile
from pathlib import Path

import pytest

from plugins.archives import ArchiveError, ArchiveInfo, extract_archive, inspect_archive

LIMITS = {"max_bytes": 1_000_000, "max_unpacked_bytes": 1_000_000, "max_members": 100}


def make_zip(*entries: tuple) -> io.BytesIO:
    """Each entry is (name, data) or (name, data, unix_mode)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data, *mode in entries:
            info = zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED
            if mode:
                info.create_system = 3
                info.external_attr = mode[0] << 16
            archive.writestr(info, data)
    buffer.seek(0)
    return buffer


def make_tar(*members: tarfile.TarInfo | tuple[str, bytes]) -> io.BytesIO:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for member in members:
            if isinstance(member, tarfile.TarInfo):
                archive.addfile(member)
            else:
                name, data = member
                info = tarfile.TarInfo(name)
                info.size = len(data)
                info.mode = 0o644
                archive.addfile(info, io.BytesIO(data))
    buffer.seek(0)
    return buffer


def tar_entry(name: str, kind: bytes, *, linkname: str = "", mode: int = 0o755) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    info.mode = mode
    return info


def good_zip() -> io.BytesIO:
    return make_zip(
        ("plugin/", b"", stat.S_IFDIR | 0o755),
        ("plugin/main.py", b"print('hello')\n", stat.S_IFREG | 0o644),
        ("plugin/run.sh", b"#!/bin/sh\n", stat.S_IFREG | 0o755),
        ("plugin/pkg/__init__.py", b""),
        ("plugin/pkg/sub/module.py", b"def handler(): ...\n"),
    )


def good_tar() -> io.BytesIO:
    executable = tarfile.TarInfo("./plugin/run.sh")
    executable.size = 10
    executable.mode = 0o755
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        archive.addfile(tar_entry("./", tarfile.DIRTYPE))
        archive.addfile(tar_entry("./plugin", tarfile.DIRTYPE))
        for name, data in [
            ("./plugin/main.py", b"print('hello')\n"),
            ("./plugin/pkg/__init__.py", b""),
            ("./plugin/pkg/sub/module.py", b"def handler(): ...\n"),
        ]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        archive.addfile(executable, io.BytesIO(b"#!/bin/sh\n"))
    buffer.seek(0)
    return buffer


def refused(fileobj: io.BytesIO, filename: str, **limits: int) -> ArchiveError:
    with pytest.raises(ArchiveError) as excinfo:
        inspect_archive(fileobj, filename, **{**LIMITS, **limits})
    assert fileobj.tell() == 0
    return excinfo.value


def tree(root: Path) -> dict[str, bytes | None]:
    return {path.relative_to(root).as_posix(): None if path.is_dir() else path.read_bytes() for path in root.rglob("*")}


# Inspection of good archives


def test_a_good_zip_with_nested_folders_is_described():
    upload = good_zip()
    upload.seek(7)
    info = inspect_archive(upload, "plugin.ZIP", **LIMITS)
    assert info == ArchiveInfo(
        kind="zip",
        members=["plugin/", "plugin/main.py", "plugin/run.sh", "plugin/pkg/__init__.py", "plugin/pkg/sub/module.py"],
        unpacked_bytes=len(b"print('hello')\n") + len(b"#!/bin/sh\n") + len(b"def handler(): ...\n"),
        sha256=hashlib.sha256(upload.getvalue()).hexdigest(),
    )
    assert upload.tell() == 0


@pytest.mark.parametrize("filename", ["plugin.tar.gz", "plugin.tgz", "Plugin.TAR.GZ"])
def test_a_good_tar_gz_is_described(filename):
    upload = good_tar()
    info = inspect_archive(upload, filename, **LIMITS)
    assert info.kind == "tar.gz"
    assert info.members == [
        "plugin/",
        "plugin/main.py",
        "plugin/pkg/__init__.py",
        "plugin/pkg/sub/module.py",
        "plugin/run.sh",
    ]
    assert info.unpacked_bytes == 15 + 19 + 10
    assert info.sha256 == hashlib.sha256(upload.getvalue()).hexdigest()
    assert upload.tell() == 0


def test_an_empty_zip_is_valid():
    assert inspect_archive(make_zip(), "empty.zip", **LIMITS).members == []


def test_an_internal_symlink_is_allowed_by_inspection():
    upload = make_tar(("lib/real.py", b"x = 1\n"), tar_entry("lib/alias.py", tarfile.SYMTYPE, linkname="real.py"))
    assert inspect_archive(upload, "p.tgz", **LIMITS).members == ["lib/real.py", "lib/alias.py"]
    upload = make_zip(("a/real.py", b"x\n"), ("b/link", b"../a/real.py", stat.S_IFLNK | 0o777))
    assert inspect_archive(upload, "p.zip", **LIMITS).members == ["a/real.py", "b/link"]


# Type and content checks


@pytest.mark.parametrize("filename", ["plugin.rar", "plugin.tar", "plugin.gz", "plugin", "plugin.zip.exe"])
def test_an_unsupported_file_type_is_refused(filename):
    assert refused(good_zip(), filename).code == "ARCHIVE_UNSUPPORTED_TYPE"


def test_a_text_file_named_zip_is_refused_as_invalid():
    error = refused(io.BytesIO(b"this is not a zip archive\n" * 10), "plugin.zip")
    assert error.code == "ARCHIVE_INVALID"
    assert "not a zip archive" in error.message


def test_a_zip_named_tar_gz_is_refused_as_invalid():
    assert refused(good_zip(), "plugin.tar.gz").code == "ARCHIVE_INVALID"


def test_a_tar_gz_named_zip_is_refused_as_invalid():
    assert refused(good_tar(), "plugin.zip").code == "ARCHIVE_INVALID"


def test_a_gzip_file_that_is_not_a_tar_is_refused_as_invalid():
    assert refused(io.BytesIO(gzip.compress(b"hello world " * 100)), "plugin.tar.gz").code == "ARCHIVE_INVALID"


def test_a_truncated_zip_is_refused_as_invalid():
    data = good_zip().getvalue()
    assert refused(io.BytesIO(data[: len(data) // 2]), "plugin.zip").code == "ARCHIVE_INVALID"


def test_a_truncated_tar_gz_is_refused_as_invalid():
    data = good_tar().getvalue()
    assert refused(io.BytesIO(data[: len(data) // 2]), "plugin.tgz").code == "ARCHIVE_INVALID"


# Size and count limits


class CountingReader(io.BytesIO):
    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.largest_read = 0

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.largest_read = max(self.largest_read, len(chunk))
        return chunk


def test_an_archive_over_max_bytes_is_refused_without_reading_it_whole():
    data = make_zip(("big.bin", os.urandom(2_000_000))).getvalue()  # random bytes do not compress
    upload = CountingReader(data)
    error = refused(upload, "plugin.zip", max_bytes=1_000_000, max_unpacked_bytes=100_000_000)
    assert error.code == "ARCHIVE_TOO_LARGE"
    assert upload.largest_read <= 64 * 1024


def test_an_archive_exactly_at_max_bytes_is_accepted():
    upload = good_zip()
    inspect_archive(upload, "plugin.zip", **{**LIMITS, "max_bytes": len(upload.getvalue())})


def test_the_declared_size_of_an_upload_is_trusted_to_refuse_early():
    upload = good_zip()
    upload.size = 10_000_000  # as Django's UploadedFile announces it
    assert refused(upload, "plugin.zip").code == "ARCHIVE_TOO_LARGE"


def test_a_zip_bomb_is_refused_by_its_declared_size():
    bomb = make_zip(("zeros.bin", bytes(50_000_000)))
    assert len(bomb.getvalue()) < 100_000  # tiny upload...
    error = refused(bomb, "bomb.zip", max_unpacked_bytes=10_000_000)  # ...that would unpack to 50 MB
    assert error.code == "ARCHIVE_TOO_LARGE"


def test_unpacked_sizes_are_summed_over_members():
    upload = make_zip(*[(f"f{n}.bin", bytes(400_000)) for n in range(3)])
    assert refused(upload, "p.zip", max_unpacked_bytes=1_000_000).code == "ARCHIVE_TOO_LARGE"


def test_a_tar_gz_bomb_is_refused():
    bomb = make_tar(("zeros.bin", bytes(50_000_000)))
    assert refused(bomb, "bomb.tar.gz", max_unpacked_bytes=10_000_000).code == "ARCHIVE_TOO_LARGE"


def test_a_tar_gz_bomb_hidden_in_a_pax_header_is_refused():
    # tarfile would read a pax header into memory whole; the decompressed stream must be bounded first.
    info = tarfile.TarInfo("x.py")
    info.pax_headers = {"comment": "a" * 5_000_000}
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", format=tarfile.PAX_FORMAT) as archive:
        archive.addfile(info, io.BytesIO(b""))
    assert refused(io.BytesIO(buffer.getvalue()), "bomb.tgz", max_unpacked_bytes=1_000_000).code == "ARCHIVE_TOO_LARGE"


def test_an_archive_with_too_many_members_is_refused():
    upload = make_zip(*[(f"f{n}.py", b"") for n in range(11)])
    assert refused(upload, "p.zip", max_members=10).code == "ARCHIVE_TOO_MANY_FILES"
    inspect_archive(upload, "p.zip", **{**LIMITS, "max_members": 11})
    upload = make_tar(*[(f"f{n}.py", b"") for n in range(11)])
    assert refused(upload, "p.tgz", max_members=10).code == "ARCHIVE_TOO_MANY_FILES"


# Unsafe paths

UNSAFE_NAMES = [
    "../evil.py",
    "plugin/../../evil.py",
    "plugin/..",
    "/etc/passwd",
    "..\\evil.py",
    "plugin\\..\\..\\evil.py",
    "C:/Windows/evil.py",
    "c:evil.py",
    "plugin/evil\n.py",
    "a" * 300,
]


@pytest.mark.parametrize("name", UNSAFE_NAMES)
def test_a_zip_with_an_unsafe_path_is_refused(name):
    error = refused(make_zip(("ok.py", b""), (name, b"boom")), "plugin.zip")
    assert error.code == "ARCHIVE_UNSAFE_PATH"
    assert repr(name)[1:-1] in repr(error.message)


@pytest.mark.parametrize("name", UNSAFE_NAMES)
def test_a_tar_with_an_unsafe_path_is_refused(name):
    assert refused(make_tar(("ok.py", b""), (name, b"boom")), "plugin.tar.gz").code == "ARCHIVE_UNSAFE_PATH"


def test_an_archive_with_dotdot_paths_is_refused():
    error = refused(make_zip(("../evil.py", b"import os")), "plugin.zip")
    assert error.code == "ARCHIVE_UNSAFE_PATH"
    assert error.message == "archive member '../evil.py' contains a '..' component"


def test_a_duplicate_member_is_refused():
    upload = make_tar(("main.py", b"a"), ("main.py", b"b"))
    assert refused(upload, "p.tgz").code == "ARCHIVE_INVALID"


def test_a_file_and_a_folder_of_the_same_name_are_refused():
    upload = make_tar(("main.py", b"a"), ("main.py/inner.py", b"b"))
    assert refused(upload, "p.tgz").code == "ARCHIVE_INVALID"


# Links and special files


@pytest.mark.parametrize("target", ["/etc", "/etc/passwd", "../outside", "sub/../../outside", "..", "C:\\x", ""])
def test_a_tar_symlink_leaving_the_archive_is_refused(target):
    upload = make_tar(tar_entry("config", tarfile.SYMTYPE, linkname=target))
    assert refused(upload, "plugin.tar.gz").code == "ARCHIVE_UNSAFE_LINK"


def test_a_symlink_to_etc_is_refused():
    error = refused(make_tar(tar_entry("etc", tarfile.SYMTYPE, linkname="/etc")), "plugin.tgz")
    assert error.code == "ARCHIVE_UNSAFE_LINK"
    assert "'/etc'" in error.message


@pytest.mark.parametrize("target", ["main.py", "/etc/passwd", "../../x"])
def test_every_hardlink_is_refused(target):
    upload = make_tar(("main.py", b"x"), tar_entry("copy.py", tarfile.LNKTYPE, linkname=target))
    assert refused(upload, "plugin.tgz").code == "ARCHIVE_UNSAFE_LINK"


def test_a_member_stored_under_a_symlink_is_refused():
    # "lib" points inside the archive, but writing "lib/x" through it could land anywhere once links chain.
    upload = make_tar(
        ("real/keep.py", b""),
        tar_entry("lib", tarfile.SYMTYPE, linkname="real"),
        ("lib/x.py", b"boom"),
    )
    assert refused(upload, "plugin.tgz").code == "ARCHIVE_UNSAFE_LINK"


def test_a_symlink_replacing_an_earlier_folder_is_refused():
    upload = make_tar(("lib/x.py", b""), tar_entry("lib", tarfile.SYMTYPE, linkname="real"))
    assert refused(upload, "plugin.tgz").code == "ARCHIVE_INVALID"


@pytest.mark.parametrize("target", [b"/etc/passwd", b"../../../etc", b"..\\..\\x"])
def test_a_zip_symlink_leaving_the_archive_is_refused(target):
    upload = make_zip(("main.py", b""), ("config", target, stat.S_IFLNK | 0o777))
    assert refused(upload, "plugin.zip").code == "ARCHIVE_UNSAFE_LINK"


@pytest.mark.parametrize("kind", [tarfile.FIFOTYPE, tarfile.CHRTYPE, tarfile.BLKTYPE])
def test_a_tar_device_or_fifo_is_refused(kind):
    upload = make_tar(tar_entry("dev/thing", kind))
    assert refused(upload, "plugin.tgz").code == "ARCHIVE_UNSAFE_MEMBER"


def test_a_zip_member_with_fifo_mode_bits_is_refused():
    upload = make_zip(("pipe", b"", stat.S_IFIFO | 0o644))
    assert refused(upload, "plugin.zip").code == "ARCHIVE_UNSAFE_MEMBER"


def _set_encrypted_flag(data: bytes) -> bytes:
    data = bytearray(data)
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = data.find(signature)
        (flags,) = struct.unpack_from("<H", data, at + offset)
        struct.pack_into("<H", data, at + offset, flags | 0x1)
    return bytes(data)


def test_an_encrypted_zip_member_is_refused():
    upload = io.BytesIO(_set_encrypted_flag(make_zip(("secret.py", b"x = 1\n")).getvalue()))
    assert refused(upload, "plugin.zip").code == "ARCHIVE_ENCRYPTED"


# Extraction


def test_a_good_zip_is_extracted_with_its_folders(tmp_path):
    upload = good_zip()
    extract_archive(upload, "zip", tmp_path / "code", max_unpacked_bytes=1_000_000)
    assert tree(tmp_path) == {
        "code": None,
        "code/plugin": None,
        "code/plugin/main.py": b"print('hello')\n",
        "code/plugin/run.sh": b"#!/bin/sh\n",
        "code/plugin/pkg": None,
        "code/plugin/pkg/__init__.py": b"",
        "code/plugin/pkg/sub": None,
        "code/plugin/pkg/sub/module.py": b"def handler(): ...\n",
    }
    assert (tmp_path / "code/plugin/run.sh").stat().st_mode & 0o777 == 0o755
    assert (tmp_path / "code/plugin/main.py").stat().st_mode & 0o777 == 0o644
    assert upload.tell() == 0


def test_a_good_tar_gz_is_extracted_with_its_folders(tmp_path):
    extract_archive(good_tar(), "tar.gz", tmp_path / "code", max_unpacked_bytes=1_000_000)
    assert tree(tmp_path) == {
        "code": None,
        "code/plugin": None,
        "code/plugin/main.py": b"print('hello')\n",
        "code/plugin/run.sh": b"#!/bin/sh\n",
        "code/plugin/pkg": None,
        "code/plugin/pkg/__init__.py": b"",
        "code/plugin/pkg/sub": None,
        "code/plugin/pkg/sub/module.py": b"def handler(): ...\n",
    }
    assert (tmp_path / "code/plugin/run.sh").stat().st_mode & 0o777 == 0o755


def test_extraction_into_an_existing_empty_folder_works(tmp_path):
    (tmp_path / "code").mkdir()
    extract_archive(make_zip(("a.py", b"1")), "zip", tmp_path / "code", max_unpacked_bytes=100)
    assert tree(tmp_path) == {"code": None, "code/a.py": b"1"}


def test_extraction_into_a_non_empty_folder_is_refused(tmp_path):
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "old.py").write_bytes(b"")
    with pytest.raises(FileExistsError):
        extract_archive(make_zip(("a.py", b"1")), "zip", tmp_path / "code", max_unpacked_bytes=100)


@pytest.mark.parametrize(
    ("upload", "kind", "code"),
    [
        (make_zip(("ok.py", b"ok"), ("../evil.py", b"boom")), "zip", "ARCHIVE_UNSAFE_PATH"),
        (make_tar(("ok.py", b"ok"), ("../evil.py", b"boom")), "tar.gz", "ARCHIVE_UNSAFE_PATH"),
        (make_tar(("ok.py", b"ok"), ("/root/evil.py", b"boom")), "tar.gz", "ARCHIVE_UNSAFE_PATH"),
        (
            make_tar(("ok.py", b"ok"), tar_entry("etc", tarfile.SYMTYPE, linkname="/etc")),
            "tar.gz",
            "ARCHIVE_UNSAFE_LINK",
        ),
        (
            make_tar(("ok.py", b"ok"), tar_entry("h", tarfile.LNKTYPE, linkname="ok.py")),
            "tar.gz",
            "ARCHIVE_UNSAFE_LINK",
        ),
        (make_zip(("ok.py", b"ok"), ("l", b"/etc", stat.S_IFLNK | 0o777)), "zip", "ARCHIVE_UNSAFE_LINK"),
    ],
)
def test_extraction_rechecks_every_member_and_leaves_nothing_behind(tmp_path, upload, kind, code):
    with pytest.raises(ArchiveError) as excinfo:
        extract_archive(upload, kind, tmp_path / "out" / "code", max_unpacked_bytes=1_000_000)
    assert excinfo.value.code == code
    assert tree(tmp_path) == {"out": None}  # no staging folder, no ok.py, and certainly no evil.py
    assert not (tmp_path.parent / "evil.py").exists()
    assert upload.tell() == 0


def test_extraction_counts_the_bytes_it_writes(tmp_path):
    upload = make_tar(("a.bin", bytes(600)), ("b.bin", bytes(600)))
    with pytest.raises(ArchiveError) as excinfo:
        extract_archive(upload, "tar.gz", tmp_path / "code", max_unpacked_bytes=1000)
    assert excinfo.value.code == "ARCHIVE_TOO_LARGE"
    assert list(tmp_path.iterdir()) == []


def test_a_zip_whose_declared_size_lies_is_not_extracted(tmp_path):
    data = bytearray(make_zip(("zeros.bin", bytes(1_000_000))).getvalue())
    central = data.find(b"PK\x01\x02")
    struct.pack_into("<I", data, central + 24, 10)  # claims 10 bytes once unpacked
    upload = io.BytesIO(bytes(data))
    assert inspect_archive(upload, "liar.zip", **LIMITS).unpacked_bytes == 10
    with pytest.raises(ArchiveError) as excinfo:
        extract_archive(upload, "zip", tmp_path / "code", max_unpacked_bytes=100)
    assert excinfo.value.code in {"ARCHIVE_INVALID", "ARCHIVE_TOO_LARGE"}
    assert list(tmp_path.iterdir()) == []


def test_internal_symlinks_are_not_created_on_extraction(tmp_path):
    upload = make_tar(("real.py", b"x = 1\n"), tar_entry("alias.py", tarfile.SYMTYPE, linkname="real.py"))
    extract_archive(upload, "tar.gz", tmp_path / "code", max_unpacked_bytes=1000)
    assert tree(tmp_path) == {"code": None, "code/real.py": b"x = 1\n"}
    upload = make_zip(("real.py", b"x = 1\n"), ("alias.py", b"real.py", stat.S_IFLNK | 0o777))
    extract_archive(upload, "zip", tmp_path / "zipped", max_unpacked_bytes=1000)
    assert tree(tmp_path / "zipped") == {"real.py": b"x = 1\n"}


def test_extraction_drops_setuid_bits(tmp_path):
    info = tarfile.TarInfo("tool")
    info.size = 2
    info.mode = 0o4777
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        archive.addfile(info, io.BytesIO(b"#!"))
    buffer.seek(0)
    extract_archive(buffer, "tar.gz", tmp_path / "code", max_unpacked_bytes=100)
    assert (tmp_path / "code/tool").stat().st_mode & 0o7777 == 0o755


def test_extraction_of_an_unknown_kind_is_refused(tmp_path):
    with pytest.raises(ArchiveError) as excinfo:
        extract_archive(good_zip(), "rar", tmp_path / "code", max_unpacked_bytes=100)
    assert excinfo.value.code == "ARCHIVE_UNSUPPORTED_TYPE"


def test_extraction_can_also_limit_members(tmp_path):
    upload = make_zip(*[(f"f{n}.py", b"") for n in range(5)])
    with pytest.raises(ArchiveError) as excinfo:
        extract_archive(upload, "zip", tmp_path / "code", max_unpacked_bytes=100, max_members=4)
    assert excinfo.value.code == "ARCHIVE_TOO_MANY_FILES"


# Entry points

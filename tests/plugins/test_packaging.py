import os
import stat
import zipfile
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from plugins import services
from tests.processes import ROOT

EXAMPLES = ROOT / "examples" / "plugins"


def packplugin(*args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("packplugin", *map(str, args), stdout=out, stderr=err)
    return out.getvalue().strip(), err.getvalue()


def shell_plugin(directory: Path) -> Path:
    (directory / "lib").mkdir(parents=True)
    (directory / "run.sh").write_text("#!/bin/sh\necho hello\n")
    (directory / "run.sh").chmod(0o755)
    (directory / "lib" / "helper.py").write_text("X = 1\n")
    (directory / "lib" / "__pycache__").mkdir()
    (directory / "lib" / "__pycache__" / "helper.cpython-311.pyc").write_bytes(b"\0")
    (directory / ".git").mkdir()
    (directory / ".git" / "HEAD").write_text("ref\n")
    (directory / "tests").mkdir()
    (directory / "tests" / "test_run.py").write_text("def test(): pass\n")
    return directory


def test_a_directory_is_packed_without_caches_vcs_or_tests_and_keeps_the_executable_bit(tmp_path):
    source = shell_plugin(tmp_path / "hello")
    path, summary = packplugin(source, "-o", tmp_path / "out" / "hello.zip", "--entry-point", "run.sh")

    assert path == str(tmp_path / "out" / "hello.zip")
    with zipfile.ZipFile(path) as archive:
        assert archive.namelist() == ["lib/helper.py", "run.sh"]
        mode = archive.getinfo("run.sh").external_attr >> 16
        assert stat.S_ISREG(mode) and mode & stat.S_IXUSR
        assert not (archive.getinfo("lib/helper.py").external_attr >> 16) & stat.S_IXUSR
    assert "2 files" in summary and "entry_point=run.sh" in summary


def test_the_same_directory_gives_the_same_archive(tmp_path):
    source = shell_plugin(tmp_path / "hello")
    packplugin(source, "-o", tmp_path / "a.zip")
    os.utime(source / "run.sh", (0, 0))  # a touched file changes nothing but its time
    packplugin(source, "-o", tmp_path / "b.zip")
    assert (tmp_path / "a.zip").read_bytes() == (tmp_path / "b.zip").read_bytes()


def test_the_default_output_is_next_to_the_directory(tmp_path):
    source = shell_plugin(tmp_path / "hello")
    assert packplugin(source)[0] == str(tmp_path / "hello.zip")


@pytest.mark.parametrize(
    ("entry_point", "accepted"),
    [
        ("csv_importer:run", True),
        ("python csv_importer.py", True),
        ("csv_importer", True),
        ("importer:run", False),
        ("run.sh", False),
        ("bin/missing.sh", False),
        ("module.with-dash:run", False),
    ],
)
def test_the_entry_point_must_name_something_the_archive_holds(tmp_path, entry_point, accepted):
    arguments = (EXAMPLES / "csv-importer", "-o", tmp_path / "p.zip", "--entry-point", entry_point)
    if accepted:
        packplugin(*arguments)
    else:
        with pytest.raises(CommandError, match="entry point"):
            packplugin(*arguments)
        assert not (tmp_path / "p.zip").exists()


def test_a_symbolic_link_is_refused_since_the_upload_would_not_create_it(tmp_path):
    source = shell_plugin(tmp_path / "hello")
    (source / "lib" / "link.py").symlink_to(source / "lib" / "helper.py")
    with pytest.raises(CommandError, match=r"lib/link.py is a symbolic link"):
        packplugin(source, "-o", tmp_path / "p.zip")


def test_what_the_upload_would_refuse_is_refused_here(tmp_path, settings):
    settings.PLUGIN_ARCHIVE_MAX_MEMBERS = 1
    with pytest.raises(CommandError, match=r"the upload would refuse this archive: .*more than 1 files"):
        packplugin(shell_plugin(tmp_path / "hello"), "-o", tmp_path / "p.zip")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["missing-directory"], "is not a directory"),
        (["EMPTY"], "holds no file"),
        (["EMPTY", "-o", "p.tar.gz"], "writes a .zip"),
    ],
)
def test_bad_arguments_are_clear_errors(tmp_path, arguments, message):
    (tmp_path / "empty").mkdir()
    arguments = [a.replace("EMPTY", str(tmp_path / "empty")) for a in arguments]
    with pytest.raises(CommandError, match=message):
        packplugin(*arguments)


@pytest.mark.parametrize(
    ("example", "entry_point"), [("csv-importer", "csv_importer:run"), ("execution-report", "execution_report:run")]
)
def test_the_examples_packed_are_accepted_by_the_upload(tmp_path, v1, version, example, entry_point):
    path, _ = packplugin(EXAMPLES / example, "-o", tmp_path / f"{example}.zip", "-e", entry_point)
    url = f"/v1/plugins/{version.plugin_id}/versions/{version.version_id}/archive"
    with open(path, "rb") as archive:
        response = v1.put(url, {"file": archive, "entry_point": entry_point}, format="multipart")
    assert response.status_code == 200, response.content
    version.refresh_from_db()
    assert version.entry_point == entry_point and services.version_was_used(version) is False
    with zipfile.ZipFile(path) as archive:
        assert not [name for name in archive.namelist() if name.startswith("tests/") or "__pycache__" in name]

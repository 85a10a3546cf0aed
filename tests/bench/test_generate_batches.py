"""The bench's generated batches: shaped as the bench says, and read back by the full profile."""

import csv
import io
import zipfile

import pytest

from bench.generate_batches import CLASS_HEADER, INSURED_HEADER, ensure_batch, parse_size, write_batch
from profiling.profiler.full import full_profile
from profiling.profiler.preliminary import preliminary_profile


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    return write_batch(tmp_path_factory.mktemp("batches") / "batch.zip", target_bytes=300_000, seed=3, orphan_every=500)


def member_text(batch, name) -> str:
    with zipfile.ZipFile(batch.path) as archive:
        return archive.read(name).decode()


def test_a_batch_has_insured_and_class_members_of_about_the_asked_size(batch):
    with zipfile.ZipFile(batch.path) as archive:
        infos = {info.filename: info for info in archive.infolist()}
    assert set(infos) == {"insured.csv", "class.csv"}
    assert all(info.compress_type == zipfile.ZIP_DEFLATED for info in infos.values())
    assert abs(batch.bytes - 300_000) < 300_000 * 0.05
    assert batch.bytes == sum(info.file_size for info in infos.values())


def test_rows_keep_leading_zeros_and_use_month_day_year_dates(batch):
    rows = list(csv.reader(io.StringIO(member_text(batch, "insured.csv"))))
    assert rows[0] == INSURED_HEADER
    good = [row for row in rows[1:] if len(row) == len(INSURED_HEADER)]
    assert all(row[0].startswith("0") and len(row[0]) == 12 for row in good)
    assert any(row[8].startswith("0") for row in good)  # zip codes
    assert all(len(row[8]) == 5 for row in good)
    assert all(row[3] in {"Y", "N"} for row in good)
    assert any("/" in row[1] and not row[1].startswith("0") for row in good)
    assert any(row[2] == "" for row in good)  # some nulls
    assert any("," in row[5] for row in good)  # a quoted address holding the delimiter
    classes = list(csv.reader(io.StringIO(member_text(batch, "class.csv"))))
    assert classes[0] == CLASS_HEADER
    assert any(row[3].startswith("0") for row in classes[1:])


def test_malformed_rows_are_on_the_lines_the_batch_lists(batch):
    for member in batch.members:
        lines = member_text(batch, member.name).splitlines()
        assert len(lines) == member.rows + 1
        width = len(lines[0].split(","))
        for number in member.malformed_lines:
            row = next(csv.reader([lines[number - 1]]))
            assert len(row) != width or '"x' in lines[number - 1]


def test_the_same_parameters_give_the_same_bytes(tmp_path, batch):
    again = write_batch(tmp_path / "again.zip", target_bytes=300_000, seed=3, orphan_every=500)
    assert [member_text(again, m.name) for m in again.members] == [member_text(batch, m.name) for m in batch.members]


@pytest.mark.parametrize(("fmt", "delimiter"), [("psv", "|"), ("tsv", "\t"), ("txt", ",")])
def test_other_formats_use_their_delimiter(tmp_path, fmt, delimiter):
    info = ensure_batch(tmp_path, target_bytes=50_000, fmt=fmt)
    assert [m.name for m in info.members] == [f"insured.{fmt}", f"class.{fmt}"]
    header = member_text(info, f"class.{fmt}").splitlines()[0]
    assert header.split(delimiter) == CLASS_HEADER
    assert ensure_batch(tmp_path, target_bytes=50_000, fmt=fmt) == info  # reused, not regenerated


def test_sizes_are_decimal():
    assert parse_size("10MB") == 10_000_000
    assert parse_size("1GB") == 10**9
    assert parse_size("250kb") == 250_000


def test_the_full_profile_finds_what_the_generator_planted(batch):
    profile = full_profile(batch.path)
    assert profile["rowCount"] == sum(member.rows for member in batch.members)
    for planted, found in zip(batch.members, profile["members"], strict=True):
        assert [row["line"] for row in found["malformedRows"]] == planted.malformed_lines
    insured = {column["name"]: column for column in profile["members"][0]["columns"]}
    assert insured["policy_zip_code"]["type"] == "text"
    assert insured["original_policy_term_number"]["type"] == "text"
    assert insured["term_effective_date"]["dateFormat"] == "M/D/YYYY"
    assert insured["new_renew_flag"]["type"] == "flag"
    (orphans,) = profile["crossMemberChecks"]
    # Orphans planted, plus the class rows of the insured rows that were malformed (not loaded).
    assert orphans["count"] >= batch.orphan_class_rows > 0


def test_the_preliminary_profile_names_the_nodes(batch):
    profile = preliminary_profile(batch.path)
    assert [member["node"] for member in profile["members"]] == ["insured", "class"]

"""The preliminary profile: the central directory plus a small head of each member.

Its cost does not grow with the zip's size (one head read per member), so it is ready within a
second of the upload whatever the batch weighs.
"""

import csv
import io
import zipfile

from profiling.profiler.limits import ProfileLimits
from profiling.profiler.nodes import lines_of_business, node_of
from profiling.profiler.zipcheck import Member, check_zip, open_zip

DELIMITERS = {"csv": ",", "psv": "|", "tsv": "\t"}
CANDIDATE_DELIMITERS = (",", "|", "\t", ";")
DELIMITER_NAMES = {",": "comma", "|": "pipe", "\t": "tab", ";": "semicolon"}


def preliminary_profile(zip_source, *, limits: ProfileLimits | None = None) -> dict:
    """The preliminary profile of a zip (a path or a seekable binary file).

    Raises zipcheck.ZipRejected when the zip breaks a rule."""
    limits = limits or ProfileLimits()
    with open_zip(zip_source) as archive:
        members = check_zip(archive, limits)
        described = [describe_member(archive, member, limits) for member in members]
    nodes = [member["node"] for member in described]
    return {
        "kind": "preliminary",
        "format": members[0].format,
        "memberCount": len(described),
        "compressedSize": sum(member.compressed_size for member in members),
        "uncompressedSize": sum(member.uncompressed_size for member in members),
        "linesOfBusiness": lines_of_business(nodes),
        "members": described,
    }


def describe_member(archive: zipfile.ZipFile, member: Member, limits: ProfileLimits) -> dict:
    with archive.open(member.name) as stream:
        head = stream.read(limits.head_bytes + 1)
    complete = len(head) <= limits.head_bytes  # the head is the whole member
    head = head[: limits.head_bytes]
    encoding, text = decode_head(head, complete=complete)
    delimiter = DELIMITERS.get(member.format) or sniff_delimiter(text)
    lines = _complete_lines(text, complete)
    rows = list(csv.reader(io.StringIO("".join(lines)), delimiter=delimiter))
    header = [field.strip() for field in rows[0]] if rows else []
    has_header = looks_like_header(header)
    data_rows = max(len(rows) - (1 if has_header else 0), 0)
    if complete:
        estimate = data_rows
    elif lines:
        consumed = len("".join(lines).encode(encoding, errors="replace"))
        estimate = round(member.uncompressed_size / max(consumed / len(lines), 1)) - (1 if has_header else 0)
    else:
        estimate = None  # one line longer than the head: nothing to estimate from
    return {
        "name": member.name,
        "node": node_of(member.name),
        "format": member.format,
        "compression": member.compression,
        "compressedSize": member.compressed_size,
        "uncompressedSize": member.uncompressed_size,
        "encoding": encoding,
        "delimiter": DELIMITER_NAMES.get(delimiter, delimiter),
        "hasHeader": has_header,
        "header": header if has_header else [],
        "columnCount": len(header),
        "rowEstimate": estimate,
        "rowEstimateExact": complete,
    }


def decode_head(head: bytes, *, complete: bool) -> tuple[str, str]:
    """(encoding name, text). A head cut in the middle of a UTF-8 character is still UTF-8."""
    for bom, name in ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be")):
        if head.startswith(bom):
            return name, head[len(bom) :].decode(name.replace("-sig", ""), errors="replace")
    for cut in range(0 if complete else 4):
        try:
            return "utf-8", head[: len(head) - cut].decode("utf-8")
        except UnicodeDecodeError:
            continue
    try:
        return "utf-8", head.decode("utf-8")
    except UnicodeDecodeError:
        return "windows-1252", head.decode("cp1252", errors="replace")


def sniff_delimiter(text: str) -> str:
    """The candidate that splits the first lines into the same, largest number of fields."""
    lines = [line for line in text.splitlines()[:20] if line.strip()][:-1] or text.splitlines()[:1]
    best, best_score = ",", -1
    for candidate in CANDIDATE_DELIMITERS:
        counts = [len(next(csv.reader([line], delimiter=candidate), [])) for line in lines]
        if not counts or counts[0] < 2:
            continue
        score = counts.count(counts[0]) * counts[0]
        if score > best_score:
            best, best_score = candidate, score
    return best


def looks_like_header(fields: list[str]) -> bool:
    """Names, not data: none empty, a number or a date."""
    if not fields or any(not field for field in fields):
        return False
    return not any(_looks_like_value(field) for field in fields)


def _looks_like_value(field: str) -> bool:
    stripped = field.replace(".", "", 1).replace("-", "", 1).replace("/", "").replace(",", "")
    return stripped.isdigit()


def _complete_lines(text: str, complete: bool) -> list[str]:
    lines = text.splitlines(keepends=True)
    if not complete and lines and not lines[-1].endswith(("\n", "\r")):
        lines = lines[:-1]  # cut by the head's end
    return lines

"""Finding a batch's node files and reading their rows: delimiter by extension, UTF-8 or latin-1, header names
case-insensitive and trimmed. Rows are streamed: nothing here holds more than one row."""

import codecs
import csv
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from insureright_wc import ScoringInputError

DELIMITERS = {".csv": ",", ".psv": "|", ".tsv": "\t"}
SNIFFED = ".txt"
# Candidates for a .txt member, in the order that breaks a tie.
SNIFF_CANDIDATES = (",", "|", "\t", ";")
CHUNK = 1024 * 1024


@dataclass(frozen=True)
class NodeFile:
    node: str
    path: Path
    delimiter: str
    encoding: str


def locate_nodes(input_dir: Path, nodes: Mapping[str, str] | None, wanted: tuple[str, ...]) -> dict[str, Path]:
    """Each wanted node's file: named by the `nodes` parameter when given, else the one `<node>.*` of input_dir."""
    found = {}
    for node in wanted:
        name = (nodes or {}).get(node)
        if name:
            if not isinstance(name, str) or Path(name).name != name:
                raise ScoringInputError(f"the nodes parameter names {name!r} for {node}: a plain file name is expected")
            path = input_dir / name
            if not path.is_file():
                raise ScoringInputError(f"the {node} node's file {name} is not among the inputs")
        else:
            path = _find_by_stem(input_dir, node)
        found[node] = path
    return found


def _find_by_stem(input_dir: Path, node: str) -> Path:
    candidates = (
        sorted(
            p
            for p in input_dir.iterdir()
            if p.is_file() and p.stem.lower() == node and p.suffix.lower() in (*DELIMITERS, SNIFFED)
        )
        if input_dir.is_dir()
        else []
    )
    if not candidates:
        raise ScoringInputError(f"the batch has no {node} node: expected a file {node}.csv, .psv, .tsv or .txt")
    if len(candidates) > 1:
        names = ", ".join(p.name for p in candidates)
        raise ScoringInputError(f"the batch has more than one {node} node ({names}): name one in the nodes parameter")
    return candidates[0]


def open_node(node: str, path: Path) -> NodeFile:
    """How to read the file: its encoding (one streamed pass) and its delimiter."""
    suffix = path.suffix.lower()
    encoding = detect_encoding(path)
    if suffix in DELIMITERS:
        delimiter = DELIMITERS[suffix]
    elif suffix == SNIFFED:
        delimiter = sniff_delimiter(path, encoding)
    else:
        raise ScoringInputError(f"{path.name} ({node}) is not a .csv, .psv, .tsv or .txt file")
    return NodeFile(node=node, path=path, delimiter=delimiter, encoding=encoding)


def detect_encoding(path: Path) -> str:
    """UTF-8 (a byte order mark allowed) when every byte decodes as such, else latin-1, which decodes anything.
    Decided before reading rows, so a row near the end is never read under a different encoding."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    with path.open("rb") as handle:
        try:
            while chunk := handle.read(CHUNK):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "latin-1"
    return "utf-8-sig"


def sniff_delimiter(path: Path, encoding: str) -> str:
    """A .txt member's delimiter: the candidate the header line holds most of (a header has no quoted delimiters)."""
    with path.open(encoding=encoding, newline="") as handle:
        header = handle.readline()
    counts = {candidate: header.count(candidate) for candidate in SNIFF_CANDIDATES}
    best = max(SNIFF_CANDIDATES, key=lambda c: counts[c])  # max keeps the first of equals: deterministic
    return best if counts[best] else ","


def normalise_name(name: str) -> str:
    return name.strip().lower()


def read_header(node_file: NodeFile) -> list[str]:
    with node_file.path.open(encoding=node_file.encoding, newline="") as handle:
        header = next(csv.reader(handle, delimiter=node_file.delimiter), None)
    if not header or not any(cell.strip() for cell in header):
        raise ScoringInputError(f"{node_file.path.name} ({node_file.node}) is empty: a header line was expected")
    return [normalise_name(cell) for cell in header]


def check_columns(node_file: NodeFile, header: list[str], required: tuple[str, ...]) -> None:
    missing = [name for name in required if name not in header]
    if missing:
        raise ScoringInputError(
            f"{node_file.path.name} ({node_file.node}) lacks the required column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(missing)} (its columns: {', '.join(header)})"
        )


def iter_rows(node_file: NodeFile, columns: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str], str | None]]:
    """(row_number, {column: value}, problem) for each data row; row 1 is the first after the header. Only `columns`
    are kept (the first of a repeated header name wins); short rows are padded with empty cells (spreadsheets drop
    trailing empty cells), a row with more cells than the header has a problem. Blank lines are skipped."""
    with node_file.path.open(encoding=node_file.encoding, newline="") as handle:
        reader = csv.reader(handle, delimiter=node_file.delimiter)
        header = [normalise_name(cell) for cell in next(reader, [])]
        at = {}
        for index, name in enumerate(header):
            if name in columns and name not in at:
                at[name] = index
        row_number = 0
        try:
            for cells in reader:
                row_number += 1
                if not any(cell.strip() for cell in cells):
                    continue
                values = {name: cells[index].strip() if index < len(cells) else "" for name, index in at.items()}
                problem = None
                if len(cells) > len(header):
                    problem = f"{len(cells)} cells where the header has {len(header)} (an unquoted delimiter?)"
                yield row_number, values, problem
        except csv.Error as error:
            raise ScoringInputError(
                f"{node_file.path.name} ({node_file.node}) cannot be read after row {row_number}: {error}"
            ) from None

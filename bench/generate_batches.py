"""Zip batches shaped like the reference's workers-compensation nodes: `insured` and `class` members.

    .venv/bin/python bench/generate_batches.py --size 100MB [--format csv|psv|tsv|txt] [--seed 1] [--out DIR]

What a member holds (see ../shared/reference/valen.md for the nodes):

- insured: one row per policy term: `original_policy_term_number` (an id with leading zeros),
  `term_effective_date` (M/D/YYYY), `experience_mod_factor_initial` (decimal, some empty),
  `new_renew_flag` (Y/N), `insured_name` (quoted when it holds the delimiter, a few non-ASCII),
  `policy_address` ("1234 Anystreet, Suite 5": quoted), city, state, `policy_zip_code` (five
  digits, about one in ten with a leading zero), `available_history_1..3`,
  `non_zero_claim_count_1..3` (integers, some empty), `underwriter` (a third empty).
- class: one to five rows per policy term, linked to it by `original_policy_term_number` and
  `term_effective_date`, with `state_code`, `class_code` (four digits, leading zeros kept) and
  `payroll_amount_initial` (money, two decimals, some empty). A few rows name a policy term that
  has no insured row (orphans, for the cross-member check).
- A few malformed rows per member (`malformed_rows`, spread over the file): a missing field, an
  extra field, or text after a closing quote. Their line numbers (the header is line 1) are in the
  returned `BatchInfo`.

Deterministic: the same size, format and seed give the same bytes. Streaming: rows go to the zip
member in chunks, so a 1 GB batch needs a few MB of memory. Sizes are the uncompressed size of all
members together (decimal: 1GB = 10**9 bytes), within about 1 %.

Importable: `write_batch(path, target_bytes=..., fmt="csv")` and `ensure_batch(directory, ...)`
(which reuses a batch generated earlier with the same parameters).
"""

import argparse
import datetime
import json
import random
import re
import sys
import tempfile
import time
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

GENERATOR_VERSION = 1  # bump when the bytes change, so cached batches are regenerated
DEFAULT_DIRECTORY = Path(tempfile.gettempdir()) / "batchplatform-bench"
DELIMITERS = {"csv": ",", "psv": "|", "tsv": "\t", "txt": ","}
SIZES = {"10MB": 10 * 10**6, "100MB": 100 * 10**6, "1GB": 10**9}
CHUNK_ROWS = 5000
SAMPLE_POLICIES = 2000
ORPHAN_EVERY = 5000  # one class row in this many names a policy term with no insured row

INSURED_HEADER = [
    "original_policy_term_number",
    "term_effective_date",
    "experience_mod_factor_initial",
    "new_renew_flag",
    "insured_name",
    "policy_address",
    "policy_city_name",
    "policy_state_code",
    "policy_zip_code",
    "available_history_1",
    "available_history_2",
    "available_history_3",
    "non_zero_claim_count_1",
    "non_zero_claim_count_2",
    "non_zero_claim_count_3",
    "underwriter",
]
CLASS_HEADER = [
    "original_policy_term_number",
    "term_effective_date",
    "state_code",
    "class_code",
    "payroll_amount_initial",
]

STATES = (
    "AL AK AZ AR CA CO CT DE FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO "
    "MT NE NV NH NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY"
).split()
CITIES = (
    "Springfield Franklin Greenville Bristol Clinton Fairview Salem Madison Georgetown Arlington "
    "Ashland Burlington Manchester Milton Newport Oxford Riverside Dover Hudson Kingston Auburn "
    "Dayton Lexington Marion Jackson Winchester Centerville Lebanon Chester Plymouth"
).split()
STREETS = "Main Oak Pine Maple Cedar Elm Washington Lake Hill Park View Church Market Spring Ridge".split()
STREET_KINDS = ["St", "Ave", "Rd", "Blvd", "Ln", "Dr", "Way"]
NAME_PARTS = (
    "Acme Summit Pioneer Keystone Liberty Frontier Harbor Granite Evergreen Redwood Atlas Beacon "
    "Cascade Delta Eagle Falcon Horizon Ironwood Juniper Lakeside Meridian Northstar Orchard Prairie "
    "Quarry Sierra Timber Union Valley Westfield Café Müller Peña Zoë"
).split()
NAME_KINDS = ["Inc.", "LLC", "Co.", "Corp.", "& Sons", "Holdings, Inc.", "Services, LLC", "Group"]
UNDERWRITERS = ["J. Smith", "A. Garcia", "M. Chen", "R. Patel", "K. O'Brien", "L. Nguyen", "S. Okafor", "D. Rossi"]
# Real workers-compensation class codes are four digits, some with leading zeros (0005 farms).
CLASS_CODES = ["0005", "0008", "0035", "0042", "0917", "2003", "3632", "5183", "5403", "5645", "7219", "8017", "8810"]
FIRST_DATE = datetime.date(2015, 1, 1)
DATES = [f"{d.month}/{d.day}/{d.year}" for d in (FIRST_DATE + datetime.timedelta(days=n) for n in range(3653))]


@dataclass
class MemberInfo:
    name: str
    rows: int = 0  # data rows, malformed ones included, header excluded
    bytes: int = 0
    malformed_lines: list[int] = field(default_factory=list)


@dataclass
class BatchInfo:
    path: str
    fmt: str
    seed: int
    target_bytes: int
    policies: int
    orphan_class_rows: int
    members: list[MemberInfo]
    seconds: float = 0.0

    @property
    def bytes(self) -> int:
        return sum(member.bytes for member in self.members)


def policy_number(index: int) -> str:
    return f"{index * 7 + 3:012d}"


def policy_date(index: int) -> str:
    # Derived from the index, not drawn: class rows must repeat their insured row's date.
    return DATES[(index * 2654435761 >> 7) % len(DATES)]


class _Rows:
    """Row text for one format. `quote` is applied only to the columns that can hold the delimiter."""

    def __init__(self, fmt: str):
        self.delimiter = DELIMITERS[fmt]

    def quote(self, value: str) -> str:
        if self.delimiter in value or '"' in value:
            return '"' + value.replace('"', '""') + '"'
        return value

    def insured(self, rng: random.Random, index: int) -> list[str]:
        r = rng.random
        name = f"{rng.choice(NAME_PARTS)} {rng.choice(NAME_PARTS)} {rng.choice(NAME_KINDS)}"
        street = f"{rng.randrange(1, 20000)} {rng.choice(STREETS)} {rng.choice(STREET_KINDS)}"
        address = f"{street}, Suite {rng.randrange(1, 900)}" if r() < 0.3 else street
        return [
            policy_number(index),
            policy_date(index),
            "" if r() < 0.08 else f"{0.6 + r() * 0.9:.2f}",
            "Y" if r() < 0.7 else "N",
            self.quote(name),
            self.quote(address),
            rng.choice(CITIES),
            rng.choice(STATES),
            f"{rng.randrange(100000):05d}",
            str(rng.randrange(4)),
            str(rng.randrange(4)),
            str(rng.randrange(4)),
            "" if r() < 0.05 else str(int(r() * r() * 12)),
            "" if r() < 0.05 else str(int(r() * r() * 12)),
            "" if r() < 0.05 else str(int(r() * r() * 12)),
            "" if r() < 0.33 else rng.choice(UNDERWRITERS),
        ]

    def classes(self, rng: random.Random, index: int) -> list[list[str]]:
        number, date = policy_number(index), policy_date(index)
        state = rng.choice(STATES)
        return [
            [
                number,
                date,
                state if rng.random() < 0.8 else rng.choice(STATES),
                rng.choice(CLASS_CODES),
                "" if rng.random() < 0.02 else f"{rng.lognormvariate(11.5, 1.2):.2f}",
            ]
            for _ in range(rng.randrange(1, 6))
        ]

    def malformed(self, row: list[str], kind: int) -> list[str]:
        if kind == 0:
            return row[:-1]  # a field missing
        if kind == 1:
            return [*row, "EXTRA"]  # one field too many
        # Text after the closing quote of a quoted field.
        return [row[0], f'"{row[1]}"x', *row[2:]]


def _estimate_policies(fmt: str, seed: int, target_bytes: int) -> int:
    rows, rng = _Rows(fmt), random.Random(seed)
    sample = 0
    for index in range(SAMPLE_POLICIES):
        sample += len(rows.delimiter.join(rows.insured(rng, index)).encode()) + 1
        sample += sum(len(rows.delimiter.join(row).encode()) + 1 for row in rows.classes(rng, index))
    return max(1, round(target_bytes / (sample / SAMPLE_POLICIES)))


def _malformed_at(count: int, rows: int, kinds: int) -> dict[int, int]:
    """Row indexes (0-based, data rows) that are malformed, spread evenly, mapped to their kind."""
    if rows < 10 or count <= 0:
        return {}
    step = rows // (count + 1)
    return {step * (n + 1): n % kinds for n in range(count)}


def write_batch(
    path: Path,
    *,
    target_bytes: int,
    fmt: str = "csv",
    seed: int = 1,
    malformed_rows: int = 5,
    bad_quotes: bool = True,
    orphan_every: int = ORPHAN_EVERY,
    compresslevel: int = 6,
) -> BatchInfo:
    """Write a zip with `insured.<fmt>` and `class.<fmt>` members totalling about `target_bytes`.

    `bad_quotes=False` leaves out the malformed rows with text after a closing quote (polars cannot
    read a file that has one), keeping those with a wrong field count.
    """
    kinds = 3 if bad_quotes else 2
    if fmt not in DELIMITERS:
        raise ValueError(f"format must be one of {sorted(DELIMITERS)}, not {fmt!r}")
    started = time.monotonic()
    path = Path(path)
    policies = _estimate_policies(fmt, seed, target_bytes)
    rows = _Rows(fmt)
    join = rows.delimiter.join
    insured = MemberInfo(f"insured.{fmt}")
    klass = MemberInfo(f"class.{fmt}")
    orphans = 0
    partial = path.with_name(path.name + ".partial")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=compresslevel) as archive:
        # One member open at a time (zipfile's rule), so insured rows are all written first; the
        # class rows then walk the same policy indexes with their own random stream.
        broken = _malformed_at(malformed_rows, policies, kinds)
        rng = random.Random(seed)
        with archive.open(insured.name, "w", force_zip64=True) as member:
            insured.bytes += member.write((join(INSURED_HEADER) + "\n").encode())
            for start in range(0, policies, CHUNK_ROWS):
                lines = []
                for index in range(start, min(start + CHUNK_ROWS, policies)):
                    row = rows.insured(rng, index)
                    if index in broken:
                        row = rows.malformed(row, broken[index])
                        insured.malformed_lines.append(index + 2)
                    lines.append(join(row))
                lines.append("")
                insured.bytes += member.write("\n".join(lines).encode())
            insured.rows = policies

        rng = random.Random(seed + 1_000_003)
        estimated_class_rows = policies * 3
        broken = _malformed_at(malformed_rows, estimated_class_rows, kinds)
        with archive.open(klass.name, "w", force_zip64=True) as member:
            klass.bytes += member.write((join(CLASS_HEADER) + "\n").encode())
            for start in range(0, policies, CHUNK_ROWS):
                lines = []
                for index in range(start, min(start + CHUNK_ROWS, policies)):
                    for fields in rows.classes(rng, index):
                        row = fields
                        if klass.rows % orphan_every == orphan_every - 1:
                            row[0] = policy_number(policies + klass.rows)  # no insured row has it
                            orphans += 1
                        if klass.rows in broken:
                            row = rows.malformed(row, broken[klass.rows])
                            klass.malformed_lines.append(klass.rows + 2)
                        lines.append(join(row))
                        klass.rows += 1
                lines.append("")
                klass.bytes += member.write("\n".join(lines).encode())
    partial.replace(path)
    return BatchInfo(
        path=str(path),
        fmt=fmt,
        seed=seed,
        target_bytes=target_bytes,
        policies=policies,
        orphan_class_rows=orphans,
        members=[insured, klass],
        seconds=round(time.monotonic() - started, 1),
    )


def parse_size(text: str) -> int:
    """'10MB', '1GB', '250KB' or a number of bytes; decimal units."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMG]?B?)\s*", text.upper())
    if not match:
        raise ValueError(f"not a size: {text!r} (try 10MB, 1GB)")
    number, unit = float(match.group(1)), match.group(2).rstrip("B")
    return int(number * {"": 1, "K": 10**3, "M": 10**6, "G": 10**9}[unit])


def ensure_batch(
    directory: Path = DEFAULT_DIRECTORY, *, target_bytes: int, fmt: str = "csv", seed: int = 1, bad_quotes: bool = True
) -> BatchInfo:
    """The batch with these parameters, generated unless an earlier run left it in `directory`."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    stem = f"batch-{target_bytes}-{fmt}-seed{seed}{'' if bad_quotes else '-quoted'}-v{GENERATOR_VERSION}"
    path, info_path = directory / f"{stem}.zip", directory / f"{stem}.json"
    if path.exists() and info_path.exists():
        saved = json.loads(info_path.read_text())
        saved["members"] = [MemberInfo(**member) for member in saved["members"]]
        return BatchInfo(**saved)
    info = write_batch(path, target_bytes=target_bytes, fmt=fmt, seed=seed, bad_quotes=bad_quotes)
    info_path.write_text(json.dumps(asdict(info), indent=1))
    return info


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="10MB", help="uncompressed size of all members: 10MB, 100MB, 1GB, ...")
    parser.add_argument("--format", default="csv", choices=sorted(DELIMITERS))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-bad-quotes", action="store_true", help="malformed rows only by field count")
    parser.add_argument("--out", type=Path, default=DEFAULT_DIRECTORY, help=f"folder (default {DEFAULT_DIRECTORY})")
    args = parser.parse_args()
    info = ensure_batch(
        args.out, target_bytes=parse_size(args.size), fmt=args.format, seed=args.seed, bad_quotes=not args.no_bad_quotes
    )
    print(json.dumps({**asdict(info), "bytes": info.bytes}, indent=1))


if __name__ == "__main__":
    sys.exit(main())

"""Which node (relation) a member is, from its name, and how nodes relate (reference/valen.md)."""

import os
import re
from dataclasses import dataclass

NODES = ("insured", "class", "term", "unit", "claim")
UNKNOWN = "unknown"

LINES_OF_BUSINESS = {
    "workers compensation": ("insured", "class"),
    "commercial auto": ("term", "unit"),
    "workers compensation claims": ("claim",),
}


@dataclass(frozen=True)
class Relation:
    """Rows of `child` must find a row of `parent` with the same `keys` (the policy term)."""

    child: str
    parent: str
    keys: tuple[str, ...]
    problem: str


RELATIONS = (
    Relation(
        child="class",
        parent="insured",
        keys=("original_policy_term_number", "term_effective_date"),
        problem="class rows whose policy term has no insured row",
    ),
    Relation(
        child="unit",
        parent="term",
        keys=("policy_number", "term_effective_date"),
        problem="unit rows whose policy has no term row",
    ),
)


def node_of(member_name: str) -> str:
    """`insured.csv`, `Insured_2017.psv`, `claim_detail.txt` -> insured, insured, claim."""
    stem = os.path.splitext(os.path.basename(member_name))[0].lower()
    first_word = re.split(r"[^a-z]+", stem, maxsplit=1)[0]
    if first_word in NODES:
        return first_word
    if first_word.endswith("s") and first_word[:-1] in NODES:  # units.csv, claims.csv
        return first_word[:-1]
    return UNKNOWN


def lines_of_business(nodes) -> list[str]:
    present = set(nodes)
    return [name for name, needed in LINES_OF_BUSINESS.items() if present & set(needed)]

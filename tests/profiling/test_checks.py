"""The check of a profile against a submission type (profiling/services/checks.py), on profiles
written by hand: which profiled types a declared type accepts, and how bad values are counted."""

import pytest

from profiling.models import SubmissionType
from profiling.services.checks import bad_values, problems_with


@pytest.mark.parametrize(
    ("declared", "column", "bad"),
    [
        ("text", {"type": "date"}, 0),
        ("decimal", {"type": "integer"}, 0),
        ("integer", {"type": "decimal"}, 10),
        ("date", {"type": "empty"}, 0),
        ("date", {"type": "text", "typeMatches": {"date": 7}}, 3),
        ("decimal", {"type": "text", "typeMatches": {"integer": 9}}, 1),  # 01234-like numbers
        ("flag", {"type": "text", "typeMatches": {"date": 7}}, 10),
        ("flag", {"type": "text"}, 10),
    ],
)
def test_bad_values_are_those_not_of_the_declared_type(declared, column, bad):
    assert bad_values(declared, column, 10) == bad


def submission_type(nodes, share=0.05) -> SubmissionType:
    return SubmissionType(nodes=nodes, max_bad_share=share)


def member(name, node, columns, rows=10):
    return {"name": name, "node": node, "wellFormedRowCount": rows, "columns": columns}


def test_an_optional_node_may_be_missing_but_a_node_in_two_files_is_refused():
    nodes = [{"node": "claim", "required": False, "columns": []}, {"node": "insured", "required": True, "columns": []}]
    two = {"members": [member("insured1.csv", "insured", []), member("insured2.csv", "insured", [])]}
    assert problems_with(submission_type=submission_type(nodes), profile=two) == [
        "node insured is in 2 files (insured1.csv, insured2.csv); send one file per node"
    ]


def test_column_names_match_whatever_their_case_and_empty_values_are_not_bad():
    nodes = [{"node": "claim", "required": True, "columns": [{"name": "Amount", "type": "decimal", "required": True}]}]
    column = {"name": "AMOUNT", "type": "text", "nullCount": 6, "typeMatches": {"decimal": 3}}
    profile = {"members": [member("claim.csv", "claim", [column])]}
    # 4 values filled, 1 of them not a number: 25%.
    assert problems_with(submission_type=submission_type(nodes, share=0.25), profile=profile) == []
    assert problems_with(submission_type=submission_type(nodes, share=0.2), profile=profile) == [
        "claim.csv: column AMOUNT should be decimal but 1 of 4 values (25.0%) are not (at most 20.0% allowed)"
    ]

"""Does a profiled batch fit a submission type? Missing nodes or columns, and typed columns with
more bad values than the type allows, are refused before anything runs.

Reads only the full profile (no pass over the data): a column whose values are not all of one
type is profiled as text with the count of values of its most common type (`typeMatches`).
"""

from profiling.models import SubmissionType

# A declared type accepts the profiled types listed ("empty": a column with no values).
ACCEPTS = {
    "text": {"text", "integer", "decimal", "date", "flag", "empty"},
    "integer": {"integer", "empty"},
    "decimal": {"integer", "decimal", "empty"},
    "date": {"date", "empty"},
    "flag": {"flag", "empty"},
}


def problems_with(*, submission_type: SubmissionType, profile: dict) -> list[str]:
    """Every reason the profile does not fit, each naming the node, file and column; [] when it fits."""
    members = profile.get("members", [])
    problems = []
    for node in submission_type.nodes:
        found = [member for member in members if member.get("node") == node["node"]]
        if not found:
            if node["required"]:
                problems.append(
                    f"missing required node {node['node']} (a file named {node['node']}.csv, .psv, .tsv or .txt)"
                )
            continue
        if len(found) > 1:
            names = ", ".join(member["name"] for member in found)
            problems.append(f"node {node['node']} is in {len(found)} files ({names}); send one file per node")
            continue
        problems += _member_problems(found[0], node, submission_type.max_bad_share)
    return problems


def _member_problems(member: dict, node: dict, max_share: float) -> list[str]:
    columns = {column["name"].strip().lower(): column for column in member.get("columns", [])}
    missing = [
        column["name"] for column in node["columns"] if column["required"] and column["name"].lower() not in columns
    ]
    problems = []
    if missing:
        problems.append(f"{member['name']}: missing required column(s) {', '.join(missing)}")
    rows = member.get("wellFormedRowCount", member.get("rowCount", 0))
    for declared in node["columns"]:
        column = columns.get(declared["name"].lower())
        if column is None:
            continue
        filled = rows - column.get("nullCount", 0)
        bad = bad_values(declared["type"], column, filled)
        if filled and bad / filled > max_share:
            problems.append(
                f"{member['name']}: column {column['name']} should be {declared['type']} but "
                f"{bad} of {filled} values ({_percent(bad / filled)}) are not (at most {_percent(max_share)} allowed)"
            )
    return problems


def bad_values(declared: str, column: dict, filled: int) -> int:
    """Values of a profiled column that are not of the declared type."""
    accepted = ACCEPTS[declared]
    if column.get("type") in accepted:
        return 0
    for kind, count in (column.get("typeMatches") or {}).items():
        if kind in accepted:
            return max(filled - count, 0)
    return filled


def _percent(share: float) -> str:
    return f"{share * 100:.1f}%"

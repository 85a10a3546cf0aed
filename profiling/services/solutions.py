"""Solutions, their releases and submission types: defining and validating them.

A submission type's `nodes` say which files a batch must hold and their columns; they are
checked here once, so the check of a profile (services/checks.py) can trust their shape.
"""

import datetime
import re

from django.conf import settings
from django.db import IntegrityError, transaction

from batchplatform.errors import Conflict, Invalid
from batchplatform.models import Organisation
from profiling.models import Solution, SolutionRelease, SubmissionType
from profiling.profiler.nodes import NODES

COLUMN_TYPES = ("text", "integer", "decimal", "date", "flag")
RELEASE_VERSION = re.compile(r"(0|[1-9][0-9]{0,5})\.(0|[1-9][0-9]{0,5})\.(0|[1-9][0-9]{0,5})")
NAME = re.compile(r"[a-z][a-z0-9_-]{0,59}")
MAX_NODES, MAX_COLUMNS = 20, 500


def platform_organisation() -> Organisation:
    """The organisation that owns built-in processors (a slug from settings). It is `internal`: it can
    have no users, since its executions read every customer's batches."""
    slug = settings.SOLUTIONS_PLATFORM_ORGANISATION
    organisation, created = Organisation.objects.get_or_create(
        slug=slug, defaults={"name": "Platform (built-in solutions)", "internal": True}
    )
    if not created and not organisation.internal:
        if organisation.memberships.exists():
            raise Conflict(
                f"The organisation {slug!r} is a customer's (it has users), so the built-in solutions cannot be "
                "installed in it; set SOLUTIONS_PLATFORM_ORGANISATION to an unused slug",
                "PLATFORM_ORGANISATION_TAKEN",
            )
        organisation.internal = True
        organisation.save(update_fields=["internal"])
    return organisation


def parse_release_version(text) -> tuple[int, int, int]:
    match = RELEASE_VERSION.fullmatch(str(text or ""))
    if not match:
        raise Invalid(f"A release version is x.y.z, e.g. 1.0.0, not {str(text)[:40]!r}", "INVALID_RELEASE_VERSION")
    return int(match[1]), int(match[2]), int(match[3])


def check_name(text, *, what: str) -> str:
    if not isinstance(text, str) or not NAME.fullmatch(text):
        raise Invalid(
            f"{what} must be lower-case letters, digits, - or _ (starting with a letter), not {str(text)[:60]!r}",
            "INVALID_NAME",
        )
    return text


def validate_nodes(nodes) -> list[dict]:
    """The nodes in their normal form, or Invalid naming the first problem."""
    if not isinstance(nodes, list) or not nodes:
        raise Invalid("nodes must be a non-empty list of {node, required, columns}", "INVALID_NODES")
    _check_list(nodes, what="nodes", most=MAX_NODES)
    normal, seen = [], set()
    for index, node in enumerate(nodes):
        where = f"nodes[{index}]"
        _check_object(node, where=where, keys=("node", "required", "columns"))
        name = node.get("node")
        if name not in NODES:
            raise Invalid(f"{where}.node must be one of {', '.join(NODES)}, not {str(name)[:40]!r}", "INVALID_NODES")
        if name in seen:
            raise Invalid(f"node {name} is declared twice", "INVALID_NODES")
        seen.add(name)
        required = _check_flag(node.get("required", True), where=f"{where}.required")
        normal.append({"node": name, "required": required, "columns": _validate_columns(node.get("columns"), name)})
    return normal


def _validate_columns(columns, node: str) -> list[dict]:
    _check_list(columns, what=f"node {node}: columns", most=MAX_COLUMNS)
    normal, seen = [], set()
    for index, column in enumerate(columns):
        where = f"node {node}, columns[{index}]"
        _check_object(column, where=where, keys=("name", "type", "required"))
        name = column.get("name")
        if not isinstance(name, str) or not name.strip() or len(name) > 200:
            raise Invalid(f"{where}.name must be a column name", "INVALID_NODES")
        if name.lower() in seen:
            raise Invalid(f"node {node}: column {name} is declared twice", "INVALID_NODES")
        seen.add(name.lower())
        kind = column.get("type", "text")
        if kind not in COLUMN_TYPES:
            raise Invalid(
                f"{where}.type must be one of {', '.join(COLUMN_TYPES)}, not {str(kind)[:40]!r}", "INVALID_NODES"
            )
        required = _check_flag(column.get("required", False), where=f"{where}.required")
        normal.append({"name": name, "type": kind, "required": required})
    return normal


def _check_list(value, *, what: str, most: int) -> None:
    if not isinstance(value, list):
        raise Invalid(f"{what} must be a list", "INVALID_NODES")
    if len(value) > most:
        raise Invalid(f"{what}: at most {most}", "INVALID_NODES")


def _check_flag(value, *, where: str) -> bool:
    if not isinstance(value, bool):
        raise Invalid(f"{where} must be true or false", "INVALID_NODES")
    return value


def _check_object(value, *, where: str, keys: tuple[str, ...]) -> None:
    """An entry of nodes or columns: an object with no keys but `keys`."""
    if not isinstance(value, dict):
        raise Invalid(f"{where} must be an object with {', '.join(keys[:-1])} and {keys[-1]}", "INVALID_NODES")
    unknown = set(value) - set(keys)
    if unknown:
        raise Invalid(f"{where} has unknown keys: {', '.join(sorted(map(str, unknown)))}", "INVALID_NODES")


def check_max_bad_share(value) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise Invalid(f"max_bad_share must be a number from 0 to 1, not {str(value)[:40]!r}", "INVALID_SHARE")
    return float(value)


def check_processor(*, solution: Solution, processor) -> None:
    """A processor is an instance of the solution's own organisation, or a platform-wide one."""
    allowed = {platform_organisation().pk}
    if solution.organisation_id:
        allowed.add(solution.organisation_id)
    if processor.organisation_id not in allowed:
        raise Invalid(
            f"The processor (instance {processor.pk}) belongs to another organisation; use one of "
            f"{solution.organisation.slug if solution.organisation_id else 'the platform'} or a platform-wide one",
            "FOREIGN_PROCESSOR",
        )
    if processor.archived:
        raise Invalid(f"The processor (instance {processor.pk}) is archived", "ARCHIVED_PROCESSOR")


def save_solution(*, organisation: Organisation | None, name: str, description: str = "") -> Solution:
    check_name(name, what="A solution's name")
    solution = Solution.objects.filter(organisation=organisation, name=name).first()
    if solution is None:
        solution = Solution(organisation=organisation, name=name)
    solution.description = description or ""
    solution.save()
    return solution


def save_release(*, solution: Solution, version: str, current_from, notes: str = "") -> SolutionRelease:
    major, minor, patch = parse_release_version(version)
    current_from = _date(current_from, what=f"release {version}: current_from")
    release = SolutionRelease.objects.filter(solution=solution, version=version).first() or SolutionRelease(
        solution=solution, version=version
    )
    release.major, release.minor, release.patch = major, minor, patch
    release.current_from, release.notes = current_from, notes or ""
    release.save()
    return release


def save_submission_type(
    *,
    release: SolutionRelease,
    name: str,
    nodes,
    processor,
    max_bad_share: float = 0.05,
    submission_type: SubmissionType | None = None,
) -> SubmissionType:
    """Creates the type (or updates the release's type of that name, or `submission_type` itself)."""
    check_name(name, what="A submission type's name")
    normal = validate_nodes(nodes)
    share = check_max_bad_share(max_bad_share)
    check_processor(solution=release.solution, processor=processor)
    if submission_type is None:
        submission_type = SubmissionType.objects.filter(release=release, name=name).first() or SubmissionType()
    submission_type.release, submission_type.name = release, name
    submission_type.nodes, submission_type.max_bad_share, submission_type.processor = normal, share, processor
    try:
        with transaction.atomic():
            submission_type.save()
    except IntegrityError:
        raise Invalid(f"{release} already has a submission type {name}", "DUPLICATE_NAME") from None
    return submission_type


@transaction.atomic
def define_solution(*, organisation: Organisation | None, name: str, description: str = "", releases: list) -> Solution:
    """Creates or updates a solution with its releases and their submission types.

    `releases`: [{"version", "current_from", "notes"?, "submission_types": [{"name", "nodes",
    "max_bad_share"?, "processor": <IntegrationBatchInstance>}]}]. Releases and types not listed
    are left as they are (a submission may still point at them)."""
    solution = save_solution(organisation=organisation, name=name, description=description)
    for release_data in releases:
        release = save_release(
            solution=solution,
            version=release_data["version"],
            current_from=release_data["current_from"],
            notes=release_data.get("notes", ""),
        )
        for type_data in release_data.get("submission_types", []):
            save_submission_type(
                release=release,
                name=type_data["name"],
                nodes=type_data["nodes"],
                processor=type_data["processor"],
                max_bad_share=type_data.get("max_bad_share", 0.05),
            )
    return solution


def _date(value, *, what: str) -> datetime.date:
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    try:
        return datetime.date.fromisoformat(str(value))
    except ValueError:
        raise Invalid(f"{what} must be a date YYYY-MM-DD, not {str(value)[:40]!r}", "INVALID_DATE") from None

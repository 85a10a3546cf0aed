"""A solution's definition as a file (YAML or JSON, so it can live in version control), as
`manage.py definesolution` and the built-in installer read it:

    solution: insureright
    organisation: acme            # absent: platform-wide
    description: ...
    releases:
      - version: 1.0.0
        current_from: 2026-01-01
        submission_types:
          - name: scoring
            max_bad_share: 0.05
            processor: {builtin: insureright-scoring}   # or {instance: 12}
                                                        # or {organisation: acme, name: my-scorer}
            nodes:
              - node: insured
                required: true
                columns:
                  - {name: original_policy_term_number, type: text, required: true}
"""

import json
import re
from pathlib import Path

import yaml
from django.conf import settings

from batchplatform.errors import Invalid
from batchplatform.models import Organisation
from plugins import selectors as plugin_selectors
from plugins import services as plugin_services
from profiling.services.solutions import define_solution, platform_organisation

BUILTIN_FOLDER = re.compile(r"[a-z0-9][a-z0-9_-]{0,99}")
BUILTIN_GROUP = "com.batchplatform.builtin"
MAX_DOCUMENT_BYTES = 1024 * 1024


def builtin_plugins_dir() -> Path:
    return Path(settings.BASE_DIR) / "examples" / "plugins"


def load_document(path: Path) -> dict:
    """The file's content as a mapping; Invalid with the parser's words when it is not one."""
    path = Path(path)
    if not path.is_file():
        raise Invalid(f"{path}: no such file", "NO_FILE")
    if path.stat().st_size > MAX_DOCUMENT_BYTES:
        raise Invalid(f"{path}: larger than {MAX_DOCUMENT_BYTES} bytes", "TOO_LARGE")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise Invalid(f"{path}: not UTF-8 text ({error.reason} at byte {error.start})", "PARSE_ERROR") from None
    try:
        document = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as error:
        raise Invalid(
            f"{path}: not valid {'JSON' if path.suffix.lower() == '.json' else 'YAML'}: {error}", "PARSE_ERROR"
        ) from None
    if not isinstance(document, dict):
        raise Invalid(f"{path}: the document must be a mapping with solution and releases", "INVALID_DOCUMENT")
    return document


def define_solution_from_document(*, document: dict):
    """Creates or updates the solution the document describes; Invalid names what is wrong."""
    _no_unknown_keys(document, {"solution", "organisation", "description", "releases"}, "the document")
    name = document.get("solution")
    organisation = _organisation(document.get("organisation"))
    releases = document.get("releases")
    if not isinstance(releases, list) or not releases:
        raise Invalid("releases must be a non-empty list", "INVALID_DOCUMENT")
    resolved = [_release(release, index) for index, release in enumerate(releases)]
    return define_solution(
        organisation=organisation, name=name, description=str(document.get("description") or ""), releases=resolved
    )


def _release(release, index: int) -> dict:
    if not isinstance(release, dict):
        raise Invalid(f"releases[{index}] must be a mapping", "INVALID_DOCUMENT")
    _no_unknown_keys(release, {"version", "current_from", "notes", "submission_types"}, f"releases[{index}]")
    for required in ("version", "current_from"):
        if required not in release:
            raise Invalid(f"releases[{index}] needs {required}", "INVALID_DOCUMENT")
    types = release.get("submission_types") or []
    if not isinstance(types, list):
        raise Invalid(f"releases[{index}].submission_types must be a list", "INVALID_DOCUMENT")
    resolved_types = []
    for type_index, submission_type in enumerate(types):
        where = f"releases[{index}].submission_types[{type_index}]"
        if not isinstance(submission_type, dict):
            raise Invalid(f"{where} must be a mapping", "INVALID_DOCUMENT")
        _no_unknown_keys(submission_type, {"name", "nodes", "max_bad_share", "processor"}, where)
        for required in ("name", "nodes", "processor"):
            if required not in submission_type:
                raise Invalid(f"{where} needs {required}", "INVALID_DOCUMENT")
        resolved_types.append(
            {**submission_type, "processor": resolve_processor(submission_type["processor"], where=where)}
        )
    return {**release, "version": str(release["version"]), "submission_types": resolved_types}


def _no_unknown_keys(mapping: dict, known: set, where: str) -> None:
    unknown = set(mapping) - known
    if unknown:
        raise Invalid(f"{where} has unknown keys: {', '.join(sorted(map(str, unknown)))}", "INVALID_DOCUMENT")


def resolve_processor(reference, *, where: str):
    """{builtin: <folder>} installs the built-in plugin platform-wide; {instance: <id>} or
    {organisation: <slug>, name: <instance name>} names an existing instance."""
    if not isinstance(reference, dict):
        raise Invalid(
            f"{where}.processor must be {{builtin: <folder>}}, {{instance: <id>}} or {{organisation, name}}",
            "INVALID_PROCESSOR",
        )
    if "builtin" in reference:
        return install_builtin_processor(
            folder=reference["builtin"],
            entry_point=reference.get("entry_point", "main:run"),
            version_id=str(reference.get("version", "1.0.0")),
        )
    if "instance" in reference:
        instance_id = reference["instance"]
        instance = (
            plugin_selectors.get_instance_by_id(instance_id)
            if isinstance(instance_id, int) and not isinstance(instance_id, bool)
            else None
        )
        if instance is None:
            raise Invalid(f"{where}.processor: no integration batch instance {instance_id!r}", "UNKNOWN_PROCESSOR")
        return instance
    if "organisation" in reference and "name" in reference:
        organisation = _organisation(reference["organisation"])
        instance = plugin_selectors.get_instance_by_name(organisation=organisation, name=str(reference["name"]))
        if instance is None:
            raise Invalid(
                f"{where}.processor: {reference['organisation']} has no instance named {reference['name']!r}",
                "UNKNOWN_PROCESSOR",
            )
        return instance
    raise Invalid(
        f"{where}.processor must be {{builtin: <folder>}}, {{instance: <id>}} or {{organisation, name}}",
        "INVALID_PROCESSOR",
    )


def install_builtin_processor(*, folder: str, entry_point: str = "main:run", version_id: str = "1.0.0"):
    if not isinstance(folder, str) or not BUILTIN_FOLDER.fullmatch(folder):
        raise Invalid(f"builtin must name a folder of examples/plugins/, not {str(folder)[:60]!r}", "INVALID_PROCESSOR")
    path = builtin_plugins_dir() / folder
    if not path.is_dir():
        raise Invalid(f"builtin: examples/plugins/{folder} does not exist", "UNKNOWN_PROCESSOR")
    return plugin_services.install_plugin_from_folder(
        organisation=platform_organisation(),
        folder=path,
        group_id=BUILTIN_GROUP,
        artifact_id=folder,
        version_id=version_id,
        entry_point=entry_point,
        instance_name=folder,
    )


def _organisation(slug) -> Organisation | None:
    if slug in (None, ""):
        return None
    organisation = Organisation.objects.filter(slug=str(slug)).first()
    if organisation is None:
        raise Invalid(f"no organisation {str(slug)[:60]!r}", "UNKNOWN_ORGANISATION")
    return organisation

"""The built-in solutions (profiling/solutions/*.yaml), installed platform-wide after every
migrate (and every test-database flush): a fresh `make run` serves insureright/scoring with no
extra step. Idempotent: the plugin is re-packed, a new version only when its code changed."""

import logging
from pathlib import Path

from django.db import transaction

from profiling.services.definitions import builtin_plugins_dir, define_solution_from_document, load_document

logger = logging.getLogger(__name__)

BUILTIN_SOLUTIONS_DIR = Path(__file__).resolve().parent.parent / "solutions"
BUILTIN_PLUGINS = ("insureright-scoring",)


def install_builtin_solutions() -> list:
    missing = [name for name in BUILTIN_PLUGINS if not (builtin_plugins_dir() / name).is_dir()]
    if missing:
        # A checkout without the example plugins (e.g. a trimmed image): say so, do not fail migrate.
        logger.warning("built-in solutions not installed: examples/plugins/%s missing", ", ".join(missing))
        return []
    installed = []
    for path in sorted(BUILTIN_SOLUTIONS_DIR.glob("*.yaml")):
        with transaction.atomic():
            installed.append(define_solution_from_document(document=load_document(path)))
    return installed

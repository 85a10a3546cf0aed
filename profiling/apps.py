import logging

from django.apps import AppConfig
from django.conf import settings
from django.db.models.signals import post_migrate

logger = logging.getLogger(__name__)


class ProfilingConfig(AppConfig):
    name = "profiling"
    verbose_name = "File batches and profiles"

    def ready(self):
        from batchplatform.metrics import register_collector
        from profiling.metrics import collect

        register_collector(collect)
        # Registers the tasks profiling.dispatch sends by name, in every process (not only workers).
        import profiling.tasks  # noqa: F401
        from profiling import signals  # noqa: F401  (receives plugins' execution_finished)
        from profiling.api import schema  # noqa: F401  (registers the OpenAPI extension)

        post_migrate.connect(install_builtin_solutions, sender=self, dispatch_uid="profiling.builtin_solutions")


def install_builtin_solutions(sender, using="default", **kwargs):
    """After every migrate (and flush): the built-in solutions, so a fresh `make run` serves them."""
    if not settings.SOLUTIONS_INSTALL_BUILTIN or using != "default":
        return
    from batchplatform.errors import Conflict
    from profiling.services import install_builtin_solutions as install

    try:
        installed = install()
    except Conflict as refused:
        # Migrations must still finish: the operator reads why and picks another slug.
        logger.error("built-in solutions not installed: %s", refused.message)
        return
    for solution in installed:
        logger.info("built-in solution %s is installed", solution)

"""The plugins app's admin, one module per subject; importing them registers their ModelAdmins."""

from plugins.admin import crontabs, executions, instances, versions  # noqa: F401

"""Every change to plugins, versions, instances and executions: the API, the admin, tasks and
commands all call these functions. One module per subject; re-exported here so callers write
`from plugins import services` and `services.create_instance(...)`."""

from plugins.services.executions import (
    FINAL_STATUSES,
    TRANSITIONS,
    cancel_execution,
    create_execution,
    delete_execution,
    run_now,
    set_execution_status_by_client,
    transition,
)
from plugins.services.installs import install_plugin_from_folder
from plugins.services.instances import (
    cancel_coming_executions,
    check_schedule,
    check_sizes,
    create_instance,
    delete_instance,
    instance_properties,
    resolve_version,
    set_instance_property,
    update_instance,
)
from plugins.services.plugins import create_plugin, update_plugin
from plugins.services.processors import ProcessorUnavailable, start_processor_execution
from plugins.services.running import claim_execution, reap_lost_executions, run_execution
from plugins.services.schedules import (
    CRONTAB_FIELDS,
    check_starting_deadline,
    check_timezone,
    cron_from_crontab,
    first_tick_after,
    instance_changes_from_crontab,
    reconcile_schedules,
    sync_crontab,
)
from plugins.services.versions import (
    MAX_PROPERTIES,
    REQUIRED_PROPERTIES,
    SEMVER,
    archive_version,
    attach_archive,
    create_version,
    delete_version,
    find_version,
    version_was_used,
)

__all__ = [
    "CRONTAB_FIELDS",
    "FINAL_STATUSES",
    "MAX_PROPERTIES",
    "REQUIRED_PROPERTIES",
    "SEMVER",
    "TRANSITIONS",
    "ProcessorUnavailable",
    "archive_version",
    "attach_archive",
    "cancel_coming_executions",
    "cancel_execution",
    "check_schedule",
    "check_sizes",
    "check_starting_deadline",
    "check_timezone",
    "claim_execution",
    "create_execution",
    "create_instance",
    "create_plugin",
    "create_version",
    "cron_from_crontab",
    "delete_execution",
    "delete_instance",
    "delete_version",
    "find_version",
    "first_tick_after",
    "install_plugin_from_folder",
    "instance_changes_from_crontab",
    "instance_properties",
    "reap_lost_executions",
    "reconcile_schedules",
    "resolve_version",
    "run_execution",
    "run_now",
    "set_execution_status_by_client",
    "set_instance_property",
    "start_processor_execution",
    "sync_crontab",
    "transition",
    "update_instance",
    "update_plugin",
    "version_was_used",
]

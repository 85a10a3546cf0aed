"""Every change to file batches, solutions and submissions: the API, the admin, tasks and commands
all call these functions. One module per subject, re-exported here (`from profiling import services`)."""

from profiling.services.batches import (
    GUID,
    RESEND_AFTER,
    ensure_batch_key_free,
    parse_batch_key,
    profile_batch,
    receive_batch,
    reprofile_batch,
    send_profile_message,
    sweep,
)
from profiling.services.builtin import install_builtin_solutions
from profiling.services.checks import problems_with
from profiling.services.definitions import define_solution_from_document, load_document
from profiling.services.solutions import (
    COLUMN_TYPES,
    check_name,
    check_processor,
    define_solution,
    parse_release_version,
    platform_organisation,
    save_release,
    save_solution,
    save_submission_type,
    validate_nodes,
)
from profiling.services.submissions import (
    TRANSITIONS,
    advance_submission,
    advance_waiting_submissions,
    finish_submission,
    on_execution_finished,
    purge_expired_results,
    receive_and_submit,
    resubmit,
    submit_profiled_batch,
    sweep_submissions,
    transition,
)

__all__ = [
    "COLUMN_TYPES",
    "GUID",
    "RESEND_AFTER",
    "TRANSITIONS",
    "advance_submission",
    "advance_waiting_submissions",
    "check_name",
    "check_processor",
    "define_solution",
    "define_solution_from_document",
    "ensure_batch_key_free",
    "finish_submission",
    "install_builtin_solutions",
    "load_document",
    "on_execution_finished",
    "parse_batch_key",
    "parse_release_version",
    "platform_organisation",
    "problems_with",
    "profile_batch",
    "purge_expired_results",
    "receive_and_submit",
    "receive_batch",
    "reprofile_batch",
    "resubmit",
    "save_release",
    "save_solution",
    "save_submission_type",
    "send_profile_message",
    "submit_profiled_batch",
    "sweep",
    "sweep_submissions",
    "transition",
    "validate_nodes",
]

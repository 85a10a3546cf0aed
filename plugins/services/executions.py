"""Executions: their one state machine, creation, cancel and deletion."""

from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from batchplatform.errors import Conflict, Invalid
from plugins import dispatch, execution_files
from plugins.models import (
    Execution,
    ExecutionStatus,
    ExecutionType,
    IntegrationBatchInstance,
)
from plugins.signals import announce_finished

TRANSITIONS = {
    ExecutionStatus.PENDING: {ExecutionStatus.RUNNING, ExecutionStatus.CANCELED},
    ExecutionStatus.RUNNING: {ExecutionStatus.SUCCEEDED, ExecutionStatus.FAILED, ExecutionStatus.CANCELED},
    ExecutionStatus.SUCCEEDED: set(),
    ExecutionStatus.FAILED: set(),
    ExecutionStatus.CANCELED: set(),
}
FINAL_STATUSES = {status for status, targets in TRANSITIONS.items() if not targets}


def transition(execution: Execution, *, to: str, **fields) -> Execution:
    """Moves an execution to `to` if that move is legal from the status the database holds now.
    A conditional update, so two workers (or a worker and a client) never both win."""
    current = execution.status
    if to not in TRANSITIONS.get(current, set()):
        raise Conflict(f"An execution cannot go from {current} to {to}", "ILLEGAL_TRANSITION")
    now = timezone.now()
    if to == ExecutionStatus.RUNNING:
        fields.setdefault("start_date", now)
    if to in FINAL_STATUSES:
        fields.setdefault("end_date", now)
    updated = Execution.objects.filter(pk=execution.pk, status=current).update(status=to, **fields)
    if not updated:
        execution.refresh_from_db()
        raise Conflict(f"The execution moved to {execution.status} meanwhile", "ILLEGAL_TRANSITION")
    if to in FINAL_STATUSES:
        announce_finished([(execution.pk, to)])
    execution.refresh_from_db()
    return execution


def create_execution(
    *,
    instance: IntegrationBatchInstance,
    user,
    execution_type: str = ExecutionType.MANUAL,
    expected_start_date: datetime,
) -> Execution:
    if instance.archived:
        raise Invalid("This instance is archived", "INSTANCE_ARCHIVED")
    if execution_type not in ExecutionType.values:
        raise Invalid(f"execution_type must be MANUAL or CRON, not {execution_type!r}", "INVALID_EXECUTION_TYPE")
    if isinstance(expected_start_date, str):
        expected_start_date = parse_datetime(expected_start_date)
    try:
        with transaction.atomic():
            execution = Execution.objects.create(
                organisation=instance.organisation,
                instance=instance,
                version=instance.version,
                user=user,
                execution_type=execution_type,
                expected_start_date=expected_start_date,
            )
    except IntegrityError:
        raise Conflict(
            "This instance already has an execution expected to start at that time", "DUPLICATE_EXECUTION"
        ) from None
    if expected_start_date <= timezone.now():
        # Due now: sent once the row is committed. Future ones are sent by the scheduler's sweep.
        dispatch.send_after_commit(execution)
    return execution


def run_now(*, instance: IntegrationBatchInstance, user) -> Execution:
    return create_execution(
        instance=instance, user=user, execution_type=ExecutionType.MANUAL, expected_start_date=timezone.now()
    )


def cancel_execution(*, execution: Execution) -> Execution:
    return transition(execution, to=ExecutionStatus.CANCELED)


def set_execution_status_by_client(*, execution: Execution, status: str) -> Execution:
    """What a client's PUT may do: cancel (idempotently); every other status is the platform's."""
    if status == execution.status:
        return execution
    if status != ExecutionStatus.CANCELED:
        raise Invalid(
            f"A client may only move an execution to CANCELED; {status} is set by the platform", "STATUS_NOT_ALLOWED"
        )
    return cancel_execution(execution=execution)


def delete_execution(*, execution: Execution) -> None:
    # Conditional, so a worker that starts it meanwhile is not left with a deleted row.
    rows = Execution.objects.filter(pk=execution.pk)
    deleted_pending, _ = rows.filter(status=ExecutionStatus.PENDING).delete()
    if deleted_pending:
        # It will never run: whoever waits for its end hears of it (as CANCELED; its row is gone).
        announce_finished([(execution.pk, ExecutionStatus.CANCELED)])
    elif not rows.exclude(status=ExecutionStatus.RUNNING).delete()[0]:
        raise Conflict("This execution is running: cancel it first", "EXECUTION_RUNNING")
    # Its log and artifacts go with it, once the row is gone for sure.
    transaction.on_commit(lambda: execution_files.delete_execution_files(execution=execution))

"""Processors: an instance other apps run on files (profiling's solutions run a batch's members
through one), each run an execution with its inputs staged read-only in INPUT_DIR and its
parameters in context.parameters; its results are the execution's artifacts.

Processor executions run side by side: each is a MANUAL execution of its own, queued on the
instance's size-class queue, never refused or replaced because another one runs (the overlap
policy is for cron ticks only, see plugins.scheduler).
"""

import json
import unicodedata
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from batchplatform.errors import Conflict, Invalid
from plugins import dispatch
from plugins.models import CronStatus, Execution, ExecutionType, IntegrationBatchInstance

MAX_INPUT_NAME_BYTES = 255  # a file name on every common file system
MAX_INPUTS = 1000
MAX_STORAGE_NAME = 1024
MAX_PARAMETERS_BYTES = 1024 * 1024
# How many neighbouring microseconds an execution may try before giving up (see _create_unique).
MAX_START_ATTEMPTS = 1000
ONE_MICROSECOND = timedelta(microseconds=1)


class ProcessorUnavailable(Conflict):
    """The instance cannot run a processor execution now (paused, archived, no code...)."""

    default_code = "PROCESSOR_UNAVAILABLE"


def check_input_name(name: Any) -> str:
    """A plain file name, as it will appear in INPUT_DIR; Invalid otherwise."""
    if not isinstance(name, str) or not name:
        raise Invalid(f"An input name must be a non-empty string, not {name!r}", "INVALID_INPUT_NAME")
    if "/" in name or "\\" in name or ".." in name or name == ".":
        raise Invalid(f"Input name {name!r} must be a plain file name (no '/', '\\' or '..')", "INVALID_INPUT_NAME")
    if any(unicodedata.category(character) == "Cc" for character in name):
        raise Invalid(f"Input name {name!r} holds a control character (NUL, newline...)", "INVALID_INPUT_NAME")
    if len(name.encode("utf-8", "surrogatepass")) > MAX_INPUT_NAME_BYTES:
        raise Invalid(f"Input name {name[:40]!r}... is longer than 255 bytes", "INVALID_INPUT_NAME")
    return name


def _check_storage_name(name: str, value: Any) -> str:
    if not isinstance(value, str) or not value or len(value) > MAX_STORAGE_NAME or "\x00" in value:
        raise Invalid(f"Input {name}: storage_name must be a non-empty storage name", "INVALID_INPUT")
    if value.startswith("/") or ".." in value.split("/"):
        raise Invalid(f"Input {name}: storage_name {value!r} must be relative, without '..'", "INVALID_INPUT")
    return value


def checked_inputs(inputs: Any) -> dict[str, dict]:
    """{name: {"storage_name": str, "member": str | None}}, each checked."""
    if not isinstance(inputs, Mapping):
        raise Invalid("inputs must map file names to {storage_name, member}", "INVALID_INPUT")
    if len(inputs) > MAX_INPUTS:
        raise Invalid(f"At most {MAX_INPUTS} inputs", "INVALID_INPUT")
    checked = {}
    for given_name, source in inputs.items():
        name = check_input_name(given_name)
        if not isinstance(source, Mapping):
            raise Invalid(f"Input {name}: expected {{storage_name, member}}, not {source!r}", "INVALID_INPUT")
        unknown = set(source) - {"storage_name", "member"}
        if unknown:
            raise Invalid(f"Input {name}: unknown keys {', '.join(sorted(map(str, unknown)))}", "INVALID_INPUT")
        member = source.get("member")
        if member is not None and (not isinstance(member, str) or not member or "\x00" in member):
            raise Invalid(f"Input {name}: member must be a name in the zip, or null", "INVALID_INPUT")
        checked[name] = {"storage_name": _check_storage_name(name, source.get("storage_name")), "member": member}
    return checked


def checked_parameters(parameters: Any) -> dict:
    if not isinstance(parameters, Mapping):
        raise Invalid("parameters must be a JSON object", "INVALID_PARAMETERS")
    try:
        text = json.dumps(dict(parameters), allow_nan=False)
    except (TypeError, ValueError) as error:
        raise Invalid(f"parameters must be JSON: {error}", "INVALID_PARAMETERS") from None
    if len(text) > MAX_PARAMETERS_BYTES:
        raise Invalid("parameters are larger than 1 MiB", "INVALID_PARAMETERS")
    return json.loads(text)  # what the plugin will read back, keys as strings


def check_processor_can_run(instance: IntegrationBatchInstance) -> None:
    version = instance.version
    if instance.archived:
        raise ProcessorUnavailable(f"Processor instance {instance.name!r} is archived")
    if instance.cron_status == CronStatus.PAUSED:
        raise ProcessorUnavailable(f"Processor instance {instance.name!r} is paused")
    if version.archived:
        raise ProcessorUnavailable(f"Processor instance {instance.name!r} runs version {version.version_id}, archived")
    if not version.has_code:
        raise ProcessorUnavailable(f"Version {version.version_id} of processor {instance.name!r} has no code")
    if version.environment_error:
        raise ProcessorUnavailable(
            f"Version {version.version_id} of processor {instance.name!r} cannot run: "
            "its dependencies failed to install"
        )


def start_processor_execution(
    *,
    instance: IntegrationBatchInstance,
    inputs: Mapping[str, Mapping],
    parameters: Mapping[str, Any],
    user=None,
) -> Execution:
    """A MANUAL execution, PENDING, sent to the instance's size-class queue once the caller commits."""
    inputs = checked_inputs(inputs)
    parameters = checked_parameters(parameters)
    # The row as it is now: a pause or a new version since the caller read it counts.
    instance = IntegrationBatchInstance.objects.select_related("version", "organisation").get(pk=instance.pk)
    check_processor_can_run(instance)
    execution = _create_unique(
        Execution(
            organisation=instance.organisation,
            instance=instance,
            version=instance.version,
            user=user,
            execution_type=ExecutionType.MANUAL,
            inputs=inputs,
            parameters=parameters,
        )
    )
    dispatch.send_after_commit(execution)
    return execution


def _create_unique(execution: Execution) -> Execution:
    """Saves it at the first free expected_start_date from now: (instance, expected_start_date) is unique
    (one execution per cron tick), and many submissions may start in the same microsecond."""
    start = timezone.now()
    for _ in range(MAX_START_ATTEMPTS):
        if start.microsecond == 0:
            # Cron ticks fall on whole seconds: a processor's execution never takes a tick's place.
            start += ONE_MICROSECOND
        execution.expected_start_date = start
        try:
            with transaction.atomic():  # a savepoint inside the caller's transaction
                execution.save(force_insert=True)
            return execution
        except IntegrityError as error:
            # PostgreSQL names the constraint, SQLite its columns.
            if "execution_one_per_tick" not in str(error) and "expected_start_date" not in str(error):
                raise
            execution.pk = None
            start += ONE_MICROSECOND
    raise Conflict("Too many executions of this processor start at this very moment; try again", "BUSY")

"""batchplatform_sdk: what a plugin's Python code sees of the platform (docs/plugins.md).

The runner puts this one file on the plugin's path. It imports nothing of the platform: it reads
the execution's context from the JSON file named by CONTEXT_FILE and reports by appending JSON lines
to the file named by STATUS_FILE, the same protocol a plugin in any other language uses.

    def run(context):                      # entry point "main:run"
        context.log("starting", context.properties["batch_size"])
        context.report_progress(num_tasks=10, completed_tasks=0)
        ...
        context.set_result({"imported": 10})

A script (entry point "main", or a __main__.py) calls `batchplatform_sdk.get_context()`.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import signal
import sys
import threading

# datetime, pathlib, runpy and traceback are imported when first needed: every import costs start-up
# time, and an empty plugin should start about as fast as `python main.py`.

__all__ = ["Context", "get_context"]

_lock = threading.Lock()


class _State:
    cancel_signal_received = False
    result_set = False
    context: Context | None = None


TRACEBACK_LINES = 20


def _append_status(record: dict) -> None:
    """One JSON object per line, written with one write() on an O_APPEND file, so lines never mix."""
    path = os.environ.get("STATUS_FILE")
    if not path:
        raise RuntimeError("STATUS_FILE is not set: this code is not running under batchplatform")
    line = (json.dumps(record, default=str, separators=(",", ":")) + "\n").encode()
    with _lock:
        descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(descriptor, line)
        finally:
            os.close(descriptor)


def _optional_count(name: str, value) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer, not {value!r}")
    return value


class Context:
    """The execution being run: who, when, with which properties; and how to report back."""

    def __init__(self, data: dict) -> None:
        self._data = data
        self.execution_id: int = data["execution_id"]
        self.instance_id: int = data["instance_id"]
        self.organisation_id: int = data["organisation_id"]
        self.execution_type: str = data["execution_type"]
        # The effective values: the version's defaults overridden by the instance's, typed by property_type.
        self.properties: dict = dict(data.get("properties", {}))
        self.property_types: dict = dict(data.get("property_types", {}))
        self.plugin_group_id: str = data.get("plugin_group_id", "")
        self.plugin_artifact_id: str = data.get("plugin_artifact_id", "")
        self.plugin_version: str = data.get("plugin_version", "")
        self._cancel_file = data.get("cancel_file")
        # A processor's execution: the names of the files in input_dir, and what it was asked to do.
        self.inputs: list[str] = list(data.get("inputs", []))
        self.parameters: dict = dict(data.get("parameters", {}))

    @property
    def expected_start_date(self):
        """A timezone-aware datetime (UTC)."""
        from datetime import datetime

        return datetime.fromisoformat(self._data["expected_start_date"].replace("Z", "+00:00"))

    @property
    def output_dir(self):
        """A pathlib.Path: files written here are kept as the execution's artifacts."""
        from pathlib import Path

        return Path(self._data["output_dir"])

    @property
    def input_dir(self):
        """A pathlib.Path, read-only: the files a processor's execution was given (context.inputs); empty otherwise."""
        from pathlib import Path

        return Path(self._data["input_dir"]) if self._data.get("input_dir") else None

    def __repr__(self) -> str:
        return f"<Context execution {self.execution_id} of instance {self.instance_id}>"

    def log(self, *parts, level: str = "INFO") -> None:
        """A line in the execution's log (print() and logging land there too)."""
        _append_status({"type": "log", "level": str(level).upper(), "message": " ".join(str(p) for p in parts)})

    def report_progress(self, *, num_tasks=None, completed_tasks=None, erroneous_tasks=None) -> None:
        record = {"type": "progress"}
        for name, value in (
            ("num_tasks", num_tasks),
            ("completed_tasks", completed_tasks),
            ("erroneous_tasks", erroneous_tasks),
        ):
            if _optional_count(name, value) is not None:
                record[name] = value
        _append_status(record)

    def set_result(self, result: dict) -> None:
        if not isinstance(result, dict):
            raise TypeError(f"the result must be a dict (a JSON object), not {type(result).__name__}")
        json.dumps(result)  # refuse what cannot be stored, here, where the plugin sees it
        _append_status({"type": "result", "result": result})
        _State.result_set = True

    @property
    def cancelled(self) -> bool:
        """True once a cancel arrived: stop cleanly and return; the platform kills what is left soon after."""
        return _State.cancel_signal_received or bool(self._cancel_file and os.path.exists(self._cancel_file))


def get_context() -> Context:
    if _State.context is None:
        path = os.environ.get("CONTEXT_FILE")
        if not path:
            raise RuntimeError("CONTEXT_FILE is not set: this code is not running under batchplatform")
        with open(path, encoding="utf-8") as stream:
            _State.context = Context(json.load(stream))
    return _State.context


def _on_sigterm(signum, frame) -> None:
    # A cancel: the plugin may see context.cancelled and stop; SIGKILL follows after a grace period.
    _State.cancel_signal_received = True


def _report_failure(error: BaseException) -> None:
    import traceback

    lines = traceback.format_exception(type(error), error, error.__traceback__)
    text = "".join(lines)
    sys.stderr.write(text)
    sys.stderr.flush()
    tail = "".join(text.splitlines(keepends=True)[-TRACEBACK_LINES:])
    record = {"type": "error", "message": f"{type(error).__name__}: {error}", "traceback": tail}
    if isinstance(error, MemoryError):
        record["limit"] = "memory"
    elif isinstance(error, OSError) and error.errno == 27:  # EFBIG: the per-file size limit
        record["limit"] = "disk"
    try:
        _append_status(record)
    except Exception:  # noqa: S110 - the traceback on stderr says it already
        pass


def _launch(kind: str, target: str) -> int:
    """How the runner starts Python entry points: `python -c 'import batchplatform_sdk as s; s._main()' KIND TARGET`."""
    signal.signal(signal.SIGTERM, _on_sigterm)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    sys.path.insert(0, os.getcwd())
    try:
        if kind == "callable":
            module_name, _, function_name = target.partition(":")
            function = getattr(importlib.import_module(module_name), function_name)
            returned = function(get_context())
            if isinstance(returned, dict) and not _State.result_set:
                get_context().set_result(returned)
        elif kind == "module":
            import runpy

            sys.argv = [target]
            runpy.run_module(target, run_name="__main__", alter_sys=True)
        elif kind == "path":
            import runpy

            sys.argv = [target]
            runpy.run_path(target, run_name="__main__")
        else:
            raise ValueError(f"unknown entry point kind {kind!r}")
    except SystemExit as exit_:
        code = exit_.code
        if code in (None, 0):
            return 0
        if not isinstance(code, int):
            sys.stderr.write(f"{code}\n")
            _append_status({"type": "error", "message": str(code)})
            return 1
        return code
    except BaseException as error:
        _report_failure(error)
        return 1
    return 0


def _main() -> None:
    code = _launch(sys.argv[1], sys.argv[2])
    sys.stdout.flush()
    sys.stderr.flush()
    sys.exit(code)

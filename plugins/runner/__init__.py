"""Runs one claimed execution's plugin in a child process, within the limits of its size class.

The child gets a fresh work directory with the archive unpacked, an environment with no platform
secret (no database URL, secret key, broker or storage credentials), and reports through the one
protocol of docs/plugins.md: environment variables in, JSON lines appended to STATUS_FILE out,
stdout/stderr as its log. With bubblewrap (`bwrap`) it runs in a sandbox (see sandbox); without it,
a plain child process with the same limits (see limits: each enforced, each failing the execution
with a message naming it).

  execution  one claimed execution, start to end
  run        one run's state and the paths its child sees
  sandbox    the bubblewrap probe and command
  start      unpacking, the Python environment, the child's environment, starting it
  inputs     a processor's inputs staged from storage, read-only in INPUT_DIR
  limits     rlimits, CPU affinity, the disk watch, the process tree and killing it
  supervise  the loop while it runs: cancel, wall time, progress and heartbeat
  reports    the status-file protocol, the log and the artifacts
  outcome    how it ended, written to the row
"""

from plugins.runner.execution import run_claimed_execution
from plugins.runner.run import SDK_DIR, PreparationFailed
from plugins.runner.sandbox import bwrap_path, describe_sandbox

__all__ = ["SDK_DIR", "PreparationFailed", "bwrap_path", "describe_sandbox", "run_claimed_execution"]

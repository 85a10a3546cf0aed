"""One run: its state, and the paths of its work directory as the child sees them."""

import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from plugins import conf
from plugins.models import Execution

SDK_DIR = Path(__file__).resolve().parent.parent / "sdk"
SANDBOX_WORK = Path("/sandbox")
SANDBOX_SDK = "/opt/batchplatform-sdk"
SANDBOX_ENV = "/opt/batchplatform-env"
SANDBOX_INPUT = "/input"


class PreparationFailed(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class Run:
    execution: Execution
    limits: conf.Limits
    root: Path
    network: bool = True
    environment: Path | None = None
    process: subprocess.Popen | None = None
    sandboxed: bool = False
    allowed_cpus: set[int] = field(default_factory=set)
    # What the child reported, applied to the row (throttled) and at the end.
    progress: dict = field(default_factory=dict)
    result: dict | None = None
    reported_error: dict | None = None
    status_offset: int = 0
    status_buffer: bytes = b""
    log_size_uploaded: int = -1
    stop_reason: str | None = None  # "canceled", or the name of a limit
    stop_detail: str = ""

    @property
    def sandbox(self) -> Path:
        return self.root / "sandbox"

    @property
    def app(self) -> Path:
        return self.sandbox / "app"

    @property
    def output(self) -> Path:
        return self.sandbox / "output"

    @property
    def tmp(self) -> Path:
        return self.sandbox / "tmp"

    @property
    def input(self) -> Path:
        # Beside the sandbox's work directory, not in it: inputs do not count against its disk limit.
        return self.root / "input"

    @property
    def input_visible(self) -> str:
        return SANDBOX_INPUT if self.sandboxed else str(self.input)

    @property
    def control(self) -> Path:
        return self.sandbox / ".batchplatform"

    @property
    def status_file(self) -> Path:
        return self.control / "status.jsonl"

    @property
    def context_file(self) -> Path:
        return self.control / "context.json"

    @property
    def cancel_file(self) -> Path:
        return self.control / "cancelled"

    def visible(self, path: Path) -> str:
        """A path of the work directory as the child sees it: /sandbox/... in the sandbox."""
        if not self.sandboxed:
            return str(path)
        return str(SANDBOX_WORK / path.relative_to(self.sandbox))

    @property
    def environment_visible(self) -> str:
        return SANDBOX_ENV if self.sandboxed else str(self.environment)

    @property
    def log_file(self) -> Path:
        # Outside the sandbox: the worker's record of what the child printed.
        return self.root / "log.txt"

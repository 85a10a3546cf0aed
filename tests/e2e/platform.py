"""The platform started as a newcomer starts it (embedded default, in subprocesses), with one
organisation and its API user alice, for end-to-end tests."""

import os
import signal
import subprocess
import sys
from contextlib import contextmanager
from dataclasses import dataclass

from tests.e2e.test_make_run import Output, healthy, wait_until
from tests.harness import free_port
from tests.processes import ROOT, embedded_env, manage

PASSWORD = "alice-password-1"
RUNPLATFORM = ("manage.py", "runplatform")
UVICORN_ALONE = ("-m", "uvicorn", "batchplatform.asgi:application", "--lifespan", "off")


@dataclass
class Platform:
    base: str
    port: int
    output: Output
    process: subprocess.Popen

    @property
    def pid(self) -> int:
        return self.process.pid


@contextmanager
def embedded_platform(data_dir, organisation: str, *, command=RUNPLATFORM, **variables):
    """Migrates, creates `organisation` and alice, serves on a free port, and stops everything
    (the whole process group) on the way out."""
    port = free_port()
    env = embedded_env(data_dir, PORT=str(port), **variables)
    manage("migrate", "--noinput", env=env)
    manage("createorganisation", organisation, env=env)
    manage("createapiuser", organisation, "alice", "--password", PASSWORD, env=env)
    process = subprocess.Popen(
        [sys.executable, *command, "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    platform = Platform(f"http://127.0.0.1:{port}", port, Output(process.stdout), process)
    try:
        wait_until(lambda: healthy(platform.base), 120, "/healthz", platform.output)
        yield platform
    finally:
        os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C sends: runplatform stops its children
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            raise

"""Real Celery workers for end-to-end tests, on the test database and the harness's Redis."""

import os
import signal
import subprocess
import sys
import time

from django.db import connection

from tests.processes import ROOT


def test_database_url() -> str:
    """The database pytest-django created, so a worker sees what the test committed."""
    base = os.environ["DATABASE_URL"].rsplit("/", 1)[0]
    return f"{base}/{connection.settings_dict['NAME']}"


class Worker:
    def __init__(self, queues: str = "default,batches", concurrency: int = 2, **env):
        self.env = {**os.environ, "DATABASE_URL": test_database_url(), "PYTHONUNBUFFERED": "1", **env}
        self.env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        self.command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "batchplatform",
            "worker",
            "-Q",
            queues,
            "--concurrency",
            str(concurrency),
            "--loglevel",
            "INFO",
            "--without-mingle",
            "--without-gossip",
            "--without-heartbeat",
        ]
        self.process = None
        self.log = ""

    def start(self, log_path) -> "Worker":
        self.log = str(log_path)
        self.process = subprocess.Popen(
            self.command,
            cwd=ROOT,
            env=self.env,
            stdout=open(log_path, "w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if "ready." in open(log_path).read():
                return self
            if self.process.poll() is not None:
                break
            time.sleep(0.2)
        raise RuntimeError(f"the worker did not start:\n{open(log_path).read()[-3000:]}")

    def kill(self) -> None:
        """SIGKILL to the whole process group: the main process and its pool, mid-task."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


def wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")

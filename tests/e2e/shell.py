"""Replaying documented shell sessions as written: bash and curl against a live server."""

import re
import subprocess
import sys

import pytest

from batchplatform.celery import app as celery_app
from tests import workers
from tests.processes import ROOT


def sh_blocks(text: str, after_heading: str) -> list[str]:
    """The ```sh blocks of the markdown section that starts with this heading."""
    section = text.split(after_heading, 1)[1]
    section = re.split(r"\n#{2,3} ", section, maxsplit=1)[0]
    return re.findall(r"```sh\n(.*?)```", section, re.DOTALL)


def as_run_here(script: str, base_url: str) -> str:
    """Only the address of the server and the path of manage.py change."""
    script = script.replace(".venv/bin/python manage.py", f"{sys.executable} {ROOT / 'manage.py'}")
    return script.replace("http://127.0.0.1:8000", base_url)


def bash(script: str, cwd, env, timeout: float = 180) -> str:
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        check=False,
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, f"{script}\n---\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture
def execution_worker(tmp_path, settings):
    """A real worker of the executions-low queue, on the test database and a storage of this test's own
    (shared with the live server), so files of an earlier execution with the same id never show."""
    data_dir = tmp_path / "data"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": data_dir / "media"},
        },
    }
    celery_app.control.purge()
    started = workers.Worker(
        queues="executions-low",
        BATCHPLATFORM_DATA_DIR=str(data_dir),
        PLUGIN_WORK_ROOT=str(tmp_path / "runs"),
        PLUGIN_ENV_ROOT=str(tmp_path / "envs"),
    ).start(tmp_path / "worker.log")
    yield started
    started.stop()
    celery_app.control.purge()

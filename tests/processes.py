"""Helpers to run the platform as its users do: in subprocesses, with the embedded default."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION_VARIABLES = (
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "CHANNEL_LAYER_URL",
    "SECRET_KEY",
    "STORAGE_URL",
    "REDIS_URL",
)


def embedded_env(data_dir, **extra) -> dict:
    """The environment of a newcomer's machine: none of the production variables, a fresh data dir."""
    env = {k: v for k, v in os.environ.items() if k not in PRODUCTION_VARIABLES and not k.startswith("PYTEST")}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    env.update({"BATCHPLATFORM_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1"}, **extra)
    return env


def manage(*args, env, check=True, timeout=120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=check,
        timeout=timeout,
    )

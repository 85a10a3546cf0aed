"""Real PostgreSQL and Redis for the suite, started from the machine's binaries.

Loaded with `-p tests.harness` (pyproject.toml) so it runs before Django reads its settings: the
suite then runs on the production configuration (DATABASE_URL, CELERY_BROKER_URL,
CHANNEL_LAYER_URL). The embedded default (SQLite, filesystem broker) is exercised by the
end-to-end tests, which start the platform in subprocesses. Set DATABASE_URL / REDIS_URL
yourself to use servers you already run.
"""

import atexit
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port} after {timeout}s")


def _postgres_bin(name: str) -> str:
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(p.split("/")[4]))
    if candidates:
        return candidates[-1]
    found = shutil.which(name)
    if not found:
        raise RuntimeError(f"PostgreSQL's {name} is not installed (apt-get install postgresql)")
    return found


def _as_postgres_user(command: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root; CI runs as root.
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


def start_postgres() -> str:
    base = Path(tempfile.mkdtemp(prefix="bp-pg-"))
    data = base / "data"
    if os.geteuid() == 0:
        entry = pwd.getpwnam("postgres")
        os.chown(base, entry.pw_uid, entry.pw_gid)
    port = free_port()
    subprocess.run(
        _as_postgres_user([_postgres_bin("initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"]),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    options = (
        f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off "
        "-c full_page_writes=off -c max_connections=200"
    )
    subprocess.run(
        _as_postgres_user(
            [_postgres_bin("pg_ctl"), "-D", str(data), "-o", options, "-l", str(base / "log"), "-w", "start"]
        ),
        check=True,
        stdout=subprocess.DEVNULL,
    )

    def stop():
        subprocess.run(
            _as_postgres_user([_postgres_bin("pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        )
        shutil.rmtree(base, ignore_errors=True)

    atexit.register(stop)
    return f"postgres://postgres@127.0.0.1:{port}/batchplatform"


def start_redis() -> str:
    binary = shutil.which("redis-server")
    if not binary:
        raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    atexit.register(process.terminate)
    wait_for_port(port)
    return f"redis://127.0.0.1:{port}"


if "DATABASE_URL" not in os.environ:
    os.environ["DATABASE_URL"] = start_postgres()
if "REDIS_URL" not in os.environ:
    os.environ["REDIS_URL"] = start_redis()
os.environ.setdefault("CELERY_BROKER_URL", os.environ["REDIS_URL"] + "/1")
os.environ.setdefault("CHANNEL_LAYER_URL", os.environ["REDIS_URL"] + "/2")
# The built-in solutions are installed by a fixture where a test needs them (tests/profiling/conftest.py).
os.environ.setdefault("SOLUTIONS_INSTALL_BUILTIN", "0")
os.environ.setdefault("SECRET_KEY", "test-only-" + "x" * 50)
os.environ.setdefault("BATCHPLATFORM_DATA_DIR", tempfile.mkdtemp(prefix="bp-test-data-"))
# Playwright drives the browser from the machine (Debian's chromium), never a downloaded one.
os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")

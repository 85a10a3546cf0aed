"""Web, worker and beat together in the foreground, as `make run` starts them.

Each child runs in its own session, so Ctrl-C reaches only this supervisor, which stops the
children in order (SIGTERM, then SIGKILL after a grace period). If one child dies, all stop.
"""

import ctypes
import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand

_PR_SET_PDEATHSIG = 1


def _child_setup(niceness: int):
    def setup():
        # If the supervisor is killed outright, the kernel stops the children too (Linux only).
        try:
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        except (OSError, AttributeError):
            pass
        if niceness:
            os.nice(niceness)

    return setup


class Command(BaseCommand):
    help = "Run web (uvicorn), a Celery worker and Celery beat until Ctrl-C."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=settings.HOST)
        parser.add_argument("--port", type=int, default=settings.PORT)
        parser.add_argument("--concurrency", type=int, default=2, help="Worker processes")
        parser.add_argument("--grace", type=float, default=20.0, help="Seconds to wait for a clean stop")
        parser.add_argument(
            "--worker-nice", type=int, default=10, help="Niceness of worker and beat, so the web answers first"
        )

    def handle(self, *args, host, port, concurrency, grace, worker_nice, **options):
        python = sys.executable
        commands = {
            "web": [
                python,
                "-m",
                "uvicorn",
                "batchplatform.asgi:application",
                "--host",
                host,
                "--port",
                str(port),
                "--lifespan",
                "off",
                "--no-access-log",
            ],
            "worker": [
                python,
                "-m",
                "celery",
                "-A",
                "batchplatform",
                "worker",
                "--loglevel",
                "INFO",
                "--concurrency",
                str(concurrency),
                "-Q",
                ",".join(settings.CELERY_QUEUE_NAMES),
            ],
            "beat": [
                python,
                "-m",
                "celery",
                "-A",
                "batchplatform",
                "beat",
                "--loglevel",
                "INFO",
                "--schedule",
                str(settings.DATA_DIR / "celerybeat-schedule"),
            ],
        }
        stopping = False

        def request_stop(signum, frame):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, request_stop)
        signal.signal(signal.SIGTERM, request_stop)

        children = {}
        for name, command in commands.items():
            niceness = 0 if name == "web" else worker_nice
            children[name] = subprocess.Popen(  # noqa: S603
                command,
                start_new_session=True,
                preexec_fn=_child_setup(niceness),  # noqa: PLW1509
            )
            self.stdout.write(f"started {name} (pid {children[name].pid})")
        self.stdout.write(f"batchplatform is running on http://{host}:{port}/ (admin: /admin/); Ctrl-C stops it")
        self.stdout.flush()

        exit_code = 0
        while not stopping:
            for name, child in children.items():
                if child.poll() is not None:
                    self.stderr.write(f"{name} exited with {child.returncode}; stopping the others")
                    exit_code = 1
                    stopping = True
                    break
            time.sleep(0.2)

        self.stdout.write("stopping web, worker and beat ...")
        for child in children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace
        for name, child in children.items():
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.stderr.write(f"{name} did not stop in {grace:.0f}s; killing it")
                child.kill()
                child.wait()
        self.stdout.write("stopped")
        sys.exit(exit_code)

"""Runner overhead: an empty plugin from "run now" to SUCCEEDED, against `python main.py` directly.

    .venv/bin/python bench/runner.py [--runs 20] [--sandbox both|bwrap|none]

A private PostgreSQL (fsync on) and Redis are started, migrated and seeded with one organisation,
one plugin version whose archive holds an empty `main.py` (entry point `main:run`) and one LOW
instance. One celery worker serves `executions-low` (--concurrency 1, not niced: this measures
latency, not throughput). Then, in this process, `--runs` times:

- run now: `services.run_now(...)` (the service the API and the admin call: the row is committed,
  the message sent), then the row is polled every 5 ms until it is SUCCEEDED;
- the peers: `python main.py` of the same file as a plain subprocess, with the machine's interpreter
  and with the empty virtual environment plugins without requirements.txt run in.

Once per sandbox mode (bubblewrap, and the plain child process of `PLUGIN_SANDBOX=none`), the
worker being restarted with that setting. The table shows p50 / p90 / max and where the time goes
(from the row's own timestamps: created -> started is the dispatch, started -> ended the run).
Everything started is stopped and removed at the end, also on Ctrl-C.
"""

import argparse
import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.ecc_batches import (  # noqa: E402 - after the path is set
    BenchError,
    Processes,
    manage,
    platform_env,
    versions,
    wait_until,
    worker_ready,
)
from bench.plugin_seed import create_bench_plugin, main_archive  # noqa: E402

MAIN = b"def run(context):\n    pass\n\n\nif __name__ == '__main__':\n    run(None)\n"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def start_worker(processes: Processes, env: dict, sandbox: str, name: str) -> None:
    command = [sys.executable, "-m", "celery", "-A", "batchplatform", "worker", "-Q", "executions-low"]
    command += ["--concurrency", "1", "--loglevel", "INFO", "--hostname", f"{name}@%h"]
    command += ["--without-mingle", "--without-gossip", "--without-heartbeat"]
    processes.start(name, command, {**env, "PLUGIN_SANDBOX": sandbox})
    wait_until(lambda: worker_ready(processes, name), 120, f"celery worker {name}")


def setup_django(env: dict) -> None:
    # This process is the platform's client: the same database, broker and data directory.
    os.environ.update(env)
    os.environ["DJANGO_SETTINGS_MODULE"] = "batchplatform.settings"
    import django

    django.setup()


def seed():
    from batchplatform.models import Organisation
    from plugins import services

    organisation = Organisation.objects.get(slug="bench")
    create_bench_plugin(organisation=organisation, artifact_id="empty", archive=main_archive(MAIN))
    return services.create_instance(
        organisation=organisation, user=None, name="empty", group_id="com.bench", artifact_id="empty"
    )


def run_now_once(instance) -> tuple[float, float, float]:
    """(wall seconds from the call to SUCCEEDED seen, dispatch seconds, run seconds)."""
    from django.db import connection

    from plugins import services
    from plugins.models import Execution

    started = time.perf_counter()
    execution = services.run_now(instance=instance, user=None)
    deadline = time.monotonic() + 120
    while True:
        row = Execution.objects.filter(pk=execution.pk).values("status", "created_at", "start_date", "end_date").get()
        if row["status"] == "SUCCEEDED":
            break
        if row["status"] in ("FAILED", "CANCELED"):
            error = Execution.objects.get(pk=execution.pk).error
            raise BenchError(f"execution {execution.pk} ended {row['status']}: {error}")
        if time.monotonic() > deadline:
            raise BenchError(f"execution {execution.pk} still {row['status']} after 120 s")
        time.sleep(0.005)
    wall = time.perf_counter() - started
    connection.close()
    dispatch = (row["start_date"] - row["created_at"]).total_seconds()
    run = (row["end_date"] - row["start_date"]).total_seconds()
    return wall, dispatch, run


def direct_once(folder: Path, python: str) -> float:
    started = time.perf_counter()
    subprocess.run([python, "main.py"], cwd=folder, check=True, env={"PATH": "/usr/bin:/bin"})
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20, help="executions per mode (and direct runs)")
    parser.add_argument("--sandbox", choices=["both", "bwrap", "none"], default="both")
    args = parser.parse_args()
    if args.runs < 1 or args.runs > 1000:
        raise SystemExit("--runs must be between 1 and 1000")
    modes = ["bwrap", "none"] if args.sandbox == "both" else [args.sandbox]
    if "bwrap" in modes and not shutil.which("bwrap"):
        raise SystemExit("bubblewrap (bwrap) is not installed: use --sandbox none")

    with contextlib.ExitStack() as stack:
        work = Path(tempfile.mkdtemp(prefix="bench-runner-"))
        stack.callback(shutil.rmtree, work, ignore_errors=True)
        processes = Processes(work)
        stack.callback(processes.stop_all)
        env, _ = platform_env("postgres", work / "var", stack, processes)
        env["PLUGIN_WORK_ROOT"] = str(work / "runs")
        print("migrating ...", flush=True)
        manage("migrate", "--noinput", env=env)
        manage("createorganisation", "bench", env=env)
        setup_django(env)
        instance = seed()

        from plugins.environments import base_python, empty_environment

        direct_folder = work / "direct"
        direct_folder.mkdir()
        (direct_folder / "main.py").write_bytes(MAIN)
        load_before = os.getloadavg()

        results = {}
        for mode in modes:
            name = f"worker-{mode}"
            start_worker(processes, env, mode, name)
            run_now_once(instance)  # warm-up: the worker's first task imports and connects
            measured = [run_now_once(instance) for _ in range(args.runs)]
            results[mode] = measured
            # One worker at a time on the queue.
            for worker_name, process in list(processes.running):
                if worker_name == name:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(process.pid, 15)
                    process.wait(timeout=30)
                    processes.running.remove((worker_name, process))
        # Two peers: the machine's interpreter (its site-packages and their .pth files load at start),
        # and the empty environment plugins run in (the same start-up cost as the plugin's).
        peers = {}
        for label, python in (
            ("`python main.py` directly, the machine's interpreter", str(base_python())),
            ("`python main.py` directly, the plugins' empty environment", str(empty_environment() / "bin" / "python")),
        ):
            direct_once(direct_folder, python)  # warm-up
            peers[label] = [direct_once(direct_folder, python) for _ in range(args.runs)]
        load_after = os.getloadavg()

    report(args.runs, results, peers, load_before, load_after)


def report(runs: int, results: dict, peers: dict, load_before, load_after) -> None:
    def row(label: str, values: list[float]) -> str:
        return (
            f"| {label} | {percentile(values, 0.5) * 1000:,.0f} | {percentile(values, 0.9) * 1000:,.0f} "
            f"| {max(values) * 1000:,.0f} |"
        )

    print()
    print(f"runner overhead, {runs} runs each; {versions()}")
    print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f}")
    print()
    print("| path | p50 ms | p90 ms | max ms |")
    print("|---|---|---|---|")
    labels = {"bwrap": "run now -> SUCCEEDED (bubblewrap sandbox)", "none": "run now -> SUCCEEDED (plain child)"}
    for mode, measured in results.items():
        print(row(labels[mode], [m[0] for m in measured]))
        print(row("&nbsp;&nbsp;created -> started (dispatch)", [m[1] for m in measured]))
        print(row("&nbsp;&nbsp;started -> ended (runner)", [m[2] for m in measured]))
    for label, direct in peers.items():
        print(row(label, direct))
    print()
    for mode, measured in results.items():
        for label, direct in peers.items():
            overhead = statistics.median(m[0] for m in measured) - statistics.median(direct)
            print(f"overhead p50, {labels[mode]} against {label}: {overhead * 1000:,.0f} ms (target <= 1,000 ms)")


if __name__ == "__main__":
    try:
        main()
    except BenchError as error:
        raise SystemExit(f"bench failed: {error}") from None

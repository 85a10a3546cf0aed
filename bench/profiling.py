"""The full profile of file batches against ydata-profiling, pandas and duckdb SUMMARIZE.

    .venv/bin/python bench/profiling.py [--sizes 10MB,100MB,1GB] [--engines ours,duckdb-summarize,...]

For each size a zip batch (insured + class members, see generate_batches.py) is generated once
into --data (default /tmp/batchplatform-bench, reused by later runs). Then each engine profiles it
in a child process of its own (bench/profile_engines.py), one after the other, so each has the
machine to itself as far as this bench goes; the table gives:

- seconds: the engine's own time, from opening the zip to the result (the interpreter's start and
  imports excluded), and the throughput it makes: uncompressed bytes of all members / seconds;
- CPU seconds: user + system time of the child's threads (from wait4), a figure that does not
  depend on what else the machine runs (on a shared 2-core machine the wall time does);
- peak memory: the child's maximum resident set size (ru_maxrss from wait4), the whole process;
- rows: the data rows the engine counted (ours must match the generator's count).

Our full profile (`profiling.profiler.full.full_profile`) and preliminary profile run with this
interpreter (the project's .venv); the peers run with --peer-python, a separate venv made from
bench/requirements.txt (ydata-profiling, pandas and polars are not the project's dependencies):

    python3 -m venv /tmp/bench-venv && /tmp/bench-venv/bin/pip install -r bench/requirements.txt

ydata-profiling needs about ten times the file's size in memory: at a size where its peak at the
previous size, scaled, would pass --memory-budget it is skipped, and the table says so.
Targets (issue 9): >= 150 MB/s on 1 GB, peak memory <= 512 MB at any size, preliminary < 1 s.
"""

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parent)  # this folder, for generate_batches
from generate_batches import DEFAULT_DIRECTORY, ensure_batch, parse_size  # noqa: E402 -- after the path

ROOT = Path(__file__).resolve().parent.parent
ENGINES_SCRIPT = ROOT / "bench" / "profile_engines.py"
OURS = ("ours", "ours-isal", "ours-patched", "ours-preliminary")
DEFAULT_ENGINES = "ours,ours-preliminary,duckdb-summarize,pandas-describe,ydata-minimal"
DEFAULT_PEER_PYTHON = str(Path(tempfile.gettempdir()) / "bench-venv" / "bin" / "python")
TARGET_MB_S, TARGET_PEAK_MB, TARGET_PRELIMINARY_S = 150, 512, 1.0
MB = 10**6


@dataclass
class Run:
    engine: str
    size: str
    bytes: int
    seconds: float | None = None
    wall: float | None = None
    peak_mb: float | None = None
    cpu: float | None = None
    rows: int | None = None
    note: str = ""

    @property
    def mb_s(self) -> float | None:
        return self.bytes / MB / self.seconds if self.seconds else None


def run_engine(python: str, engine: str, batch: str, timeout: float) -> tuple[dict | None, float, float, float, str]:
    """(result, wall seconds, peak RSS in MB, CPU seconds, error) of one engine in a child process."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as output:
        output_path = output.name
    try:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        started = time.perf_counter()
        command = [python, str(ENGINES_SCRIPT), engine, batch, "--output", output_path]
        child = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = started + timeout
        while True:
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                child.kill()
                pid, status, usage = os.wait4(child.pid, 0)
                cpu = usage.ru_utime + usage.ru_stime
                return (
                    None,
                    time.perf_counter() - started,
                    usage.ru_maxrss / 1024,
                    cpu,
                    f"timed out after {timeout:.0f}s",
                )
            time.sleep(0.05)
        wall = time.perf_counter() - started
        peak = usage.ru_maxrss / 1024  # KiB on Linux
        # User + system time of all its threads: what the run costs, whatever else the machine runs.
        cpu = usage.ru_utime + usage.ru_stime
        child.returncode = os.waitstatus_to_exitcode(status)
        stdout, stderr = child.stdout.read().decode(), child.stderr.read().decode()
        child.stdout.close()
        child.stderr.close()
        if child.returncode:
            lines = [line for line in stderr.splitlines() if line.strip()]
            return None, wall, peak, cpu, f"exit {child.returncode}: {(lines or ['?'])[-1][:200].strip('`')}"
        timing = json.loads(stdout.strip().splitlines()[-1])
        result = json.loads(Path(output_path).read_text())
        return {"seconds": timing["seconds"], "result": result}, wall, peak, cpu, ""
    finally:
        Path(output_path).unlink(missing_ok=True)


def rows_of(engine: str, result: dict) -> int | None:
    if engine in {"ours", "ours-isal", "ours-patched"}:
        return result.get("rowCount")
    if engine == "ours-preliminary":
        return sum(member.get("rowEstimate") or 0 for member in result.get("members", []))
    try:
        return sum(int(member["rows"]) for member in result.values())
    except (KeyError, TypeError, ValueError):
        return None


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor(),
    )
    memory = next(line for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal"))
    return (
        f"{os.cpu_count()} vCPU {cpu}, {int(memory.split()[1]) / 1024**2:.0f} GiB, Python {platform.python_version()}"
    )


def versions(peer_python: str) -> str:
    code = (
        "import importlib.metadata as m\n"
        "for n in ('duckdb','pandas','polars','ydata-profiling'):\n"
        "    try: print(n, m.version(n))\n"
        "    except m.PackageNotFoundError: pass\n"
    )
    ours = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False).stdout.split()
    peers = subprocess.run([peer_python, "-c", code], capture_output=True, text=True, check=False).stdout.split()
    return f"ours: {' '.join(ours)}; peers: {' '.join(peers)}"


def main() -> None:  # noqa: PLR0915 -- the bench's one sequence, read top to bottom
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10MB,100MB,1GB")
    parser.add_argument("--engines", default=DEFAULT_ENGINES, help=f"comma-separated (default {DEFAULT_ENGINES})")
    parser.add_argument("--peer-python", default=DEFAULT_PEER_PYTHON, help="the venv with bench/requirements.txt")
    parser.add_argument("--data", type=Path, default=DEFAULT_DIRECTORY, help="where batches are generated and kept")
    parser.add_argument("--format", default="csv", choices=["csv", "psv", "tsv", "txt"])
    parser.add_argument("--no-bad-quotes", action="store_true", help="batches polars can read (see generate_batches)")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per engine run")
    parser.add_argument(
        "--memory-budget",
        type=float,
        default=12_000,
        help="MB: skip ydata-profiling where its scaled peak would pass this (the machine is shared)",
    )
    args = parser.parse_args()
    engines = [engine.strip() for engine in args.engines.split(",") if engine.strip()]
    if any(engine not in OURS for engine in engines) and not Path(args.peer_python).exists():
        sys.exit(f"no peer interpreter at {args.peer_python}: see bench/requirements.txt, or pass --peer-python")

    print(f"# {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC, {machine()}")
    print(f"# {versions(args.peer_python)}")
    print(f"# load average before: {load_average()}")
    runs: list[Run] = []
    peaks: dict[str, tuple[int, float]] = {}
    for size in [s.strip() for s in args.sizes.split(",") if s.strip()]:
        info = ensure_batch(
            args.data, target_bytes=parse_size(size), fmt=args.format, bad_quotes=not args.no_bad_quotes
        )
        expected_rows = sum(member.rows for member in info.members)
        print(
            f"# {size}: {info.path}, {info.bytes / MB:.1f} MB uncompressed, "
            f"{Path(info.path).stat().st_size / MB:.1f} MB zipped, {expected_rows} rows"
        )
        for engine in engines:
            run = Run(engine, size, info.bytes)
            runs.append(run)
            if engine == "ydata-minimal" and engine in peaks:
                measured_bytes, measured_peak = peaks[engine]
                scaled = measured_peak * info.bytes / measured_bytes
                if scaled > args.memory_budget:
                    run.note = (
                        f"skipped: would need ~{scaled / 1000:.0f} GB (budget {args.memory_budget / 1000:.0f} GB)"
                    )
                    print(f"  {engine:18} {run.note}", flush=True)
                    continue
            python = sys.executable if engine in OURS else args.peer_python
            outcome, run.wall, run.peak_mb, run.cpu, error = run_engine(python, engine, info.path, args.timeout)
            if error:
                run.note = error
            else:
                run.seconds = outcome["seconds"]
                run.rows = rows_of(engine, outcome["result"])
                if engine in {"ours", "ours-isal", "ours-patched"} and run.rows != expected_rows:
                    run.note = f"rows {run.rows} != generated {expected_rows}"
                peaks[engine] = (info.bytes, run.peak_mb)
            rate = f"{run.mb_s:7.1f} MB/s" if run.mb_s else "      - MB/s"
            seconds = f"{run.seconds:8.2f} s" if run.seconds is not None else "       - s"
            print(
                f"  {engine:18} {seconds} {rate} cpu {run.cpu:7.1f} s peak {run.peak_mb:7.0f} MB  {run.note}",
                flush=True,
            )
    print(f"# load average after: {load_average()}")

    print("\n| size | engine | seconds | MB/s | CPU s (whole process) | peak RSS (MB) | rows | note |")
    print("|---|---|---:|---:|---:|---:|---:|---|")
    for run in runs:
        seconds = f"{run.seconds:.2f}" if run.seconds is not None else "-"
        rate = f"{run.mb_s:.1f}" if run.mb_s and run.engine != "ours-preliminary" else "-"
        peak = f"{run.peak_mb:.0f}" if run.peak_mb else "-"
        rows = f"{run.rows}" if run.rows is not None else "-"
        cpu = f"{run.cpu:.1f}" if run.cpu is not None else "-"
        print(f"| {run.size} | {run.engine} | {seconds} | {rate} | {cpu} | {peak} | {rows} | {run.note} |")

    print()
    for run in runs:
        if run.engine in {"ours", "ours-isal", "ours-patched"} and run.seconds:
            speed = "met" if run.mb_s >= TARGET_MB_S else "MISSED"
            memory = "met" if run.peak_mb <= TARGET_PEAK_MB else "MISSED"
            print(
                f"target {run.size} ({run.engine}): {run.mb_s:.1f} MB/s (>= {TARGET_MB_S}: {speed}), "
                f"peak {run.peak_mb:.0f} MB (<= {TARGET_PEAK_MB}: {memory})"
            )
        if run.engine == "ours-preliminary" and run.seconds is not None:
            verdict = "met" if run.seconds < TARGET_PRELIMINARY_S else "MISSED"
            print(f"target {run.size}: preliminary profile {run.seconds:.3f} s (< {TARGET_PRELIMINARY_S} s: {verdict})")


if __name__ == "__main__":
    main()

"""Staging a processor's inputs (plugins/runner/inputs.py): time and peak memory of the runner's
streaming staging, next to the naive peer (`ZipFile.read(member)` / `storage.read()`: the whole
file in memory, then written), for a zip member and a plain file of --mib MiB each.

    .venv/bin/python bench/input_staging.py              # 512 MiB
    .venv/bin/python bench/input_staging.py --mib 64     # a quick try

Each measurement runs in a fresh child process (peak RSS is per process), on files in a temporary
data directory removed at the end. No database, broker or worker is needed: staging reads storage
and writes the work directory only.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, os, resource, shutil, sys, tempfile, time, zipfile
from pathlib import Path
import django
django.setup()
from django.core.files.storage import default_storage
from plugins.models import Execution
from plugins.runner.inputs import stage_inputs, unlock_inputs
from plugins.runner.run import Run

mode, kind = sys.argv[1], sys.argv[2]
source = {"member": {"storage_name": "bench/batch.zip", "member": "insured.csv"},
          "plain": {"storage_name": "bench/plain.csv", "member": None}}[kind]
root = Path(tempfile.mkdtemp(dir=os.environ["STAGE_WORK"]))
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.perf_counter()
if mode == "streamed":
    run = Run(execution=Execution(pk=1, organisation_id=1, inputs={"in.csv": source}), limits=None, root=root)
    stage_inputs(run)
    unlock_inputs(run)
else:  # the peer: the whole file in memory, then written
    (root / "input").mkdir()
    with default_storage.open(source["storage_name"], "rb") as stored:
        data = zipfile.ZipFile(stored).read(source["member"]) if source["member"] else stored.read()
    (root / "input" / "in.csv").write_bytes(data)
    del data
took = time.perf_counter() - started
size = (root / "input" / "in.csv").stat().st_size
shutil.rmtree(root)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": took, "bytes": size, "peak_mib": peak / 1024, "growth_mib": (peak - before) / 1024}))
"""


def make_files(media: Path, mib: int) -> None:
    (media / "bench").mkdir(parents=True, exist_ok=True)
    # Half random, half repeated: deflate has work to do, and the member compresses about 2:1.
    block = os.urandom(512 * 1024) * 2
    with zipfile.ZipFile(media / "bench" / "batch.zip", "w", compression=zipfile.ZIP_DEFLATED) as archive:
        with archive.open("insured.csv", "w", force_zip64=True) as out:
            for _ in range(mib):
                out.write(block)
    with open(media / "bench" / "plain.csv", "wb") as out:
        for _ in range(mib):
            out.write(block)


def measure(mode: str, kind: str, env: dict) -> dict:
    completed = subprocess.run(
        [sys.executable, "-c", CHILD, mode, kind], env=env, cwd=ROOT, capture_output=True, text=True, check=False
    )
    if completed.returncode != 0:
        raise SystemExit(f"{mode} {kind} failed:\n{completed.stderr[-3000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mib", type=int, default=512, help="size of each staged file (MiB)")
    arguments = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="bench-input-staging-"))
    try:
        data, work = scratch / "data", scratch / "work"
        work.mkdir()
        env = {
            **os.environ,
            "BATCHPLATFORM_DATA_DIR": str(data),
            "DJANGO_SETTINGS_MODULE": "batchplatform.settings",
            "PYTHONPATH": str(ROOT),
            "STAGE_WORK": str(work),
        }
        env.pop("DATABASE_URL", None)
        data.mkdir()
        make_files(data / "media", arguments.mib)
        print(f"staging one {arguments.mib} MiB file (peak RSS of a fresh process; MiB/s of the staged bytes)\n")
        print("| input | runner (streamed) | peer (whole file in memory) |")
        print("|---|---:|---:|")
        for kind, label in (("member", "zip member (deflated)"), ("plain", "plain file")):
            ours, peer = measure("streamed", kind, env), measure("in-memory", kind, env)
            if not ours["bytes"] == peer["bytes"] == arguments.mib * 1024 * 1024:
                raise SystemExit(f"staged sizes differ: {ours['bytes']} and {peer['bytes']}")
            cells = [
                f"{r['bytes'] / 1048576 / r['seconds']:.0f} MiB/s, peak RSS {r['peak_mib']:.0f} MiB"
                for r in (ours, peer)
            ]
            print(f"| {label} | {cells[0]} | {cells[1]} |")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()

"""Faults: file batches profiled while the profiling workers are SIGKILLed (and PostgreSQL restarted), then the count.

    .venv/bin/python bench/faults_profiles.py [--scenario kills|postgres|redis|both] [--batches 100] [--kills 10]

On PostgreSQL + Redis (bench/faultkit.py): uvicorn --workers 2, two celery workers -Q
profiling,default (the full profiles, and beat's `profiling-sweep`, every 60 s), and celery beat.
`--batches` zips (insured + class members, `bench/generate_batches.py`, `--zip-size` each, a few
seeds in turn) are uploaded to POST /solutions/batch/5/profile?batchKey=<a GUID per batch> at an
even pace over `--duration` seconds by `--clients` clients; an upload not answered (503, no
answer) is sent again with the same batchKey, and a 409 DUPLICATE_BATCH_KEY to such a retry
means the first one was stored. One more client reads a batch's profile
(GET /solutions/batch/5/unstructured/<key>/profile) all along. Meanwhile `--kills` times a random
worker is SIGKILLed with its process group and started again; scenario `postgres` also restarts
PostgreSQL half-way; scenario `redis` kills redis-server half-way instead and starts it again,
empty, after `--redis-down` seconds (every queued message is lost).

PROFILING_LEASE_SECONDS is lowered (120 -> `--lease`) so a profile killed mid-run is taken again
within the run: a lease must outlast the longest profile, which is short for these zips. Then the
database is polled until no batch is QUEUED or PROFILING (bounded by `--timeout`) and counted:
batches not final, FAILED ones and their reasons, attempts per batch, and "finished twice" from
the events table (more than one profileUpdatedEvent for one batch). Everything started is
stopped and removed at the end, also on Ctrl-C.
"""

import argparse
import asyncio
import functools
import os
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import httpx
from ecc_batches import USERNAME, Database
from faultkit import (
    Run,
    add_fault_arguments,
    create_bench_user,
    fault_platform,
    fault_report,
    load_average,
    run_scenarios,
    send,
    start_stage,
    workers_described,
)
from generate_batches import DEFAULT_DIRECTORY, ensure_batch, parse_size

QUEUES = ["profiling", "default"]
RETRY_PAUSE = 0.5
RETRY_STATUSES = ("503", "no answer (ConnectError)", "no answer (ReadError)", "no answer (RemoteProtocolError)")


# --- the load --------------------------------------------------------------------------------


async def upload(client: httpx.AsyncClient, number: int, *, contents: list[bytes], keys: list[str], args, run: Run):
    """One zip, sent again with its batchKey while it is not answered (503, no answer)."""
    body = contents[number % len(contents)]
    give_up = time.monotonic() + args.retry_budget
    retried = False
    while True:
        status, _ = await send(
            client,
            run,
            "POST",
            "/solutions/batch/5/profile",
            params={"batchKey": keys[number]},
            files={"batch-file": (f"batch-{number}.zip", body, "application/zip")},
        )
        if status == "200" or (status == "409" and retried):
            run.accepted[number] = keys[number]
            return
        if status not in RETRY_STATUSES or time.monotonic() > give_up:
            return  # counted in the HTTP statuses
        retried = True
        await asyncio.sleep(RETRY_PAUSE)


# --- the count -------------------------------------------------------------------------------


def count(database: Database, run: Run, args) -> tuple[dict, Counter]:
    scalar = database.scalar
    keys = list(run.accepted.values())
    in_database = scalar("SELECT count(*) FROM profiling_filebatch WHERE batch_key::text = ANY(%s)", keys)
    attempts = attempts_histogram(database)
    finished_twice = scalar(
        "SELECT count(*) FROM (SELECT attributes->>'batchKey' FROM batchplatform_event "
        "WHERE stream = 'profiling' AND name = 'profileUpdatedEvent' "
        "GROUP BY attributes->>'batchKey' HAVING count(*) > 1) AS twice"
    )
    figures = {
        "uploads answered 200": f"{len(keys)} of {args.batches}",
        "batches in the database": scalar("SELECT count(*) FROM profiling_filebatch"),
        "**batches lost** (answered 200, no row)": len(keys) - in_database,
        "COMPLETED": scalar("SELECT count(*) FROM profiling_filebatch WHERE status = 'COMPLETED'"),
        "**FAILED**": scalar("SELECT count(*) FROM profiling_filebatch WHERE status = 'FAILED'"),
        "**stuck: QUEUED or PROFILING after the sweep window**": stuck(database),
        "**finished twice** (two profileUpdatedEvents for one batch)": finished_twice,
        "attempts per batch (attempts: batches)": ", ".join(f"{n}: {c}" for n, c in sorted(attempts.items())),
    }
    return figures, attempts


def attempts_histogram(database: Database) -> Counter:
    url = database.database_url.replace("postgres://", "postgresql://", 1)
    import psycopg

    with psycopg.connect(url, autocommit=True) as connection:
        rows = connection.execute("SELECT attempts, count(*) FROM profiling_filebatch GROUP BY attempts").fetchall()
        reasons = connection.execute(
            "SELECT failure_reason, count(*) FROM profiling_filebatch WHERE status = 'FAILED' GROUP BY 1"
        ).fetchall()
    for reason, n in reasons:
        print(f"FAILED x{n}: {reason[:300]}", flush=True)
    return Counter(dict(rows))


def stuck(database: Database) -> int:
    return database.scalar("SELECT count(*) FROM profiling_filebatch WHERE status IN ('QUEUED', 'PROFILING')")


EXPECTED = {
    "**batches lost** (answered 200, no row)": 0,
    "**FAILED**": "0 (these zips profile)",
    "**stuck: QUEUED or PROFILING after the sweep window**": 0,
    "**finished twice** (two profileUpdatedEvents for one batch)": 0,
    "attempts per batch (attempts: batches)": "1, or 2 when killed mid-profile",
}


# --- one scenario ----------------------------------------------------------------------------


def run_scenario(scenario: str, zips: list[Path], args) -> tuple[Run, dict, list[str]]:
    run = Run(scenario)
    load_before = os.getloadavg()[0]
    with fault_platform(scenario, args, prefix="bench-faults-profiles") as platform:
        env = platform.env
        env["PROFILING_LEASE_SECONDS"] = str(args.lease)
        print(f"[{scenario}] migrating ...", flush=True)
        password = create_bench_user(env)
        stage = start_stage(platform, args, run, queues=QUEUES, credentials={"auth": (USERNAME, password)})
        database = Database(platform.postgres.url, None)
        keys = [str(uuid.UUID(int=number + 1)) for number in range(args.batches)]
        contents = [path.read_bytes() for path in zips]
        stage.load_with_faults(
            total=args.batches,
            send_one=functools.partial(upload, contents=contents, keys=keys, args=args, run=run),
            # The first batch's profile: 404 until its upload is answered, then 200.
            read=f"/solutions/batch/5/unstructured/{keys[0]}/profile",
            load_timeout=120,
        )
        stage.sweep_window(
            accepted="uploads answered",
            final=lambda: stuck(database) == 0,
            what="every batch final",
            task="profile_batch_task",
        )
        figures, _ = count(database, run, args)
        described = [
            workers_described(args, QUEUES),
            "celery beat: `profiling-sweep` every 60 s (QUEUED not sent for 60 s, or PROFILING past its lease)",
            f"env for the bench: PROFILING_LEASE_SECONDS={args.lease} (default 120)",
            load_average(load_before),
        ]
        return run, figures, described


def report(results: list[tuple[Run, dict, list[str]]], zips: list[Path], args) -> str:
    sizes = ", ".join(f"{path.stat().st_size // 1024} KB" for path in zips)
    header = [
        f"- {args.batches} uploads to POST /solutions/batch/5/profile paced over {args.duration:.0f} s by "
        f"{args.clients} clients, a batchKey each (sent again on 503 / no answer); zips of ~{args.zip_size} "
        f"uncompressed (insured + class, bench/generate_batches.py; {sizes} compressed) in turn; "
        f"one reading client; seed {args.seed}",
    ]
    return fault_report(header, results, args, expected=EXPECTED)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, default=100, help="zips uploaded")
    parser.add_argument("--zip-size", default="2MB", help="uncompressed size of each zip's members")
    parser.add_argument("--zip-kinds", type=int, default=4, help="different zips (generator seeds) in turn")
    parser.add_argument("--duration", type=float, default=90, help="seconds over which zips are uploaded")
    parser.add_argument("--lease", type=int, default=20, help="PROFILING_LEASE_SECONDS for the bench (>= 5)")
    parser.add_argument("--retry-budget", type=float, default=60, help="seconds an unanswered upload is sent again")
    parser.add_argument("--data", type=Path, default=DEFAULT_DIRECTORY, help="where the zips are kept")
    add_fault_arguments(parser, kills=10, clients=2, worker_concurrency=1)
    args = parser.parse_args()
    if args.lease < 5:
        parser.error("--lease must be at least 5 (PROFILING_LEASE_SECONDS's minimum)")
    return args


def main() -> int:
    args = parse_args()
    zips = [
        Path(ensure_batch(args.data, target_bytes=parse_size(args.zip_size), seed=seed).path)
        for seed in range(1, args.zip_kinds + 1)
    ]
    return run_scenarios(
        args,
        title="Faults benchmark, profiles",
        run_scenario=lambda scenario: run_scenario(scenario, zips, args),
        report=lambda results: report(results, zips, args),
    )


if __name__ == "__main__":
    sys.exit(main())

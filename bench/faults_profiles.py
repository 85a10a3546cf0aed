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
import os
import signal
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import httpx
from ecc_batches import USERNAME, BenchError, Database, interrupt, manage, versions, wait_until
from faultkit import (
    Run,
    Workers,
    fault_platform,
    fault_table,
    load_with_faults,
    probe,
    queue_worker_command,
    send,
    start_beat,
    start_web,
    unfinished_tasks,
    verdicts,
)
from generate_batches import DEFAULT_DIRECTORY, ensure_batch, parse_size

QUEUES = ["profiling", "default"]
RETRY_PAUSE = 0.5
RETRY_STATUSES = ("503", "no answer (ConnectError)", "no answer (ReadError)", "no answer (RemoteProtocolError)")


# --- the load --------------------------------------------------------------------------------


async def upload_all(base_url: str, password: str, *, zips: list[Path], keys: list[str], args, run: Run) -> None:
    pace = args.duration / args.batches
    numbers = iter(range(args.batches))
    contents = [path.read_bytes() for path in zips]
    limits = httpx.Limits(max_connections=args.clients, max_keepalive_connections=args.clients)
    async with httpx.AsyncClient(base_url=base_url, auth=(USERNAME, password), limits=limits, timeout=120) as client:

        async def one_client():
            for number in numbers:
                await asyncio.sleep(max(0.0, run.started + number * pace - time.monotonic()))
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
                        break
                    if status not in RETRY_STATUSES or time.monotonic() > give_up:
                        break  # counted in the HTTP statuses
                    retried = True
                    await asyncio.sleep(RETRY_PAUSE)

        await asyncio.gather(*(one_client() for _ in range(args.clients)))


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
        processes, env = platform.processes, platform.env
        env["PROFILING_LEASE_SECONDS"] = str(args.lease)
        print(f"[{scenario}] migrating ...", flush=True)
        manage("migrate", "--noinput", env=env)
        manage("createorganisation", "bench", env=env)
        password = os.urandom(12).hex()
        manage("createapiuser", "bench", USERNAME, "--password", password, env=env)
        base_url = start_web(platform, args)
        workers = Workers(processes, env, args, command=lambda number: queue_worker_command(args, number, QUEUES))
        workers.start_all()
        start_beat(platform, args)
        database = Database(platform.postgres.url, None)
        keys = [str(uuid.UUID(int=number + 1)) for number in range(args.batches)]

        async def reader(stop):
            async with httpx.AsyncClient(base_url=base_url, auth=(USERNAME, password), timeout=60) as client:
                # The first batch's profile: 404 until its upload is answered, then 200.
                await probe(client, run, stop, f"/solutions/batch/5/unstructured/{keys[0]}/profile")

        print(f"[{scenario}] serving at {base_url}; load and faults for {args.duration:.0f}s ...", flush=True)
        asyncio.run(
            load_with_faults(
                load=lambda: upload_all(base_url, password, zips=zips, keys=keys, args=args, run=run),
                reader=reader,
                workers=workers,
                postgres=platform.postgres,
                args=args,
                run=run,
                platform=platform,
            )
        )
        print(
            f"[{scenario}] {len(run.accepted)} uploads answered after {run.load_done - run.started:.1f}s; "
            "the sweep window ...",
            flush=True,
        )
        wait_until(workers.all_ready, 120, "the restarted workers")
        wait_until(lambda: processes.check_alive() or stuck(database) == 0, args.timeout, "every batch final", 0.5)
        run.all_final = time.monotonic()
        run.in_flight_at_kill = sum(
            unfinished_tasks(processes.log(name), "profile_batch_task") for _, name in run.kills
        )
        figures, _ = count(database, run, args)
        described = [
            f"uvicorn --workers {args.web_workers}; {args.workers} celery workers (nice {args.worker_nice}) "
            f"-Q {','.join(QUEUES)} --concurrency {args.worker_concurrency}; each SIGKILL takes the worker's "
            "process group and starts it again at once",
            "celery beat: `profiling-sweep` every 60 s (QUEUED not sent for 60 s, or PROFILING past its lease)",
            f"env for the bench: PROFILING_LEASE_SECONDS={args.lease} (default 120)",
            f"load average (1 min) before: {load_before:.2f}; at the end, bench included: {os.getloadavg()[0]:.2f}",
        ]
        return run, figures, described


def report(results: list[tuple[Run, dict, list[str]]], zips: list[Path], args) -> str:
    sizes = ", ".join(f"{path.stat().st_size // 1024} KB" for path in zips)
    lines = [
        f"- {args.batches} uploads to POST /solutions/batch/5/profile paced over {args.duration:.0f} s by "
        f"{args.clients} clients, a batchKey each (sent again on 503 / no answer); zips of ~{args.zip_size} "
        f"uncompressed (insured + class, bench/generate_batches.py; {sizes} compressed) in turn; "
        f"one reading client; seed {args.seed}",
        *(f"- {line}" for line in results[0][2]),
        "",
    ]
    runs = [(run, figures) for run, figures, _ in results]
    lines += fault_table(runs, args, expected=EXPECTED)
    lines += ["", *verdicts(runs)]
    return "\n".join(lines)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--scenario",
        choices=["kills", "postgres", "redis", "both", "none"],
        default="both",
        help="both: kills, then postgres; redis: kills and Redis lost once, half-way (not in both)",
    )
    parser.add_argument("--redis-down", type=float, default=5, help="seconds Redis stays away (scenario redis)")
    parser.add_argument("--batches", type=int, default=100, help="zips uploaded")
    parser.add_argument("--zip-size", default="2MB", help="uncompressed size of each zip's members")
    parser.add_argument("--zip-kinds", type=int, default=4, help="different zips (generator seeds) in turn")
    parser.add_argument("--duration", type=float, default=90, help="seconds over which zips are uploaded")
    parser.add_argument("--kills", type=int, default=10, help="worker SIGKILLs, at random moments")
    parser.add_argument("--postgres-restart-mode", choices=["fast", "immediate"], default="fast")
    parser.add_argument("--seed", type=int, default=11, help="where the kills fall and which worker")
    parser.add_argument("--clients", type=int, default=2, help="concurrent HTTP clients uploading")
    parser.add_argument("--web-workers", type=int, default=2, help="uvicorn workers")
    parser.add_argument("--workers", type=int, default=2, help="celery worker processes")
    parser.add_argument("--worker-nice", type=int, default=10, help="niceness of workers and beat")
    parser.add_argument("--worker-concurrency", type=int, default=1, help="each")
    parser.add_argument("--lease", type=int, default=20, help="PROFILING_LEASE_SECONDS for the bench (>= 5)")
    parser.add_argument("--retry-budget", type=float, default=60, help="seconds an unanswered upload is sent again")
    parser.add_argument("--data", type=Path, default=DEFAULT_DIRECTORY, help="where the zips are kept")
    parser.add_argument("--logs", help="a directory to keep every process's log in")
    parser.add_argument("--timeout", type=float, default=300, help="seconds of sweep window, at most")
    args = parser.parse_args()
    if args.lease < 5:
        parser.error("--lease must be at least 5 (PROFILING_LEASE_SECONDS's minimum)")
    return args


def main() -> int:
    args = parse_args()
    signal.signal(signal.SIGTERM, interrupt)
    scenarios = ["kills", "postgres"] if args.scenario == "both" else [args.scenario]
    info = versions()
    print(
        f"Faults benchmark, profiles: {os.cpu_count()} CPUs, Python {info['python']}, {info['postgresql']}, "
        f"{info['redis']}",
        flush=True,
    )
    zips = [
        Path(ensure_batch(args.data, target_bytes=parse_size(args.zip_size), seed=seed).path)
        for seed in range(1, args.zip_kinds + 1)
    ]
    results = []
    try:
        for scenario in scenarios:
            try:
                results.append(run_scenario(scenario, zips, args))
            except BenchError as error:
                print(f"[{scenario}] aborted: {error}", file=sys.stderr, flush=True)
                if results:
                    print(report(results, zips, args))
                return 1
    except KeyboardInterrupt:
        print("interrupted; servers stopped and temporary directories removed", file=sys.stderr)
        return 130
    print(report(results, zips, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Faults: an ECC batch run while workers are SIGKILLed (and PostgreSQL restarted), then the count.

    .venv/bin/python bench/faults.py [--scenario kills|postgres|both] [--batches 100] [--size 100]

On PostgreSQL + Redis, as bench/ecc_batches.py starts them (uvicorn --workers 2, two celery
workers -Q default,batches --concurrency 1), plus celery beat, whose `ecc-sweep` re-wakes what a
lost message left behind. `--batches` batches of `--size` requests (PATCH
subscriptions/iccid:<iccid> {"blocked": true}, one distinct subscription each) are POSTed to
/ecc/v1/batches at an even pace over `--duration` seconds by `--clients` clients, each batch with
its own Idempotency-Key and sent again (same key) until it is answered 202; one more client reads
GET /ecc/v1/subscriptions?limit=1 all along, to see what a user sees.

Meanwhile `--kills` times, at random moments, one of the workers (chosen at random) is SIGKILLed
with its pool and started again at once. Scenario `postgres` also restarts PostgreSQL once,
half-way (`pg_ctl restart -m fast`, or `--postgres-restart-mode immediate`: a crash); scenario
`redis` kills redis-server half-way and starts it again, empty, `--redis-down` seconds later.

Then the sweep window: the database is polled until every batch, request and order is final
(bounded by `--timeout`). The table: requests lost, orders created twice, anything stuck in a
non-final state, time to recover from the last fault, and every HTTP status the clients got,
before, during and after the PostgreSQL restart. Everything started is stopped and removed at
the end, also on Ctrl-C.
"""

import argparse
import asyncio
import functools
import os
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
from ecc_batches import USERNAME, BenchError, Database, iccid, prepare_data, start_servers
from faultkit import (
    Run,
    Stage,
    Workers,
    add_fault_arguments,
    fault_platform,
    fault_report,
    load_average,
    run_scenarios,
    send,
    start_beat,
)

RETRY_PAUSE = 0.5  # between two sends of a batch that was not accepted
FINAL_BATCH = "('COMPLETED', 'PARTIALLY_COMPLETED')"
FINAL_REQUEST = "('COMPLETED', 'FAILED', 'REJECTED', 'CANCELED')"


# --- what the clients saw --------------------------------------------------------------------


async def submit_batch(client: httpx.AsyncClient, number: int, *, args, run: Run) -> None:
    """One batch, sent again with its key until it is accepted."""
    body = {"type": "single", "requests": batch_requests(number, args.size)}
    headers = {"Idempotency-Key": f"faults-{number}"}
    give_up = time.monotonic() + args.retry_budget
    while True:
        status, answer = await send(client, run, "POST", "/ecc/v1/batches", json=body, headers=headers)
        if status == "202":
            run.accepted[number] = answer.json()["batchid"]
            return
        if time.monotonic() > give_up:
            raise BenchError(f"batch {number} was not accepted after {args.retry_budget:.0f}s: {status}")
        await asyncio.sleep(RETRY_PAUSE)


def batch_requests(number: int, size: int) -> list[dict]:
    return [
        {
            "method": "PATCH",
            "resource": f"subscriptions/iccid:{iccid(number * size + position)}",
            "body": {"blocked": True},
            "requestid": str(number * size + position),
        }
        for position in range(size)
    ]


# --- a network element, for the http provisioner ---------------------------------------------


class NetworkElement:
    """Answers every order 200 after `delay` seconds, on loopback, and counts what it was sent:
    an order sent twice carries the same Idempotency-Key, so the element can tell."""

    def __init__(self, delay: float):
        self.keys: Counter = Counter()
        element = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers["Content-Length"]))
                time.sleep(delay)
                element.keys[self.headers["Idempotency-Key"]] += 1
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/orders"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# --- the count -------------------------------------------------------------------------------


def count(database: Database, args, run: Run) -> dict:
    scalar = database.scalar
    accepted_requests = len(run.accepted) * args.size
    completed = scalar("SELECT count(*) FROM batches_batchrequest WHERE status = 'COMPLETED'")
    twice = scalar(
        "SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n FROM batches_order GROUP BY iccid) AS per_iccid"
    )
    return {
        "batches accepted (202)": f"{len(run.accepted)} of {args.batches}",
        "batches in the database": scalar("SELECT count(*) FROM batches_batch"),
        "requests accepted": accepted_requests,
        "requests completed": completed,
        "**requests lost** (accepted, not completed)": accepted_requests - completed,
        "**orders created twice**": twice,
        "orders without a request": scalar(
            "SELECT count(*) FROM batches_order o WHERE NOT EXISTS "
            "(SELECT 1 FROM batches_batchrequest r WHERE r.order_id = o.id)"
        ),
        "subscriptions blocked": scalar("SELECT count(*) FROM batches_subscription WHERE blocked"),
        "**stuck: batches not final**": stuck_batches(database),
        "**stuck: requests not final**": scalar(
            f"SELECT count(*) FROM batches_batchrequest WHERE status NOT IN {FINAL_REQUEST}"  # noqa: S608  (constants)
        ),
        "**stuck: orders provisioning or flagged**": scalar(
            "SELECT count(*) FROM batches_order WHERE status = 'PROVISIONING' OR needs_attention"
        ),
    }


def stuck_batches(database: Database) -> int:
    return database.scalar(f"SELECT count(*) FROM batches_batch WHERE status NOT IN {FINAL_BATCH}")  # noqa: S608


def everything_final(database: Database) -> bool:
    return (
        stuck_batches(database) == 0
        and database.scalar(f"SELECT count(*) FROM batches_batchrequest WHERE status NOT IN {FINAL_REQUEST}") == 0  # noqa: S608
        and database.scalar("SELECT count(*) FROM batches_order WHERE status = 'PROVISIONING'") == 0
    )


# --- one scenario ----------------------------------------------------------------------------


def run_scenario(scenario: str, args) -> tuple[Run, dict, list[str]]:
    run = Run(scenario)
    load_before = os.getloadavg()[0]
    with fault_platform(scenario, args, prefix="bench-faults") as platform:
        processes, env = platform.processes, platform.env
        element = None
        if args.provisioner == "http":
            element = NetworkElement(args.element_delay)
            platform.stack.callback(element.close)
            # No retries inside a task: a lost answer is the sweep's, after the lease.
            env.update(
                ECC_PROVISIONER="http",
                ECC_PROVISIONER_URL=element.url,
                ECC_PROVISIONER_TIMEOUT="5",
                ECC_PROVISIONER_RETRIES="0",
            )
        print(f"[{scenario}] migrating and seeding {args.batches * args.size} subscriptions ...", flush=True)
        password = prepare_data(env, args.batches * args.size)
        base_url, described = start_servers("postgres", env, processes, args)
        # The sweeper, as in production: beat sends `ecc-sweep` every 30 s.
        start_beat(platform, args)
        database = Database(platform.postgres.url, None)
        stage = Stage(run, args, platform, Workers(processes, env, args), base_url, {"auth": (USERNAME, password)})
        stage.load_with_faults(
            total=args.batches,
            send_one=functools.partial(submit_batch, args=args, run=run),
            read="/ecc/v1/subscriptions",
            read_params={"limit": 1},
        )
        stage.sweep_window(
            accepted="batches accepted",
            final=lambda: everything_final(database),
            what="everything to be final",
            interval=0.1,
        )
        figures = count(database, args, run)
        if element is not None:
            sent = {int(key.removeprefix("order-")) for key in element.keys}
            figures["orders sent to the network element"] = len(sent)
            figures["of which sent again (same Idempotency-Key)"] = sum(1 for n in element.keys.values() if n > 1)
            completed = database.scalar("SELECT count(*) FROM batches_order WHERE status = 'COMPLETED'")
            figures["**orders completed, never sent**"] = max(0, completed - len(sent))
        described = [line for line in described if not line.startswith("no beat")]
        described += [
            "celery beat (DatabaseScheduler): `ecc-sweep` every 30 s re-wakes what is older than 20 s",
            load_average(load_before),
        ]
        return run, figures, described


def report(results: list[tuple[Run, dict, list[str]]], args) -> str:
    header = [
        f"- {args.batches} batches x {args.size} requests, paced over {args.duration:.0f} s by {args.clients} "
        f"clients (Idempotency-Key per batch, sent again until 202) and one reading client; seed {args.seed}",
        f"- ECC_PROVISIONER={args.provisioner}"
        + (
            f" (a loopback network element answering 200 after {args.element_delay * 1000:.0f} ms; "
            "timeout 5 s, no retries in the task)"
            if args.provisioner == "http"
            else " (the default: a batch's turns carried out in bulk in one transaction)"
        ),
    ]
    return fault_report(header, results, args, start="the first batch", phases=("after",))


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, default=100)
    parser.add_argument("--size", type=int, default=100, help="requests per batch (at most 100)")
    parser.add_argument("--duration", type=float, default=60, help="seconds over which batches are sent")
    parser.add_argument("--retry-budget", type=float, default=120, help="seconds a batch is sent again")
    parser.add_argument("--provisioner", choices=["local", "http"], default="local", help="ECC_PROVISIONER")
    parser.add_argument("--element-delay", type=float, default=0.01, help="the network element's answer time (http)")
    add_fault_arguments(parser, kills=20, clients=4, worker_concurrency=1)
    args = parser.parse_args()
    if not 1 <= args.size <= 100:
        parser.error("--size must be 1 to 100")
    return args


def main() -> int:
    args = parse_args()
    return run_scenarios(
        args,
        title="Faults benchmark",
        run_scenario=lambda scenario: run_scenario(scenario, args),
        report=lambda results: report(results, args),
    )


if __name__ == "__main__":
    sys.exit(main())

"""Faults: plugin executions run while workers are SIGKILLed (and PostgreSQL restarted), then the count.

    .venv/bin/python bench/faults_executions.py [--scenario kills|postgres|redis|both] [--executions 300] [--kills 10]

On PostgreSQL + Redis (bench/faultkit.py): uvicorn --workers 2, two celery workers serving the
execution queues and `default` (where beat's `plugins-sweep-schedules`, every second, and
`plugins-reap-lost-executions`, every 30 s, run), and celery beat. One plugin version whose
`main.py` sleeps 0.5-2 s; `--instances` LOW instances run it on demand and `--cron-instances`
more on `* * * * *`. `--executions` run-now calls (POST /v1/integration_batch_instances/<id>/executions)
are sent at an even pace over `--duration` seconds, round robin over the on-demand instances; one
more client reads GET /v1/integration_batch_instances.executions all along. Meanwhile `--kills`
times a random worker is SIGKILLed with its whole process group (its plugins die with it:
bubblewrap's --die-with-parent, or PR_SET_PDEATHSIG) and started again; scenario `postgres`
also restarts PostgreSQL half-way; scenario `redis` kills redis-server half-way instead and
starts it again, empty, after `--redis-down` seconds (every queued message is lost).

How a run twice is seen: the plugin tells a witness, an HTTP server in this process on loopback
(outside the sandbox, which keeps the network unless the instance's `network` property is false),
when it starts and when it ends, with the execution id and a random id of its own per start. An
execution id that started twice was run by two children; an end witnessed for an execution the
row calls FAILED "worker lost" is work done and reported lost. The plugin also returns its
execution id as its result, checked against the row.

The bench lowers three timeouts by environment variable so the sweep window fits in minutes:
PLUGIN_HEARTBEAT_INTERVAL (5 -> 2 s), PLUGIN_HEARTBEAT_TIMEOUT (60 -> `--heartbeat-timeout`) and
SCHEDULER_RESEND_AFTER (300 -> `--resend-after`). Then the database is polled until no execution
is PENDING or RUNNING (bounded by `--timeout`) and counted. Everything started is stopped and
removed at the end, also on Ctrl-C.
"""

import argparse
import asyncio
import functools
import os
import re
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
from ecc_batches import Database, manage
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
from plugin_seed import main_archive

QUEUES = ["executions-low", "executions-medium", "executions-large", "executions-extra-large", "default"]
RETRY_PAUSE = 0.5
WORKER_LOST = "worker lost"
NOTHING_TO_RUN = re.compile(r"execution (\d+) is not PENDING and due: nothing to run")

PLUGIN = '''"""A plugin of the faults bench: tells the witness when it starts and ends, sleeps between."""
import os
import random
import time
import urllib.request

WITNESS = "{witness}"


def tell(what, execution_id, attempt):
    request = urllib.request.Request(f"{{WITNESS}}/{{what}}/{{execution_id}}/{{attempt}}", data=b"", method="POST")
    for _ in range(20):  # the witness is on loopback; a refused connection is tried again
        try:
            urllib.request.urlopen(request, timeout=5).read()
            return
        except OSError:
            time.sleep(0.1)


def run(context):
    attempt = os.urandom(6).hex()
    tell("start", context.execution_id, attempt)
    time.sleep(random.uniform({low}, {high}))
    tell("end", context.execution_id, attempt)
    return {{"execution_id": context.execution_id, "attempt": attempt}}
'''

SEED = """
import base64
from batchplatform.models import Organisation
from bench.plugin_seed import create_bench_plugin
from plugins import services
organisation = Organisation.objects.get(slug="bench")
archive = base64.b64decode("{archive}")
create_bench_plugin(organisation=organisation, artifact_id="faults", archive=archive)
ids = []
for n in range({instances}):
    instance = services.create_instance(
        organisation=organisation, user=None, name=f"faults-{n}", group_id="com.bench", artifact_id="faults"
    )
    ids.append(instance.pk)
cron = []
for n in range({cron_instances}):
    instance = services.create_instance(
        organisation=organisation, user=None, name=f"faults-cron-{n}", group_id="com.bench", artifact_id="faults",
        cron="* * * * *", cron_status="ACTIVE",
    )
    cron.append(instance.pk)
print(ids, cron)
"""


# --- the witness -----------------------------------------------------------------------------


class Witness:
    """Records each plugin start and end: execution id -> [(the start's own id, time.monotonic())]."""

    def __init__(self):
        self.starts: dict[int, list[tuple[str, float]]] = {}
        self.ends: dict[int, list[tuple[str, float]]] = {}
        self.lock = threading.Lock()
        witness = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                _, what, execution_id, attempt = self.path.split("/")
                with witness.lock:
                    book = witness.starts if what == "start" else witness.ends
                    book.setdefault(int(execution_id), []).append((attempt, time.monotonic()))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def plugin_archive(witness_url: str, low: float, high: float) -> bytes:
    return main_archive(PLUGIN.format(witness=witness_url, low=low, high=high))


def seed(env: dict, archive: bytes, args) -> tuple[str, list[int], list[int]]:
    """The organisation, an API token, the plugin and its instances; (token, on-demand ids, cron ids)."""
    import base64

    create_bench_user(env)
    token = manage("createapitoken", "bench", "--name", "faults", env=env).strip()
    script = SEED.replace("{archive}", base64.b64encode(archive).decode())
    script = script.replace("{instances}", str(args.instances)).replace("{cron_instances}", str(args.cron_instances))
    out = manage("shell", "--no-imports", "-c", script, env=env).strip().splitlines()[-1]
    on_demand, cron = out.split("] [")
    return token, parse_ids(on_demand), parse_ids(cron)


def parse_ids(text: str) -> list[int]:
    return [int(part) for part in re.findall(r"\d+", text)]


# --- the load --------------------------------------------------------------------------------


async def run_now(client: httpx.AsyncClient, number: int, *, instances: list[int], args, run: Run) -> None:
    """One run-now call. It is sent again only when it surely created nothing: 503 (the database
    away; its transaction did not commit) or a connection refused."""
    path = f"/v1/integration_batch_instances/{instances[number % len(instances)]}/executions"
    give_up = time.monotonic() + args.retry_budget
    while True:
        status, answer = await send(client, run, "POST", path, json={})
        if status == "201":
            run.accepted[number] = int(answer.json()["data"]["id"])
            return
        if status not in ("503", "no answer (ConnectError)") or time.monotonic() > give_up:
            return  # counted in the HTTP statuses; the row, if any, is counted too
        await asyncio.sleep(RETRY_PAUSE)


# --- the count -------------------------------------------------------------------------------


def rows(database: Database) -> list[dict]:
    url = database.database_url.replace("postgres://", "postgresql://", 1)
    import psycopg
    from psycopg.rows import dict_row

    with psycopg.connect(url, autocommit=True, row_factory=dict_row) as connection:
        return connection.execute(
            "SELECT id, instance_id, execution_type, status, error, result, start_date, end_date, "
            "expected_start_date, created_at FROM plugins_execution ORDER BY id"
        ).fetchall()


def unfinished(database: Database) -> int:
    return database.scalar("SELECT count(*) FROM plugins_execution WHERE status IN ('PENDING', 'RUNNING')")


def cron_ticks(cron_ids: list[int], first: datetime, last: datetime) -> set[tuple[int, datetime]]:
    """(instance, minute) for every minute boundary in [first, last]."""
    ticks, tick = set(), first.replace(second=0, microsecond=0)
    if tick < first:
        tick += timedelta(minutes=1)
    while tick <= last:
        ticks |= {(instance, tick) for instance in cron_ids}
        tick += timedelta(minutes=1)
    return ticks


def count(database: Database, witness: Witness, run: Run, *, cron_ids: list[int], window: tuple, args) -> dict:
    executions = rows(database)
    by_id = {row["id"]: row for row in executions}
    accepted = set(run.accepted.values())
    manual = [row for row in executions if row["execution_type"] == "MANUAL"]
    cron = [row for row in executions if row["execution_type"] == "CRON"]
    statuses = Counter(row["status"] for row in executions)
    lost_error = [
        row
        for row in executions
        if row["status"] == "FAILED" and WORKER_LOST in (row["error"] or {}).get("message", "")
    ]
    other_failed = Counter(
        (row["error"] or {}).get("message", "")[:80]
        for row in executions
        if row["status"] == "FAILED" and row not in lost_error
    )
    succeeded = [row for row in executions if row["status"] == "SUCCEEDED"]
    wrong_result = [row for row in succeeded if (row["result"] or {}).get("execution_id") != row["id"]]
    # Cron ticks that fell inside the run (from the first minute after seeding to the end of the load).
    due = cron_ticks(cron_ids, *window)
    have = {(row["instance_id"], row["expected_start_date"]): row for row in cron}
    in_window = [have[tick] for tick in due if tick in have]
    # Distinct start ids: a tell sent again (its answer lost) is the same start.
    twice = {execution_id for execution_id, starts in witness.starts.items() if len({a for a, _ in starts}) > 1}
    done_but_lost = [row for row in lost_error if witness.ends.get(row["id"])]
    # A kill between the plugin's start and its end: it outlived a worker (maybe another one's).
    kills = [when for when, _ in run.kills]
    outlived = [
        row
        for row in done_but_lost
        if any(witness.starts[row["id"]][0][1] < kill < witness.ends[row["id"]][-1][1] for kill in kills)
    ]
    succeeded_unwitnessed = [row for row in succeeded if not witness.ends.get(row["id"])]
    figures = {
        "run-now calls answered 201": f"{len(accepted)} of {args.executions}",
        "manual executions in the database": len(manual),
        "**manual executions created, answered otherwise** (a retry runs them twice)": sum(
            1 for row in manual if row["id"] not in accepted
        ),
        "cron executions in the database (ticks due in the run)": f"{len(cron)} ({len(due)})",
        "**executions lost** (201 answered, no row or never final)": sum(
            1 for execution_id in accepted if by_id.get(execution_id, {}).get("status") in (None, "PENDING", "RUNNING")
        ),
        "**cron ticks lost** (due, no execution)": len(due - set(have)),
        "cron ticks due in the run: run to the end / canceled by the bench's pause": (
            f"{sum(1 for row in in_window if row['status'] in ('SUCCEEDED', 'FAILED'))} / "
            f"{sum(1 for row in in_window if row['status'] == 'CANCELED' and not row['error'])}"
        ),
        "**stuck: PENDING or RUNNING after the sweep window**": statuses["PENDING"] + statuses["RUNNING"],
        "SUCCEEDED": statuses["SUCCEEDED"],
        'FAILED "worker lost" (killed mid-run: expected)': len(lost_error),
        "**FAILED otherwise**": sum(other_failed.values()),
        "CANCELED (cron ticks: why)": canceled_reasons(executions),
        "**started twice** (two plugin starts witnessed for one execution)": len(twice),
        'FAILED "worker lost" whose plugin had ended (the kill came between its exit and the row written)': len(
            done_but_lost
        ),
        "of which a kill (of either worker) fell between the plugin's start and end": len(outlived),
        "**SUCCEEDED with a wrong result or no witnessed end**": len(wrong_result) + len(succeeded_unwitnessed),
        "plugin starts witnessed": sum(len({a for a, _ in starts}) for starts in witness.starts.values()),
        "manual: waited created -> started, p50 / max (s)": waits(manual),
        f"manual: started more than {args.resend_after} s late (a resent message)": sum(
            1
            for row in manual
            if row["start_date"] and (row["start_date"] - row["created_at"]).total_seconds() > args.resend_after
        ),
    }
    if other_failed:
        print("FAILED otherwise:", dict(other_failed), flush=True)
    return figures


def canceled_reasons(executions: list[dict]) -> str:
    # No message: canceled when the bench paused the cron instances (pausing cancels what is coming).
    reasons = Counter(
        (row["error"] or {}).get("message", "by the pause") for row in executions if row["status"] == "CANCELED"
    )
    return ", ".join(f"{reason}: {n}" for reason, n in sorted(reasons.items())) or "0"


def waits(executions: list[dict]) -> str:
    seconds = sorted((row["start_date"] - row["created_at"]).total_seconds() for row in executions if row["start_date"])
    if not seconds:
        return "-"
    return f"{seconds[len(seconds) // 2]:.1f} / {seconds[-1]:.1f}"


EXPECTED = {
    "**manual executions created, answered otherwise** (a retry runs them twice)": 0,
    "**executions lost** (201 answered, no row or never final)": 0,
    "**cron ticks lost** (due, no execution)": 0,
    "**stuck: PENDING or RUNNING after the sweep window**": 0,
    "**FAILED otherwise**": 0,
    "**started twice** (two plugin starts witnessed for one execution)": 0,
    'FAILED "worker lost" whose plugin had ended (the kill came between its exit and the row written)': "rare",
    "**SUCCEEDED with a wrong result or no witnessed end**": 0,
    'FAILED "worker lost" (killed mid-run: expected)': "<= plugins killed",
}


# --- one scenario ----------------------------------------------------------------------------


def run_scenario(scenario: str, args) -> tuple[Run, dict, list[str]]:
    run = Run(scenario)
    load_before = os.getloadavg()[0]
    with fault_platform(scenario, args, prefix="bench-faults-executions") as platform:
        processes, env = platform.processes, platform.env
        witness = Witness()
        platform.stack.callback(witness.close)
        env.update(
            PLUGIN_WORK_ROOT=str(platform.work / "runs"),
            PLUGIN_HEARTBEAT_INTERVAL="2",
            PLUGIN_HEARTBEAT_TIMEOUT=str(args.heartbeat_timeout),
            SCHEDULER_RESEND_AFTER=str(args.resend_after),
        )
        print(f"[{scenario}] migrating and seeding {args.instances} + {args.cron_instances} instances ...", flush=True)
        token, on_demand, cron_ids = seed(env, plugin_archive(witness.url, args.min_sleep, args.max_sleep), args)
        stage = start_stage(platform, args, run, queues=QUEUES, credentials={"headers": {"Authorization": token}})
        database = Database(platform.postgres.url, None)
        sandbox = next((line for line in processes.log("worker1").splitlines() if "plugins run" in line), "?")
        window_start = datetime.now(UTC)
        stage.load_with_faults(
            total=args.executions,
            send_one=functools.partial(run_now, instances=on_demand, args=args, run=run),
            read="/v1/integration_batch_instances.executions",
            read_params={"max_results": 1},
        )
        # A tick in the last seconds may be swept after the pause: only earlier ones are counted.
        window_end = datetime.now(UTC) - timedelta(seconds=5)
        env_pause = ""
        if args.cron_instances:
            # Through the service (signals included), so no repair puts them back.
            pause = (
                "from plugins import services; from plugins.models import IntegrationBatchInstance as I\n"
                f"for i in I.objects.filter(pk__in={cron_ids!r}):\n"
                "    services.update_instance(instance=i, user=None, cron_status='PAUSED')"
            )
            manage("shell", "--no-imports", "-c", pause, env=env)
            env_pause = "; the cron instances are paused"
        stage.sweep_window(
            accepted="run-now calls answered 201",
            final=lambda: unfinished(database) == 0,
            what="every execution to be final",
            task="run_execution_task",
            note=env_pause,
        )
        time.sleep(1)  # a plugin's last word to the witness, if any
        figures = count(database, witness, run, cron_ids=cron_ids, window=(window_start, window_end), args=args)
        taken = sum(len(NOTHING_TO_RUN.findall(processes.log(name))) for name in worker_logs(processes))
        figures["run messages that found their execution taken (did nothing)"] = taken
        described = [
            workers_described(args, QUEUES),
            f"{sandbox.split('] ')[-1].strip()}",
            "celery beat: `plugins-sweep-schedules` every 1 s (cron ticks, PENDING never sent or sent more than "
            f"{args.resend_after} s ago), `plugins-reap-lost-executions` every 30 s (RUNNING with no heartbeat "
            f"for {args.heartbeat_timeout:.0f} s)",
            f"env for the bench: PLUGIN_HEARTBEAT_INTERVAL=2 PLUGIN_HEARTBEAT_TIMEOUT={args.heartbeat_timeout:.0f} "
            f"SCHEDULER_RESEND_AFTER={args.resend_after} (defaults 5, 60, 300)",
            load_average(load_before),
        ]
        return run, figures, described


def worker_logs(processes) -> list[str]:
    return sorted(path.stem for path in processes.log_dir.glob("worker*.log"))


def report(results: list[tuple[Run, dict, list[str]]], args) -> str:
    header = [
        f"- {args.executions} run-now calls (POST /v1/integration_batch_instances/<id>/executions) paced over "
        f"{args.duration:.0f} s by {args.clients} clients, round robin over {args.instances} LOW instances; "
        f"{args.cron_instances} more instances on `* * * * *` (overlap FORBID, the default) during the load; "
        f"the plugin sleeps {args.min_sleep}-{args.max_sleep} s; one reading client; seed {args.seed}",
    ]
    return fault_report(header, results, args, expected=EXPECTED)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--executions", type=int, default=300, help="run-now calls")
    parser.add_argument("--instances", type=int, default=20, help="on-demand instances (round robin)")
    parser.add_argument("--cron-instances", type=int, default=5, help="instances on * * * * * during the load")
    parser.add_argument("--min-sleep", type=float, default=0.5, help="the plugin's run time, at least")
    parser.add_argument("--max-sleep", type=float, default=2.0, help="and at most")
    parser.add_argument("--duration", type=float, default=120, help="seconds over which run-now calls are sent")
    parser.add_argument("--heartbeat-timeout", type=float, default=15, help="PLUGIN_HEARTBEAT_TIMEOUT for the bench")
    parser.add_argument("--resend-after", type=int, default=30, help="SCHEDULER_RESEND_AFTER for the bench (>= 10)")
    parser.add_argument("--retry-budget", type=float, default=60, help="seconds a refused run-now is sent again")
    add_fault_arguments(parser, kills=10, clients=4, worker_concurrency=3)
    args = parser.parse_args()
    if args.resend_after < 10:
        parser.error("--resend-after must be at least 10 (SCHEDULER_RESEND_AFTER's minimum)")
    if not 0 < args.min_sleep <= args.max_sleep:
        parser.error("--min-sleep must be positive and at most --max-sleep")
    return args


def main() -> int:
    args = parse_args()
    return run_scenarios(
        args,
        title="Faults benchmark, executions",
        run_scenario=lambda scenario: run_scenario(scenario, args),
        report=lambda results: report(results, args),
    )


if __name__ == "__main__":
    sys.exit(main())

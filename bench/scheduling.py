"""Scheduling lag: the platform's one sweep against one django-celery-beat entry per instance.

    .venv/bin/python bench/scheduling.py [--sizes 1000,10000,100000] [--peer-sizes 1000,10000] [--minutes 3]

For each size N, on a private PostgreSQL (fsync on) and a private Redis:

- ours: N active instances on `* * * * *` (overlap ALLOW, so every tick is a run), bulk-created
  with their CrontabSchedule; ONE `celery beat` (DatabaseScheduler, the platform's settings: the
  sweep every second) and ONE `celery worker -Q default --concurrency 2` (nice 10). Dispatch time
  is the execution's `sent_at` (stamped after its message was handed to the broker); lag =
  sent_at - expected_start_date (the tick).
- the peer: N django-celery-beat PeriodicTasks on `* * * * *`, ONE `celery beat`. Dispatch time
  is when the bench's drain saw the message in its Redis queue (polled every 50 ms); lag = that
  time - the minute it belongs to.

Run messages are not executed (no runner is needed to measure dispatch): the bench drains the
queues every 50 ms, counting the messages, so duplicates show. Ticks measured: the `--minutes`
minute boundaries after the processes are up; a tick counts as missed when no message for it
was sent by the end of the window plus `--grace` seconds.
"""

import argparse
import base64
import contextlib
import json
import os
import secrets
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import redis

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ecc_batches import (
    PRODUCTION_VARIABLES,
    BenchError,
    Processes,
    interrupt,
    manage,
    start_postgres,
    start_redis,
    versions,
    wait_until,
)

ROOT = Path(__file__).resolve().parent.parent
DRAIN_INTERVAL = 0.05
PEER_QUEUE = "bench-peer"
OUR_QUEUE = "executions-low"

POPULATE = """
import os
from django_celery_beat.models import CrontabSchedule, PeriodicTask, PeriodicTasks
from batchplatform.models import Organisation
from plugins import services
from plugins.models import IntegrationBatchInstance

n, mode = int(os.environ["BENCH_N"]), os.environ["BENCH_MODE"]
static = {"origin": "PLUGIN_STATIC", "writable": False, "deletable": False, "property_type": "STRING"}
organisation = Organisation.objects.create(slug="bench", name="Bench")
plugin = services.create_plugin(
    organisation=organisation, plugin_type="INTEGRATION_BATCH", group_id="com.bench", artifact_id="tick"
)
version = services.create_version(plugin=plugin, version_id="1.0.0", plugin_properties=[
    {"technical_name": "provider", "value": {"value": "bench"}, **static},
    {"technical_name": "name", "value": {"value": "tick"}, **static},
])
if mode == "ours":
    for start in range(0, n, 5000):
        size = min(5000, n - start)
        crontabs = CrontabSchedule.objects.bulk_create([CrontabSchedule(timezone="UTC") for _ in range(size)])
        IntegrationBatchInstance.objects.bulk_create([
            IntegrationBatchInstance(
                organisation=organisation, version=version, name=f"i{start + i}", cron="* * * * *",
                cron_status="PAUSED", overlap_policy="ALLOW", crontab=crontab, next_tick_at=None,
            )
            for i, crontab in enumerate(crontabs)
        ])
    print(IntegrationBatchInstance.objects.count())
else:
    crontab = CrontabSchedule.objects.create(timezone="UTC")
    for start in range(0, n, 5000):
        PeriodicTask.objects.bulk_create([
            PeriodicTask(name=f"bench-{i}", task="bench.tick", crontab=crontab, queue="bench-peer",
                         kwargs='{"instance": %d}' % i)
            for i in range(start, min(n, start + 5000))
        ])
    PeriodicTasks.update_changed()
    print(PeriodicTask.objects.filter(task="bench.tick").count())
"""


def next_minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0) + timedelta(minutes=1)


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


class Drain:
    """Empties a Redis queue every 50 ms, noting when each message was first seen."""

    def __init__(self, redis_url: str, queue: str):
        self.client = redis.Redis.from_url(redis_url)
        self.queue = queue
        self.seen: list[tuple[float, bytes]] = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        while not self.stopping.is_set():
            with self.client.pipeline(transaction=True) as pipe:  # read and delete at once: nothing slips by
                pipe.lrange(self.queue, 0, -1)
                pipe.delete(self.queue)
                messages, _ = pipe.execute()
            now = time.time()
            self.seen.extend((now, message) for message in messages)
            self.stopping.wait(DRAIN_INTERVAL)

    def __enter__(self):
        self.client.delete(self.queue)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        self.thread.join()

    def payloads(self):
        for seen, raw in self.seen:
            envelope = json.loads(raw)
            yield seen, json.loads(base64.b64decode(envelope["body"]))


def database_env(base: dict, template_url: str, name: str) -> dict:
    url = template_url.rsplit("/", 1)[0] + f"/{name}"
    admin = template_url.rsplit("/", 1)[0].replace("postgres://", "postgresql://", 1) + "/postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}" TEMPLATE batchplatform')
    return {**base, "DATABASE_URL": url}


def celery(args, *words: str) -> list[str]:
    return ["nice", "-n", str(args.worker_nice), sys.executable, "-m", "celery", "-A", "batchplatform", *words]


def run_scenario(*, mode: str, n: int, args, base_env: dict, template_url: str, redis_url: str, work: Path) -> dict:
    env = database_env(base_env, template_url, f"{mode}_{n}")
    processes = Processes(work / f"{mode}-{n}")
    processes.log_dir.mkdir()
    print(f"[{mode} N={n}] populating", flush=True)
    started = time.monotonic()
    count = manage(
        "shell", "--no-imports", "-c", POPULATE, env={**env, "BENCH_N": str(n), "BENCH_MODE": mode}, timeout=1800
    ).strip()
    if count != str(n):
        raise BenchError(f"populated {count}, expected {n}")
    print(f"[{mode} N={n}] populated in {time.monotonic() - started:.0f} s; starting beat", flush=True)
    queue = OUR_QUEUE if mode == "ours" else PEER_QUEUE
    with Drain(redis_url, queue) as drain:
        try:
            processes.start("beat", celery(args, "beat", "--loglevel", "INFO", "-s", str(processes.log_dir / "s")), env)
            if mode == "ours":
                worker = celery(args, "worker", "-Q", "default", "--concurrency", "2", "--loglevel", "INFO")
                processes.start("worker", worker, env)
                wait_until(lambda: ready(processes, "worker", "ready."), 300, "the worker")
            wait_until(lambda: ready(processes, "beat", "beat: Starting"), 300, "the beat")
            # The first tick measured comes once everything is up.
            first_tick = next_minute(datetime.now(UTC) + timedelta(seconds=15))
            ticks = [first_tick + timedelta(minutes=m) for m in range(args.minutes)]
            if mode == "ours":
                activate(env["DATABASE_URL"], first_tick)
            print(f"[{mode} N={n}] measuring ticks {ticks[0]:%H:%M}..{ticks[-1]:%H:%M} UTC", flush=True)
            load_before, cpu_before, window_start = os.getloadavg()[0], cpu_seconds(processes), time.monotonic()
            end = ticks[-1] + timedelta(seconds=60 if mode == "peer" else 0) + timedelta(seconds=args.grace)
            while datetime.now(UTC) < end:
                processes.check_alive()
                time.sleep(1)
            load_after, cpu = os.getloadavg()[0], cpu_seconds(processes) - cpu_before
            window_minutes = (time.monotonic() - window_start) / 60
        finally:
            processes.stop_all()
    if mode == "ours":
        result = measure_ours(env["DATABASE_URL"], ticks, n, drain)
    else:
        result = measure_peer(ticks, n, drain)
    result.update(mode=mode, n=n, load=(load_before, load_after), cpu_per_minute=cpu / window_minutes)
    return result


def cpu_seconds(processes: Processes) -> float:
    """User + system CPU of every process in the sessions of our beat and worker (the worker's
    pool children included): what dispatching costs, whatever else the machine runs."""
    sessions = {process.pid for _, process in processes.running}
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        if int(fields[3]) in sessions:
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def ready(processes: Processes, name: str, text: str) -> bool:
    processes.check_alive()
    return text in processes.log(name)


def activate(database_url: str, first_tick: datetime) -> None:
    """Resumes every instance with its next tick at `first_tick` (populated paused, so nothing
    ticked while the processes started)."""
    with psycopg.connect(database_url.replace("postgres://", "postgresql://", 1), autocommit=True) as connection:
        connection.execute(
            "UPDATE plugins_integrationbatchinstance SET cron_status = 'ACTIVE', next_tick_at = %s", (first_tick,)
        )


def measure_ours(database_url: str, ticks: list[datetime], n: int, drain: Drain) -> dict:
    url = database_url.replace("postgres://", "postgresql://", 1)
    with psycopg.connect(url) as connection:
        rows = connection.execute(
            "SELECT id, instance_id, expected_start_date, sent_at FROM plugins_execution "
            "WHERE expected_start_date = ANY(%s) AND sent_at IS NOT NULL",
            (ticks,),
        ).fetchall()
    lags = [(sent - tick).total_seconds() for _, _, tick, sent in rows]
    pairs = Counter((instance, tick) for _, instance, tick, _ in rows)
    ids = {row[0] for row in rows}
    messages = Counter(payload[0][0] for _, payload in drain.payloads() if payload[0][0] in ids)
    return {
        "lags": lags,
        "expected": n * len(ticks),
        "dispatched": len(pairs),
        "missed": n * len(ticks) - len(pairs),
        # Two executions on one tick, or one execution's message sent twice.
        "duplicated": sum(c - 1 for c in pairs.values()) + sum(c - 1 for c in messages.values()),
        "unsent_messages": len(ids - set(messages)),
    }


def measure_peer(ticks: list[datetime], n: int, drain: Drain) -> dict:
    window = {tick.timestamp() for tick in ticks}
    lags, pairs = [], Counter()
    for seen, payload in drain.payloads():
        minute = seen - seen % 60
        if minute in window:
            lags.append(seen - minute)
            pairs[(payload[1]["instance"], minute)] += 1
    return {
        "lags": lags,
        "expected": n * len(ticks),
        "dispatched": len(pairs),
        "missed": n * len(ticks) - len(pairs),
        "duplicated": sum(c - 1 for c in pairs.values()),
        "unsent_messages": 0,
    }


def table(results: list[dict], args) -> str:
    lines = [
        "| instances | dispatcher | ticks expected | dispatched | missed | duplicated | p50 lag | p99 lag | max lag "
        "| dispatcher CPU s/min | load (1 min) before -> after |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        who = "one sweep (ours)" if r["mode"] == "ours" else "beat entry per instance"
        if "error" in r:
            lines.append(f"| {r['n']:,} | {who} | aborted: {r['error']} |||||||")
            continue
        lags = r["lags"]
        p50, p99, top = percentile(lags, 0.5), percentile(lags, 0.99), max(lags, default=float("nan"))
        lines.append(
            f"| {r['n']:,} | {who} | {r['expected']:,} | {r['dispatched']:,} | {r['missed']:,} | {r['duplicated']:,} "
            f"| {p50:.2f} s | {p99:.2f} s | {top:.2f} s | {r['cpu_per_minute']:.1f} "
            f"| {r['load'][0]:.1f} -> {r['load'][1]:.1f} |"
        )
    return "\n".join(lines)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sizes = lambda text: [int(part) for part in text.split(",") if part]  # noqa: E731
    parser.add_argument("--sizes", type=sizes, default=[1000, 10000, 100000], help="instances, ours")
    parser.add_argument("--peer-sizes", type=sizes, default=[1000, 10000], help="beat entries, the peer")
    parser.add_argument("--minutes", type=int, default=3, help="ticks measured per scenario (the issue asks 5)")
    parser.add_argument("--grace", type=int, default=30, help="seconds after the last tick before counting")
    parser.add_argument("--worker-nice", type=int, default=10)
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    signal.signal(signal.SIGTERM, interrupt)
    info = versions()
    print(
        f"Scheduling benchmark: {os.cpu_count()} CPUs, Python {info['python']}, {info['postgresql']}, {info['redis']}; "
        f"{args.minutes} ticks per scenario",
        flush=True,
    )
    results = []
    with contextlib.ExitStack() as stack:
        work = Path(tempfile.mkdtemp(prefix="bench-scheduling-"))
        stack.callback(shutil.rmtree, work, ignore_errors=True)
        servers = Processes(work)
        stack.callback(servers.stop_all)
        try:
            template_url = start_postgres(stack)
            redis_url = start_redis(servers)
            env = {k: v for k, v in os.environ.items() if k not in PRODUCTION_VARIABLES}
            env.pop("DJANGO_SETTINGS_MODULE", None)
            env.update(
                BATCHPLATFORM_DATA_DIR=str(work / "var"),
                PYTHONUNBUFFERED="1",
                PYTHONPATH=str(ROOT),
                DATABASE_URL=template_url,
                CELERY_BROKER_URL=f"{redis_url}/0",
                SECRET_KEY="bench-" + secrets.token_urlsafe(40),
            )
            manage("migrate", "--noinput", env=env)
            scenarios = [("ours", n) for n in args.sizes] + [("peer", n) for n in args.peer_sizes]
            # Side by side: ours and the peer alternate at each size.
            scenarios.sort(key=lambda s: (s[1], s[0] != "ours"))
            for mode, n in scenarios:
                try:
                    results.append(
                        run_scenario(
                            mode=mode,
                            n=n,
                            args=args,
                            base_env=env,
                            template_url=template_url,
                            redis_url=f"{redis_url}/0",
                            work=work,
                        )
                    )
                except BenchError as error:
                    print(f"[{mode} N={n}] aborted: {error}", file=sys.stderr, flush=True)
                    results.append({"mode": mode, "n": n, "error": str(error).splitlines()[0]})
                print(table(results[-1:], args), flush=True)
        except KeyboardInterrupt:
            print("interrupted; servers stopped and temporary directories removed", file=sys.stderr)
            return 130
    print()
    print(table(results, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())

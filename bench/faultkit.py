"""What every fault bench shares: the platform on PostgreSQL + Redis, the faults, and the table.

Used by bench/faults.py (ECC request batches), bench/faults_executions.py (plugin executions) and
bench/faults_profiles.py (file batch profiles). Each brings its load (one call: `send_one`) and
its count; this module starts PostgreSQL, Redis, uvicorn and beat, paces the load over --duration,
SIGKILLs a random worker (its whole process group) at random moments and starts it again, restarts
PostgreSQL (scenario `postgres`) or Redis (scenario `redis`) once half-way, waits out the sweep
window, records every HTTP status the clients got by phase (before, during, after the restart),
and prints the figures with the rows all fault runs share. The scripts' common options, their
loop over the scenarios and their report are here too.
"""

import argparse
import asyncio
import contextlib
import os
import random
import re
import shutil
import signal
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from ecc_batches import (
    PRODUCTION_VARIABLES,
    USERNAME,
    BenchError,
    Postgres,
    Processes,
    free_port,
    healthy,
    interrupt,
    manage,
    port_open,
    start_postgres_cluster,
    start_redis,
    versions,
    wait_until,
    worker_command,
    worker_ready,
)

PROBE_INTERVAL = 0.05


# --- what the clients saw --------------------------------------------------------------------


@dataclass
class Answer:
    sent: float  # time.monotonic()
    answered: float
    status: str  # "202", "500", "connection error", ...


@dataclass
class Run:
    scenario: str
    answers: list[Answer] = field(default_factory=list)
    accepted: dict[int, str] = field(default_factory=dict)  # the load's number -> what the platform answered
    kills: list[tuple[float, str]] = field(default_factory=list)  # (when, process name)
    in_flight_at_kill: int = 0  # tasks a killed worker had received and not finished
    postgres_down: float | None = None  # restart asked
    postgres_back: float | None = None  # pg_ctl -w returned: accepting connections again
    redis_down: float | None = None  # scenario redis: redis-server killed (its queues are lost)
    redis_back: float | None = None  # started again, empty, on the same port
    started: float = 0.0
    load_done: float = 0.0
    all_final: float | None = None

    @property
    def last_fault(self) -> float:
        moments = [when for when, _ in self.kills]
        moments += [back for back in (self.postgres_back, self.redis_back) if back is not None]
        return max(moments, default=self.started)

    def phase_of(self, answer: Answer) -> str:
        down = self.postgres_down if self.postgres_down is not None else self.redis_down
        back = self.postgres_back if self.postgres_down is not None else self.redis_back
        if down is None:
            return "all"
        if answer.answered < down:
            return "before"
        if back is not None and answer.sent >= back:
            return "after"
        return "during"


async def send(client: httpx.AsyncClient, run: Run, method: str, path: str, **kwargs):
    sent = time.monotonic()
    try:
        response = await client.request(method, path, **kwargs)
        status = str(response.status_code)
    except httpx.TransportError as error:
        response, status = None, f"no answer ({type(error).__name__})"
    run.answers.append(Answer(sent, time.monotonic(), status))
    return status, response


async def probe(client: httpx.AsyncClient, run: Run, stop: asyncio.Event, path: str, **kwargs) -> None:
    """A user reading all along: what does the API answer while the faults happen?"""
    while not stop.is_set():
        await send(client, run, "GET", path, **kwargs)
        await asyncio.sleep(PROBE_INTERVAL)


def statuses_by_phase(run: Run) -> dict[str, Counter]:
    phases: dict[str, Counter] = {}
    for answer in run.answers:
        phases.setdefault(run.phase_of(answer), Counter())[answer.status] += 1
    return phases


# --- the platform ----------------------------------------------------------------------------


@dataclass
class FaultPlatform:
    work: Path
    processes: Processes
    env: dict
    postgres: Postgres
    stack: contextlib.ExitStack
    redis_port: int = 0

    def restart_redis(self, down_seconds: float) -> None:
        """redis-server killed, and started again empty on the same port after `down_seconds`:
        every queued message is lost, as when a broker without persistence restarts."""
        self.processes.kill("redis")
        time.sleep(down_seconds)
        command = ["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1", "--save", ""]
        self.processes.start("redis.1", [*command, "--appendonly", "no"], os.environ.copy())
        wait_until(lambda: port_open(self.redis_port), 30, "redis-server again")


@contextlib.contextmanager
def fault_platform(scenario: str, args, *, prefix: str):
    """A private PostgreSQL (fsync on) and Redis, and the environment the platform's processes get;
    everything started is stopped and removed on exit (`--logs DIR` keeps the logs)."""
    with contextlib.ExitStack() as stack:
        work = Path(tempfile.mkdtemp(prefix=f"{prefix}-{scenario}-"))
        stack.callback(shutil.rmtree, work, ignore_errors=True)
        processes = Processes(work)
        if args.logs:
            stack.callback(keep_logs, work, Path(args.logs) / scenario)
        stack.callback(processes.stop_all)
        try:
            env = {k: v for k, v in os.environ.items() if k not in PRODUCTION_VARIABLES}
            env.pop("DJANGO_SETTINGS_MODULE", None)
            postgres = start_postgres_cluster(stack)
            redis_url = start_redis(processes)
            env.update(
                BATCHPLATFORM_DATA_DIR=str(work / "var"),
                PYTHONUNBUFFERED="1",
                DATABASE_URL=postgres.url,
                CELERY_BROKER_URL=f"{redis_url}/1",
                CHANNEL_LAYER_URL=f"{redis_url}/2",
                SECRET_KEY=f"{prefix}-" + os.urandom(24).hex(),
            )
            yield FaultPlatform(work, processes, env, postgres, stack, int(redis_url.rsplit(":", 1)[1]))
        except BaseException:
            for name, _process in processes.running:
                print(f"--- last lines of {name}.log ---\n{processes.log(name)[-2000:]}", file=sys.stderr)
            raise


def keep_logs(work: Path, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for log in work.glob("*.log"):
        shutil.copy(log, target / log.name)


def start_beat(platform: FaultPlatform, args) -> None:
    """The sweepers, as in production (CELERY_BEAT_SCHEDULE, DatabaseScheduler)."""
    beat = ["nice", "-n", str(args.worker_nice), sys.executable, "-m", "celery", "-A", "batchplatform"]
    beat += ["beat", "--loglevel", "INFO", "--schedule", str(platform.work / "celerybeat-schedule")]
    platform.processes.start("beat", beat, platform.env)
    wait_until(lambda: "beat: Starting" in platform.processes.log("beat"), 60, "celery beat")


def start_web(platform: FaultPlatform, args) -> str:
    """uvicorn --workers N, answering /healthz; returns its base URL."""
    port = free_port()
    uvicorn = [sys.executable, "-m", "uvicorn", "batchplatform.asgi:application"]
    uvicorn += ["--host", "127.0.0.1", "--port", str(port), "--lifespan", "off", "--no-access-log"]
    platform.processes.start("web", [*uvicorn, "--workers", str(args.web_workers)], platform.env)
    base_url = f"http://127.0.0.1:{port}"
    wait_until(lambda: healthy(base_url, platform.processes), 120, "the web server's /healthz")
    return base_url


def queue_worker_command(args, number: int, queues: list[str]) -> list[str]:
    """A celery worker on `queues`, niced as runplatform starts them."""
    celery = ["nice", "-n", str(args.worker_nice), sys.executable, "-m", "celery", "-A", "batchplatform", "worker"]
    celery += ["-Q", ",".join(queues), "--loglevel", "INFO"]
    return [*celery, "--concurrency", str(args.worker_concurrency), "--hostname", f"bench{number}@%h"]


# --- the faults ------------------------------------------------------------------------------


class Workers:
    """The celery workers, by number; a killed one is started again under a new log name.
    `command(number)` is the worker's command line (by default bench/ecc_batches.py's)."""

    def __init__(self, processes: Processes, env: dict, args, command: Callable[[int], list[str]] | None = None):
        self.processes, self.env, self.args = processes, env, args
        self.command = command or (lambda number: worker_command(args, args.worker_concurrency, number))
        self.current = {number: f"worker{number}" for number in range(1, args.workers + 1)}
        self.restarts = Counter()

    def start_all(self) -> None:
        for number, name in self.current.items():
            self.processes.start(name, self.command(number), self.env)
        wait_until(self.all_ready, 120, "the celery workers")

    def kill_and_restart(self, number: int) -> str:
        name = self.current[number]
        self.processes.kill(name)
        self.restarts[number] += 1
        self.current[number] = f"worker{number}.{self.restarts[number]}"
        self.processes.start(self.current[number], self.command(number), self.env)
        return name

    def all_ready(self) -> bool:
        return all(worker_ready(self.processes, name) for name in self.current.values())


TASK_LINE = re.compile(r"Task [\w.]+\[([0-9a-f-]{36})\] (received|succeeded|failed|raised|retry)")


def unfinished_tasks(log: str, task: str = "") -> int:
    """Tasks a worker had received and not finished when it died (from its log); only those
    whose name contains `task`, if given."""
    received, finished = set(), set()
    for line in log.splitlines():
        match = TASK_LINE.search(line)
        if match and task in line:
            (received if match.group(2) == "received" else finished).add(match.group(1))
    return len(received - finished)


async def inject_faults(run: Run, workers: Workers, platform: FaultPlatform, args, rng: random.Random) -> None:
    def say(message: str) -> None:
        print(f"[{run.scenario}] {time.monotonic() - run.started:5.1f}s {message}", flush=True)

    async def kills():
        count = 0 if run.scenario == "none" else args.kills
        for moment in sorted(rng.uniform(0, args.duration) for _ in range(count)):
            await asyncio.sleep(max(0.0, run.started + moment - time.monotonic()))
            number = rng.randint(1, args.workers)
            name = await asyncio.to_thread(workers.kill_and_restart, number)
            run.kills.append((time.monotonic(), name))
            say(f"SIGKILL {name}")

    async def half_way(message: str, restart: Callable, *restart_args) -> tuple[float, float]:
        """`restart` once, half-way through the load; (when it was asked, when it returned)."""
        await asyncio.sleep(max(0.0, run.started + args.duration / 2 - time.monotonic()))
        say(message)
        down = time.monotonic()
        await asyncio.to_thread(restart, *restart_args)
        return down, time.monotonic()

    async def restart_postgres():
        restart = platform.postgres.restart
        run.postgres_down, run.postgres_back = await half_way("pg_ctl restart", restart, args.postgres_restart_mode)
        say(f"PostgreSQL back after {run.postgres_back - run.postgres_down:.1f}s")

    async def restart_redis():
        restart = platform.restart_redis
        run.redis_down, run.redis_back = await half_way("redis-server killed", restart, args.redis_down)
        say("redis-server back, empty")

    tasks = [kills()]
    if run.scenario == "postgres":
        tasks.append(restart_postgres())
    if run.scenario == "redis":
        tasks.append(restart_redis())
    await asyncio.gather(*tasks)


@dataclass
class Stage:
    """One scenario's platform, started: what the load, the faults and the sweep window need.
    `credentials`: httpx.AsyncClient's `auth` or `headers` for the API."""

    run: Run
    args: Any
    platform: FaultPlatform
    workers: Workers
    base_url: str
    credentials: dict

    def load_with_faults(
        self,
        *,
        total: int,
        send_one: Callable[[httpx.AsyncClient, int], Awaitable],
        read: str,
        read_params: dict | None = None,
        load_timeout: float = 60,
    ) -> None:
        """The load and the faults together, with a reading client all along. The load: `total`
        calls of `send_one(client, number)`, paced evenly over --duration by --clients clients
        sharing one connection pool; the reader GETs `read` every PROBE_INTERVAL."""
        run, args = self.run, self.args
        print(f"[{run.scenario}] serving at {self.base_url}; load and faults for {args.duration:.0f}s ...", flush=True)

        async def load():
            pace = args.duration / total
            numbers = iter(range(total))
            limits = httpx.Limits(max_connections=args.clients, max_keepalive_connections=args.clients)
            async with self.client(limits=limits, timeout=load_timeout) as client:

                async def one_client():
                    for number in numbers:
                        await asyncio.sleep(max(0.0, run.started + number * pace - time.monotonic()))
                        await send_one(client, number)

                await asyncio.gather(*(one_client() for _ in range(args.clients)))

        async def reader(stop: asyncio.Event):
            async with self.client(timeout=60) as client:
                await probe(client, run, stop, read, params=read_params)

        async def together():
            stop = asyncio.Event()
            rng = random.Random(args.seed)
            run.started = time.monotonic()
            reading = asyncio.create_task(reader(stop))
            try:
                await asyncio.gather(load(), inject_faults(run, self.workers, self.platform, args, rng))
            finally:
                stop.set()
                await reading
            run.load_done = time.monotonic()

        asyncio.run(together())

    def client(self, **options) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.base_url, **self.credentials, **options)

    def sweep_window(
        self,
        *,
        accepted: str,
        final: Callable[[], bool],
        what: str,
        task: str = "",
        note: str = "",
        interval: float = 0.5,
    ) -> None:
        """After the load: the restarted workers ready, then `final()` polled until true (bounded
        by --timeout); the tasks (named like `task`) the killed workers had in flight, from their logs."""
        run, processes = self.run, self.platform.processes
        print(
            f"[{run.scenario}] {len(run.accepted)} {accepted} after {run.load_done - run.started:.1f}s{note}; "
            "the sweep window ...",
            flush=True,
        )
        wait_until(self.workers.all_ready, 120, "the restarted workers")
        wait_until(lambda: processes.check_alive() or final(), self.args.timeout, what, interval)
        run.all_final = time.monotonic()
        run.in_flight_at_kill = sum(unfinished_tasks(processes.log(name), task) for _, name in run.kills)


def start_stage(platform: FaultPlatform, args, run: Run, *, queues: list[str], credentials: dict) -> Stage:
    """uvicorn, --workers celery workers on `queues` and beat, for the benches whose load is not
    ECC's (bench/faults.py starts its servers as bench/ecc_batches.py does)."""
    base_url = start_web(platform, args)
    workers = Workers(
        platform.processes, platform.env, args, command=lambda number: queue_worker_command(args, number, queues)
    )
    workers.start_all()
    start_beat(platform, args)
    return Stage(run, args, platform, workers, base_url, credentials)


def create_bench_user(env: dict) -> str:
    """The database migrated, organisation `bench` and its API user USERNAME; returns the password."""
    manage("migrate", "--noinput", env=env)
    manage("createorganisation", "bench", env=env)
    password = os.urandom(12).hex()
    manage("createapiuser", "bench", USERNAME, "--password", password, env=env)
    return password


def workers_described(args, queues: list[str]) -> str:
    return (
        f"uvicorn --workers {args.web_workers}; {args.workers} celery workers (nice {args.worker_nice}) "
        f"-Q {','.join(queues)} --concurrency {args.worker_concurrency}; each SIGKILL takes the worker's "
        "process group and starts it again at once"
    )


def load_average(before: float) -> str:
    return f"load average (1 min) before: {before:.2f}; at the end, bench included: {os.getloadavg()[0]:.2f}"


# --- the table -------------------------------------------------------------------------------


def scenario_title(run: Run, args) -> str:
    if run.scenario == "none":
        return "no fault (baseline)"
    if run.scenario == "kills":
        return f"{args.kills} worker kills"
    if run.scenario == "redis":
        return f"{args.kills} worker kills + Redis lost for {args.redis_down:.0f} s"
    return f"{args.kills} worker kills + PostgreSQL restart ({args.postgres_restart_mode})"


def fault_table(
    results: list[tuple[Run, dict]], args, *, expected: dict | None = None, start: str = "the start"
) -> list[str]:
    """The figures of each run side by side, then the rows every fault run has. Labels in **bold**
    must be 0 for the verdict; `expected` adds a column: what a user would expect."""
    runs = [run for run, _ in results]
    titles = [scenario_title(run, args) for run in runs]
    if expected is not None:
        titles.append("a user expects")
    lines = [f"| | {' | '.join(titles)} |", "|---" + "|---:" * len(titles) + "|"]

    def row(label, values, want=""):
        cells = [str(value) for value in values] + ([want] if expected is not None else [])
        lines.append(f"| {label} | " + " | ".join(cells) + " |")

    for label in results[0][1]:
        row(label, [figures[label] for _, figures in results], str((expected or {}).get(label, "")))
    row("worker SIGKILLs (tasks in flight)", [f"{len(r.kills)} ({r.in_flight_at_kill})" for r in runs])
    row("PostgreSQL down (s)", [f"{r.postgres_back - r.postgres_down:.1f}" if r.postgres_down else "-" for r in runs])
    if any(r.redis_down for r in runs):
        row("Redis down (s)", [f"{r.redis_back - r.redis_down:.1f}" if r.redis_down else "-" for r in runs])
    row("load (s)", [f"{r.load_done - r.started:.1f}" for r in runs])
    row(f"all final after (s, from {start})", [f"{r.all_final - r.started:.1f}" for r in runs])
    row(
        "**time to recover** (last fault -> all final, s)",
        [f"{r.all_final - r.last_fault:.1f}" if r.scenario != "none" else "-" for r in runs],
        "the sweep window",
    )
    for phase in ("all", "before", "during", "after"):
        cells = []
        for run in runs:
            counter = statuses_by_phase(run).get(phase)
            cells.append(", ".join(f"{status}: {n}" for status, n in sorted(counter.items())) if counter else "-")
        if any(cell != "-" for cell in cells):
            want = {"all": "no 5xx", "during": "503 at worst", "after": "no 5xx"}.get(phase, "no 5xx")
            row(f"HTTP statuses{'' if phase == 'all' else f' {phase} the restart'}", cells, want)
    return lines


def verdicts(results: list[tuple[Run, dict]], *, phases=("all", "before", "after")) -> list[str]:
    """Per run: 0 lost, 0 duplicated, 0 stuck, or what broke it: a bold figure not 0, a server
    error or no answer in one of `phases` (while PostgreSQL restarts, 503 is the documented answer)."""
    lines = []
    for run, figures in results:
        bad = [label for label, value in figures.items() if label.startswith("**") and value]
        by_phase = statuses_by_phase(run)
        what = "Redis" if run.redis_down is not None else "PostgreSQL"
        when = {"all": "during the run", "before": f"before the {what} restart", "after": f"after {what} was back"}
        for phase in phases:
            counter = by_phase.get(phase, Counter())
            errors = sum(n for status, n in counter.items() if not status.startswith(("2", "4")))
            if errors:
                bad.append(f"{errors} server errors {when[phase]}")
        lines.append(f"{run.scenario}: " + ("**0 lost, 0 duplicated, 0 stuck**" if not bad else "; ".join(bad)))
    return lines


def fault_report(
    header: list[str],
    results: list[tuple[Run, dict, list[str]]],
    args,
    *,
    expected: dict | None = None,
    start: str = "the start",
    phases=("all", "before", "after"),
) -> str:
    """The bench's own lines, what the first run described, the table and the verdicts."""
    lines = [*header, *(f"- {line}" for line in results[0][2]), ""]
    runs = [(run, figures) for run, figures, _ in results]
    lines += fault_table(runs, args, expected=expected, start=start)
    lines += ["", *verdicts(runs, phases=phases)]
    return "\n".join(lines)


# --- the script --------------------------------------------------------------------------------


def add_fault_arguments(parser: argparse.ArgumentParser, *, kills: int, clients: int, worker_concurrency: int) -> None:
    """The options every fault bench has, after its own."""
    parser.add_argument(
        "--scenario",
        choices=["kills", "postgres", "redis", "both", "none"],
        default="both",
        help="both: kills, then postgres; none: no fault, a baseline; "
        "redis: kills and Redis lost once, half-way (not in both)",
    )
    parser.add_argument("--redis-down", type=float, default=5, help="seconds Redis stays away (scenario redis)")
    parser.add_argument("--kills", type=int, default=kills, help="worker SIGKILLs, at random moments")
    parser.add_argument("--postgres-restart-mode", choices=["fast", "immediate"], default="fast")
    parser.add_argument("--seed", type=int, default=11, help="where the kills fall and which worker")
    parser.add_argument("--clients", type=int, default=clients, help="concurrent HTTP clients sending the load")
    parser.add_argument("--web-workers", type=int, default=2, help="uvicorn workers")
    parser.add_argument("--workers", type=int, default=2, help="celery worker processes")
    parser.add_argument("--worker-nice", type=int, default=10, help="niceness of workers and beat")
    parser.add_argument("--worker-concurrency", type=int, default=worker_concurrency, help="each")
    parser.add_argument("--logs", help="a directory to keep every process's log in")
    parser.add_argument("--timeout", type=float, default=300, help="seconds of sweep window, at most")


def run_scenarios(
    args,
    *,
    title: str,
    run_scenario: Callable[[str], tuple[Run, dict, list[str]]],
    report: Callable[[list], str],
) -> int:
    """Each scenario of --scenario in turn (both: kills, then postgres), then the report; the exit
    status. A SIGTERM cleans up like Ctrl-C; an aborted scenario prints what the ones before found."""
    signal.signal(signal.SIGTERM, interrupt)
    scenarios = ["kills", "postgres"] if args.scenario == "both" else [args.scenario]
    info = versions()
    print(
        f"{title}: {os.cpu_count()} CPUs, Python {info['python']}, {info['postgresql']}, {info['redis']}",
        flush=True,
    )
    results = []
    try:
        for scenario in scenarios:
            try:
                results.append(run_scenario(scenario))
            except BenchError as error:
                print(f"[{scenario}] aborted: {error}", file=sys.stderr, flush=True)
                if results:
                    print(report(results))
                return 1
    except KeyboardInterrupt:
        print("interrupted; servers stopped and temporary directories removed", file=sys.stderr)
        return 130
    print(report(results))
    return 0

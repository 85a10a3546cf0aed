"""ECC request batches against standalone calls: submit latency and end-to-end requests/s.

    .venv/bin/python bench/ecc_batches.py [--mode embedded|postgres|both] [--batches 100] [--size 100]

For each mode a fresh platform is started in a temporary directory, as its users run it:

- embedded: SQLite, the filesystem broker, the in-memory channel layer; one uvicorn worker and
  ONE celery worker (--concurrency 2);
- postgres: a private PostgreSQL (fsync on: the real configuration) and a private Redis;
  uvicorn --workers 2 and TWO celery workers (--concurrency 1 each).

Then `--batches` batches of `--size` requests (PATCH subscriptions/iccid:<iccid> {"blocked": true},
one distinct subscription each) are POSTed to /ecc/v1/batches by `--clients` concurrent clients
with HTTP Basic auth; the database is polled until every batch is final. The peer: the same
operations (one per subscription, {"blocked": false}) sent as standalone
PATCH /ecc/v1/subscriptions/iccid:<iccid> calls by the same clients, until every order is COMPLETED.

Standalone calls are sent for at most `--standalone-budget` seconds (a run stays bounded even when
each call is slow); if the budget cuts them short, the table says how many were sent and the rate
is measured on those. Every server and temporary directory is removed at the end, also on Ctrl-C.
"""

import argparse
import asyncio
import contextlib
import glob
import math
import os
import platform
import pwd
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION_VARIABLES = ("DATABASE_URL", "CELERY_BROKER_URL", "CHANNEL_LAYER_URL", "SECRET_KEY", "STORAGE_URL")
USERNAME = "bench"
POLL_INTERVAL = 0.1


class BenchError(Exception):
    """A run that cannot go on: the message says why."""


# --- processes -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(condition, timeout: float, what: str, interval: float = POLL_INTERVAL):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(interval)
    raise BenchError(f"gave up after {timeout:.0f}s waiting for {what}")


class Processes:
    """Subprocesses in their own process groups, logged to files, stopped in reverse order."""

    def __init__(self, log_dir: Path):
        self.log_dir = log_dir
        self.running: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, command: list[str], env: dict) -> subprocess.Popen:
        # The child keeps its own copy of the file descriptor.
        with open(self.log_dir / f"{name}.log", "w") as log:
            # Run from the temporary directory: the filesystem broker keeps its exchange files in
            # ./control, which must not be the repository's.
            env = {**env, "PYTHONPATH": str(ROOT)}
            process = subprocess.Popen(
                command, cwd=self.log_dir, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.running.append((name, process))
        return process

    def log(self, name: str) -> str:
        path = self.log_dir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def check_alive(self) -> None:
        for name, process in self.running:
            if process.poll() is not None:
                log = self.log(name)
                lines = [line for line in log.splitlines() if line.strip()]
                # The exception that ended it, if any, else the last line.
                last = next((line for line in reversed(lines) if "Error: " in line), lines[-1] if lines else "")
                raise BenchError(f"{name} exited with {process.returncode} ({last.strip()})\n{log[-3000:]}")

    def kill(self, name: str) -> None:
        """SIGKILL to the process group (the main process and its children), as a crash would;
        the process is forgotten, so check_alive no longer counts it."""
        for entry in list(self.running):
            if entry[0] == name:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(entry[1].pid, signal.SIGKILL)
                entry[1].wait(timeout=30)
                self.running.remove(entry)

    def stop_all(self) -> None:
        for _name, process in reversed(self.running):
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
        for _name, process in reversed(self.running):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        self.running.clear()


def manage(*args: str, env: dict, timeout: float = 300) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode:
        raise BenchError(f"manage.py {args[0]} failed:\n{result.stdout}{result.stderr}")
    return result.stdout


# --- PostgreSQL and Redis --------------------------------------------------------------------


def postgres_bin(name: str) -> str:
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(p.split("/")[4]))
    found = candidates[-1] if candidates else shutil.which(name)
    if not found:
        raise BenchError(f"PostgreSQL's {name} is not installed")
    return found


def as_postgres_user(command: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root.
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@dataclass
class Postgres:
    """A private cluster: its URL, and pg_ctl on its data directory (bench/faults.py restarts it)."""

    url: str
    data: Path
    options: str
    log: Path

    def pg_ctl(self, *args: str) -> subprocess.CompletedProcess:
        command = [postgres_bin("pg_ctl"), "-D", str(self.data), *args]
        return subprocess.run(as_postgres_user(command), capture_output=True, text=True, check=False)

    def restart(self, mode: str = "fast") -> None:
        result = self.pg_ctl("-o", self.options, "-l", str(self.log), "-m", mode, "-w", "restart")
        if result.returncode:
            raise BenchError(f"pg_ctl restart failed: {result.stdout}{result.stderr}")


def start_postgres(stack: contextlib.ExitStack) -> str:
    return start_postgres_cluster(stack).url


def start_postgres_cluster(
    stack: contextlib.ExitStack, *, extra_options: str = "", max_connections: int = 200
) -> Postgres:
    """A private cluster with the default durability (fsync on, synchronous_commit on)."""
    base = Path(tempfile.mkdtemp(prefix="bench-pg-"))
    stack.callback(shutil.rmtree, base, ignore_errors=True)
    if os.geteuid() == 0:
        entry = pwd.getpwnam("postgres")
        os.chown(base, entry.pw_uid, entry.pw_gid)
    data, port = base / "data", free_port()
    initdb = [postgres_bin("initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"]
    subprocess.run(as_postgres_user(initdb), check=True, capture_output=True)
    options = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c max_connections={max_connections} {extra_options}"
    pg_ctl = postgres_bin("pg_ctl")
    start = [pg_ctl, "-D", str(data), "-o", options, "-l", str(base / "log"), "-w", "start"]
    subprocess.run(as_postgres_user(start), check=True, capture_output=True)
    stop = as_postgres_user([pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop"])
    stack.callback(subprocess.run, stop, capture_output=True, check=False)
    with psycopg.connect(f"postgresql://postgres@127.0.0.1:{port}/postgres", autocommit=True) as connection:
        connection.execute("CREATE DATABASE batchplatform")
    return Postgres(f"postgres://postgres@127.0.0.1:{port}/batchplatform", data, options, base / "log")


def start_redis(processes: Processes) -> str:
    port = free_port()
    command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    processes.start("redis", command, os.environ.copy())
    wait_until(lambda: port_open(port), 30, "redis-server")
    return f"redis://127.0.0.1:{port}"


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def versions() -> dict:
    postgres = subprocess.run([postgres_bin("postgres"), "--version"], capture_output=True, text=True, check=False)
    redis = subprocess.run(["redis-server", "--version"], capture_output=True, text=True, check=False)
    return {
        "python": platform.python_version(),
        "postgresql": postgres.stdout.strip(),
        "redis": redis.stdout.split(" sha=")[0].strip(),
    }


# --- the database, read directly ------------------------------------------------------------


class Database:
    """Counts read straight from the tables: no HTTP request competes with the load."""

    def __init__(self, database_url: str | None, sqlite_path: Path | None):
        self.database_url, self.sqlite_path = database_url, sqlite_path

    def scalar(self, sql: str, *params) -> int:
        """`sql` with %s placeholders."""
        if self.database_url:
            url = self.database_url.replace("postgres://", "postgresql://", 1)
            with psycopg.connect(url, autocommit=True) as connection:
                return connection.execute(sql, params).fetchone()[0] or 0
        with contextlib.closing(sqlite3.connect(self.sqlite_path, timeout=30)) as connection:
            return connection.execute(sql.replace("%s", "?"), params).fetchone()[0] or 0


# --- one platform ----------------------------------------------------------------------------


@dataclass
class Platform:
    mode: str
    base_url: str
    password: str
    database: Database
    processes: Processes
    description: list[str] = field(default_factory=list)


def platform_env(mode: str, data_dir: Path, stack: contextlib.ExitStack, processes: Processes) -> tuple[dict, str]:
    env = {k: v for k, v in os.environ.items() if k not in PRODUCTION_VARIABLES}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.update(BATCHPLATFORM_DATA_DIR=str(data_dir), PYTHONUNBUFFERED="1")
    if mode == "embedded":
        return env, ""
    database_url = start_postgres(stack)
    redis_url = start_redis(processes)
    env.update(
        DATABASE_URL=database_url,
        CELERY_BROKER_URL=f"{redis_url}/1",
        CHANNEL_LAYER_URL=f"{redis_url}/2",
        SECRET_KEY="bench-" + secrets.token_urlsafe(40),
    )
    return env, database_url


SEED = """
from batches.models import Subscription
from batchplatform.models import Organisation
organisation = Organisation.objects.get(slug="bench")
Subscription.objects.bulk_create(
    [Subscription(organisation=organisation, iccid=f"89460{i:015d}", msisdn=f"4670{i:08d}") for i in range({n})],
    batch_size=1000,
)
print(Subscription.objects.filter(organisation=organisation).count())
"""


def iccid(index: int) -> str:
    """20 digits, as SEED makes them."""
    return f"89460{index:015d}"


def prepare_data(env: dict, subscriptions: int) -> str:
    manage("migrate", "--noinput", env=env)
    manage("createorganisation", "bench", env=env)
    password = secrets.token_urlsafe(18)
    manage("createapiuser", "bench", USERNAME, "--password", password, env=env)
    count = manage("shell", "--no-imports", "-c", SEED.replace("{n}", str(subscriptions)), env=env).strip()
    if count != str(subscriptions):
        raise BenchError(f"seeded {count} subscriptions, expected {subscriptions}")
    return password


def start_servers(mode: str, env: dict, processes: Processes, args) -> tuple[str, list[str]]:
    port = free_port()
    web_workers = 1 if mode == "embedded" else args.web_workers
    uvicorn = [sys.executable, "-m", "uvicorn", "batchplatform.asgi:application"]
    uvicorn += ["--host", "127.0.0.1", "--port", str(port), "--lifespan", "off", "--no-access-log"]
    processes.start("web", [*uvicorn, "--workers", str(web_workers)], env)
    if mode == "embedded":
        worker_layout = [args.embedded_concurrency]
    else:
        worker_layout = [args.worker_concurrency] * args.workers
    for number, concurrency in enumerate(worker_layout, start=1):
        processes.start(f"worker{number}", worker_command(args, concurrency, number), env)
    base_url = f"http://127.0.0.1:{port}"
    for number in range(1, len(worker_layout) + 1):
        wait_until(lambda n=number: worker_ready(processes, f"worker{n}"), 120, f"celery worker {number}")
    wait_until(lambda: healthy(base_url, processes), 120, "the web server's /healthz")
    described = [
        f"uvicorn --workers {web_workers}",
        f"{len(worker_layout)} celery worker(s) (nice {args.worker_nice}) -Q default,batches, --concurrency "
        + " + ".join(str(c) for c in worker_layout),
        "no beat (the sweeper only re-wakes lost work)",
    ]
    return base_url, described


def worker_command(args, concurrency: int, number: int) -> list[str]:
    # Workers run niced, as runplatform starts them: on a shared machine the web answers first.
    celery = ["nice", "-n", str(args.worker_nice), sys.executable, "-m", "celery", "-A", "batchplatform", "worker"]
    celery += ["-Q", "default,batches", "--loglevel", "INFO"]
    return [*celery, "--concurrency", str(concurrency), "--hostname", f"bench{number}@%h"]


def worker_ready(processes: Processes, name: str) -> bool:
    processes.check_alive()
    return "ready." in processes.log(name)


def healthy(base_url: str, processes: Processes) -> bool:
    processes.check_alive()
    try:
        return httpx.get(f"{base_url}/healthz", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


@contextlib.contextmanager
def running_platform(mode: str, args):
    """A fresh platform for one mode; everything it started is stopped and removed on exit."""
    with contextlib.ExitStack() as stack:
        work = Path(tempfile.mkdtemp(prefix=f"bench-{mode}-"))
        stack.callback(shutil.rmtree, work, ignore_errors=True)
        processes = Processes(work)
        stack.callback(processes.stop_all)
        try:
            env, database_url = platform_env(mode, work / "var", stack, processes)
            print(f"[{mode}] migrating and seeding {args.batches * args.size} subscriptions ...", flush=True)
            password = prepare_data(env, args.batches * args.size)
            base_url, described = start_servers(mode, env, processes, args)
            database = Database(database_url or None, None if database_url else work / "var" / "db.sqlite3")
            yield Platform(mode, base_url, password, database, processes, described)
        except BaseException:
            for name, _process in processes.running:
                print(f"--- last lines of {name}.log ---\n{processes.log(name)[-2000:]}", file=sys.stderr)
            raise


# --- load ------------------------------------------------------------------------------------


@dataclass
class Phase:
    name: str
    operations: int  # requests the phase was meant to send
    sent: int = 0  # requests actually sent (standalone calls may stop at the budget)
    latencies: list[float] = field(default_factory=list)
    client_seconds: float = 0.0  # first send to last answer
    final_seconds: float = 0.0  # first send to everything final

    @property
    def rate(self) -> float:
        return self.sent / self.final_seconds if self.final_seconds else 0.0


async def send_all(base_url: str, password: str, calls, clients: int, deadline: float | None) -> list[float]:
    """Runs `calls` (an iterator of (method, path, json)) with `clients` concurrent clients;
    returns each call's latency. Stops taking new calls once `deadline` has passed."""
    latencies: list[float] = []
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base_url, auth=(USERNAME, password), limits=limits, timeout=120) as client:

        async def one_client():
            for method, path, body in calls:
                started = time.perf_counter()
                response = await client.request(method, path, json=body)
                latencies.append(time.perf_counter() - started)
                if response.status_code != 202:
                    raise BenchError(f"{method} {path}: {response.status_code} {response.text[:500]}")
                if deadline is not None and time.monotonic() > deadline:
                    return

        await asyncio.gather(*(one_client() for _ in range(clients)))
    return latencies


def batch_calls(batches: int, size: int):
    for number in range(batches):
        requests = [
            {
                "method": "PATCH",
                "resource": f"subscriptions/iccid:{iccid(number * size + position)}",
                "body": {"blocked": True},
                "requestid": str(number * size + position),
            }
            for position in range(size)
        ]
        yield "POST", "/ecc/v1/batches", {"type": "single", "requests": requests}


def standalone_calls(count: int):
    for index in range(count):
        yield "PATCH", f"/ecc/v1/subscriptions/iccid:{iccid(index)}", {"blocked": False}


async def warm_up(base_url: str, password: str, clients: int) -> None:
    """A few authenticated reads first, so every web process has checked the credentials once
    (0.44 s of PBKDF2 each, then remembered): the timed phases measure the steady state."""
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base_url, auth=(USERNAME, password), limits=limits, timeout=120) as client:
        for _ in range(4):
            responses = await asyncio.gather(
                *(client.get("/ecc/v1/subscriptions", params={"limit": 1}) for _ in range(clients))
            )
            if any(response.status_code != 200 for response in responses):
                raise BenchError(f"warm-up: {[r.status_code for r in responses]}")


def run_batches(bench: Platform, args) -> Phase:
    phase = Phase("batch API", args.batches * args.size)
    asyncio.run(warm_up(bench.base_url, bench.password, args.clients))
    started = time.monotonic()
    phase.latencies = asyncio.run(
        send_all(bench.base_url, bench.password, batch_calls(args.batches, args.size), args.clients, None)
    )
    phase.client_seconds = time.monotonic() - started
    phase.sent = len(phase.latencies) * args.size
    print(f"[{bench.mode}] {len(phase.latencies)} batches accepted in {phase.client_seconds:.1f}s", flush=True)

    def all_final():
        bench.processes.check_alive()
        return (
            bench.database.scalar(
                "SELECT count(*) FROM batches_batch WHERE status IN ('COMPLETED', 'PARTIALLY_COMPLETED')"
            )
            >= args.batches
        )

    wait_until(all_final, args.timeout, f"{args.batches} batches to be final ({bench.mode})")
    phase.final_seconds = time.monotonic() - started
    check_batches(bench, args)
    return phase


def check_batches(bench: Platform, args) -> None:
    scalar = bench.database.scalar
    partial = scalar("SELECT count(*) FROM batches_batch WHERE status = 'PARTIALLY_COMPLETED'")
    completed = scalar("SELECT count(*) FROM batches_order WHERE status = 'COMPLETED'")
    blocked = scalar("SELECT count(*) FROM batches_subscription WHERE blocked")
    expected = args.batches * args.size
    if partial or completed != expected or blocked != expected:
        raise BenchError(f"batches: {partial} partially completed, {completed} orders completed, {blocked} blocked")


def run_standalone(bench: Platform, args) -> Phase:
    phase = Phase("standalone calls", args.batches * args.size)
    orders_before = bench.database.scalar("SELECT max(id) FROM batches_order")
    started = time.monotonic()
    phase.latencies = asyncio.run(
        send_all(
            bench.base_url,
            bench.password,
            standalone_calls(phase.operations),
            args.clients,
            started + args.standalone_budget,
        )
    )
    phase.client_seconds = time.monotonic() - started
    phase.sent = len(phase.latencies)
    print(f"[{bench.mode}] {phase.sent} standalone calls accepted in {phase.client_seconds:.1f}s", flush=True)

    def all_completed():
        bench.processes.check_alive()
        sql = "SELECT count(*) FROM batches_order WHERE id > %s AND status = 'COMPLETED'"
        return bench.database.scalar(sql, orders_before) >= phase.sent

    wait_until(all_completed, args.timeout, f"{phase.sent} standalone orders to complete ({bench.mode})")
    phase.final_seconds = time.monotonic() - started
    return phase


# --- report ----------------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    """Nearest rank, in milliseconds."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)] * 1000


def report(bench: Platform, batches: Phase, standalone: Phase, args) -> str:
    def row(label, ours, peer):
        return f"| {label} | {ours} | {peer} |"

    cut_short = standalone.sent < standalone.operations
    lines = [
        f"### {bench.mode}",
        "",
        *(f"- {line}" for line in bench.description),
        f"- {args.clients} concurrent HTTP clients (httpx, HTTP Basic auth), on the same machine",
        "",
        f"| | batch API ({args.batches} x {args.size}) | standalone calls |",
        "|---|---:|---:|",
        row("HTTP calls", len(batches.latencies), standalone.sent),
        row("operations", batches.sent, f"{standalone.sent}" + (" (budget reached)" if cut_short else "")),
        row(
            "p50 per call (ms)",
            f"{percentile(batches.latencies, 50):.0f}",
            f"{percentile(standalone.latencies, 50):.0f}",
        ),
        row(
            "p99 per call (ms)",
            f"{percentile(batches.latencies, 99):.0f}",
            f"{percentile(standalone.latencies, 99):.0f}",
        ),
        row("all calls answered after (s)", f"{batches.client_seconds:.1f}", f"{standalone.client_seconds:.1f}"),
        row("all final after (s)", f"{batches.final_seconds:.1f}", f"{standalone.final_seconds:.1f}"),
        row("end-to-end operations/s", f"{batches.rate:.0f}", f"{standalone.rate:.1f}"),
        "",
        f"ratio (batch API / standalone, end-to-end operations/s): **{batches.rate / standalone.rate:.1f}x**",
    ]
    if cut_short:
        lines.append(
            f"(standalone calls stopped at the {args.standalone_budget:.0f}s budget: the rate is measured on the "
            f"{standalone.sent} sent; all {standalone.operations} would take about "
            f"{standalone.operations / standalone.rate / 60:.0f} min)"
        )
    if bench.mode == "postgres":
        p99 = percentile(batches.latencies, 99)
        lines += [
            "",
            f"targets: submit p99 <= 150 ms: {'met' if p99 <= 150 else 'MISSED'} ({p99:.0f} ms); "
            f">= 1,000 operations/s end to end: {'met' if batches.rate >= 1000 else 'MISSED'} ({batches.rate:.0f}/s)",
        ]
    return "\n".join(lines)


def run_mode(mode: str, args) -> str:
    load_before = os.getloadavg()[0]
    with running_platform(mode, args) as bench:
        bench.description.append(f"load average (1 min) before the mode started: {load_before:.2f}")
        print(f"[{mode}] serving at {bench.base_url}; submitting batches ...", flush=True)
        batches = run_batches(bench, args)
        print(
            f"[{mode}] batches final after {batches.final_seconds:.1f}s: submit p50 "
            f"{percentile(batches.latencies, 50):.0f} ms, p99 {percentile(batches.latencies, 99):.0f} ms, "
            f"{batches.rate:.0f} operations/s end to end; standalone calls ...",
            flush=True,
        )
        standalone = run_standalone(bench, args)
        print(f"[{mode}] standalone orders completed after {standalone.final_seconds:.1f}s; stopping", flush=True)
        bench.description.append(f"load average (1 min) at the end, bench included: {os.getloadavg()[0]:.2f}")
        return report(bench, batches, standalone, args)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", choices=["embedded", "postgres", "both"], default="both")
    parser.add_argument("--batches", type=int, default=100)
    parser.add_argument("--size", type=int, default=100, help="requests per batch (at most 100)")
    parser.add_argument("--clients", type=int, default=4, help="concurrent HTTP clients")
    parser.add_argument("--web-workers", type=int, default=2, help="uvicorn workers (postgres mode)")
    parser.add_argument("--workers", type=int, default=2, help="celery worker processes (postgres mode)")
    parser.add_argument("--worker-nice", type=int, default=10, help="niceness of the workers (0: same as the web)")
    parser.add_argument("--worker-concurrency", type=int, default=1, help="each (postgres mode)")
    parser.add_argument("--embedded-concurrency", type=int, default=2, help="the one worker's (embedded mode)")
    parser.add_argument("--standalone-budget", type=float, default=60, help="seconds of sending standalone calls")
    parser.add_argument("--timeout", type=float, default=600, help="seconds to wait for everything to be final")
    args = parser.parse_args()
    if not 1 <= args.size <= 100:
        parser.error("--size must be 1 to 100")
    return args


def interrupt(signum, frame):
    raise KeyboardInterrupt


def main() -> int:
    args = parse_args()
    # A SIGTERM cleans up like Ctrl-C does.
    signal.signal(signal.SIGTERM, interrupt)
    modes = ["embedded", "postgres"] if args.mode == "both" else [args.mode]
    info = versions()
    print(
        f"ECC batches benchmark: {os.cpu_count()} CPUs, Python {info['python']}, {info['postgresql']}, "
        f"{info['redis']}; PostgreSQL runs with fsync on (its default durability)",
        flush=True,
    )
    reports, failed = [], False
    try:
        for mode in modes:
            try:
                reports.append(run_mode(mode, args))
            except BenchError as error:
                # Say why, then go on with the next mode: its figures are worth having.
                print(f"[{mode}] benchmark aborted: {error}", file=sys.stderr, flush=True)
                reports.append(f"### {mode}\n\naborted: {str(error).splitlines()[0]}")
                failed = True
    except KeyboardInterrupt:
        print("interrupted; servers stopped and temporary directories removed", file=sys.stderr)
        return 130
    print("\n\n".join(reports))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

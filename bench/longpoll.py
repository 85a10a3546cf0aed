"""Long-polls at scale: N waiting clients on one uvicorn process, each woken by its own event.

    .venv/bin/python bench/longpoll.py [--clients 1000,5000,10000] [--mode embedded|postgres|both]
                                       [--code hub,baseline] [--baseline-ref <commit>]

For each mode a fresh platform is prepared in a temporary directory (embedded: SQLite and the
in-memory channel layer; postgres: a private PostgreSQL with pg_stat_statements and a private
Redis, the pub/sub channel layer), with as many organisations as the largest N, one user each
and a Django session per user. Then, for each code (this branch, the "hub", and the code it
replaces, `--baseline-ref`, run from a temporary `git worktree`) and each N:

1. one uvicorn process is started (no --workers, so the measured process is the server);
2. a separate client process (aiohttp) opens N long-polls, client i on
   `GET /ecc/v1/events/batch?long-polling=240` as organisation i with `If-None-Match: "batch-0"`,
   so each waits for its own organisation's event (another organisation's never answers it);
3. once the server is idle, its threads and resident memory are read from /proc, and /healthz and
   an ordinary API call (GET /ecc/v1/batches/<unknown id>: Django, session, database) are timed;
4. a publisher process (the platform's own publish_event, from the code under test) writes one
   event per organisation, spread evenly over `--publish-seconds` (5 s: 2,000 events/s at
   N = 10,000), committing whatever is due together when it falls behind;
5. each client records when its answer arrived: latency = answer - the moment its event was
   committed (then publish_event announces it). "lost" = clients not answered with their own
   event within the long-poll (240 s).
   Database statements of the web process (postgres mode: its own role, pg_stat_statements)
   from the first publish to the last answer, per event.

Everything runs on this machine (client, publisher, server, PostgreSQL, Redis): the table prints
the load average. Every server, worktree and temporary directory is removed at the end.
"""

import argparse
import asyncio
import contextlib
import json
import os
import resource
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ecc_batches import (  # a sibling script, not a package
    PRODUCTION_VARIABLES,
    BenchError,
    Processes,
    free_port,
    port_open,
    start_postgres_cluster,
    start_redis,
    versions,
    wait_until,
)

ROOT = Path(__file__).resolve().parent.parent
LONG_POLLING = 240
EVENT_TYPE = "batch"

SEED = """
import json, sys
from django.contrib.auth import get_user_model
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.utils import timezone
from datetime import timedelta
from batchplatform.models import Membership, Organisation

n = {n}
User = get_user_model()
organisations = Organisation.objects.bulk_create(
    [Organisation(slug=f"o{i}", name=f"Organisation {i}") for i in range(n)], batch_size=1000
)
users = User.objects.bulk_create([User(username=f"u{i}", password="!") for i in range(n)], batch_size=1000)
Membership.objects.bulk_create(
    [Membership(user=u, organisation=o) for u, o in zip(users, organisations)], batch_size=1000
)
store, sessions, keys = SessionStore(), [], []
for user in users:
    key = secrets.token_hex(16)
    data = store.encode({
        SESSION_KEY: str(user.pk),
        BACKEND_SESSION_KEY: "django.contrib.auth.backends.ModelBackend",
        HASH_SESSION_KEY: user.get_session_auth_hash(),
    })
    sessions.append(Session(session_key=key, session_data=data, expire_date=timezone.now() + timedelta(days=1)))
    keys.append(key)
Session.objects.bulk_create(sessions, batch_size=1000)
with open({keys_path!r}, "w") as out:
    json.dump({"sessions": keys, "organisations": [o.pk for o in organisations], "sequences": [0] * n}, out)
print(len(keys))
""".replace("import json, sys", "import json, secrets, sys")

PUBLISH = """
import json, threading, time
from django.db import connection, transaction
from batchplatform.events import publish_event
from batchplatform.models import Organisation

settings = json.load(open({settings_path!r}))
organisations = {{o.pk: o for o in Organisation.objects.filter(pk__in=settings["organisations"])}}
order = [organisations[pk] for pk in settings["organisations"]]
n, seconds, threads = len(order), settings["seconds"], settings["threads"]
started = time.time() + 0.2
published = [0.0] * n

def publish(index):
    i = index
    while i < n:
        due = started + seconds * i / n
        delay = due - time.time()
        if delay > 0:
            time.sleep(delay)
        # Whatever is due now goes in one transaction: a publisher that falls behind catches up.
        batch = [i]
        while i + threads * len(batch) < n and started + seconds * (i + threads * len(batch)) / n <= time.time():
            batch.append(i + threads * len(batch))
        def committed(batch=batch):
            now = time.time()
            for j in batch:
                published[j] = now

        with transaction.atomic():
            transaction.on_commit(committed)  # runs first after the commit, before the announcements
            for j in batch:
                publish_event(
                    organisation=order[j], stream="ecc.batch", name="batch", attributes={{"batchid": f"b{{j}}"}},
                    payload={{"batchid": f"b{{j}}", "status": "COMPLETED", "type": "BatchEventInfo", "bench": j}},
                )
        i = batch[-1] + threads
    connection.close()

workers = [threading.Thread(target=publish, args=(k,)) for k in range(threads)]
for worker in workers:
    worker.start()
for worker in workers:
    worker.join()
json.dump({{"published": published, "ended": time.time()}}, open({out_path!r}, "w"))
"""


# --- the client process ------------------------------------------------------------------------


async def run_clients(args) -> None:
    """The load generator (its own process): N long-polls, each for its own organisation."""
    import aiohttp

    raise_open_files()
    keys = json.load(open(args.keys))
    sessions, sequences = keys["sessions"][: args.n], keys["sequences"]
    results: list = [None] * args.n
    sent = 0
    opening = asyncio.Semaphore(args.connect_concurrency)
    all_sent = asyncio.Event()

    async def headers_sent(_session, context, _params):
        nonlocal sent
        sent += 1
        context.trace_request_ctx["sent"].set()
        if sent == args.n:
            all_sent.set()

    trace = aiohttp.TraceConfig()
    trace.on_request_headers_sent.append(headers_sent)
    connector = aiohttp.TCPConnector(limit=0, force_close=True)
    # Generous: on a crowded machine a request may queue long before its long-poll even begins.
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=300, sock_read=LONG_POLLING + 600)
    url = f"{args.base}/ecc/v1/events/{EVENT_TYPE}?long-polling={LONG_POLLING}"

    async def one(i: int) -> None:
        # The organisation's latest ETag: only its next event answers.
        headers = {"Cookie": f"sessionid={sessions[i]}", "If-None-Match": f'"{EVENT_TYPE}-{sequences[i]}"'}
        sent_event = asyncio.Event()

        async def request():
            async with session.get(url, headers=headers, trace_request_ctx={"sent": sent_event}) as response:
                body = await response.read()
                at = time.time()
                bench = None
                if response.status == 200:
                    bench = [event.get("bench") for event in json.loads(body)["events"]]
                return [response.status, at, bench]

        async with opening:  # at most this many requests being opened at once
            task = asyncio.ensure_future(request())
            sent_wait = asyncio.ensure_future(sent_event.wait())
            await asyncio.wait([task, sent_wait], return_when=asyncio.FIRST_COMPLETED)
            sent_wait.cancel()
        try:
            results[i] = await task
        except Exception as error:  # a client's failure is a figure, not a crash
            results[i] = ["error", time.time(), repr(error)[:200]]

    async with aiohttp.ClientSession(connector=connector, timeout=timeout, trace_configs=[trace]) as session:
        tasks = [asyncio.ensure_future(one(i)) for i in range(args.n)]
        waiting_for_sent = asyncio.ensure_future(all_sent.wait())
        await asyncio.wait([waiting_for_sent, asyncio.gather(*tasks)], return_when=asyncio.FIRST_COMPLETED)
        print(f"sent {sent}", flush=True)
        await asyncio.gather(*tasks)
    json.dump(results, open(args.out, "w"))
    print("done", flush=True)


def profiled_server(port: int, path: str) -> int:
    """uvicorn under cProfile, written when the server stops: the CPU time of the event loop's
    thread (time.thread_time), so that waiting for a core on a busy machine is not counted."""
    import cProfile

    import uvicorn

    sys.path.insert(0, os.getcwd())  # the code under test, as `python -m uvicorn` would find it
    config = uvicorn.Config(
        "batchplatform.asgi:application", host="127.0.0.1", port=port, lifespan="off", access_log=False, backlog=8192
    )
    # uvicorn re-raises SIGTERM after its shutdown with the handler found before: make it an exit.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    profiler = cProfile.Profile(time.thread_time)
    profiler.enable()
    try:
        uvicorn.Server(config).run()
    finally:
        profiler.disable()
        profiler.dump_stats(path)
    return 0


# --- platform --------------------------------------------------------------------------------


def start_postgres(stack: contextlib.ExitStack) -> tuple[str, str]:
    """A private cluster that counts statements per role (the web process has its own)."""
    cluster = start_postgres_cluster(
        stack,
        max_connections=300,
        extra_options="-c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all",
    )
    admin = cluster.url.rsplit("/", 1)[0].replace("postgres://", "postgresql://", 1)
    with psycopg.connect(f"{admin}/postgres", autocommit=True) as connection:
        connection.execute("CREATE ROLE web LOGIN SUPERUSER")
    with psycopg.connect(f"{admin}/batchplatform", autocommit=True) as connection:
        connection.execute("CREATE EXTENSION pg_stat_statements")
    return cluster.url, cluster.url.replace("postgres://postgres@", "postgres://web@", 1)


@dataclass
class Prepared:
    mode: str
    env: dict  # for manage.py and the publisher
    web_env: dict  # for the server
    keys: Path
    admin_url: str | None
    work: Path


def prepare(mode: str, clients: int, stack: contextlib.ExitStack, processes: Processes) -> Prepared:
    work = Path(tempfile.mkdtemp(prefix=f"bench-longpoll-{mode}-"))
    stack.callback(shutil.rmtree, work, ignore_errors=True)
    env = {k: v for k, v in os.environ.items() if k not in PRODUCTION_VARIABLES}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.update(BATCHPLATFORM_DATA_DIR=str(work / "var"), PYTHONUNBUFFERED="1")
    web_env, admin_url = dict(env), None
    if mode == "postgres":
        admin_url, web_url = start_postgres(stack)
        redis_url = start_redis(processes)
        secret = "bench-" + secrets.token_urlsafe(40)
        common = {"CELERY_BROKER_URL": f"{redis_url}/1", "CHANNEL_LAYER_URL": f"{redis_url}/2", "SECRET_KEY": secret}
        env.update(common, DATABASE_URL=admin_url)
        web_env.update(common, DATABASE_URL=web_url)
    keys = work / "keys.json"
    print(f"[{mode}] migrating and creating {clients} organisations, users and sessions ...", flush=True)
    run_manage(ROOT, "migrate", "--noinput", env=env)
    seed = SEED.replace("{n}", str(clients)).replace("{keys_path!r}", repr(str(keys)))
    count = run_manage(ROOT, "shell", "--no-imports", "-c", seed, env=env).strip()
    if count != str(clients):
        raise BenchError(f"seeded {count} sessions, expected {clients}")
    return Prepared(mode, env, web_env, keys, admin_url, work)


def run_manage(root: Path, *args: str, env: dict, timeout: float = 600) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=root,
        env={**env, "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode:
        raise BenchError(f"manage.py {args[0]} failed:\n{result.stdout[-2000:]}{result.stderr[-3000:]}")
    return result.stdout


def baseline_worktree(ref: str, stack: contextlib.ExitStack) -> Path:
    path = Path(tempfile.mkdtemp(prefix="bench-longpoll-baseline-"))
    path.rmdir()
    subprocess.run(["git", "worktree", "add", "--detach", str(path), ref], cwd=ROOT, check=True, capture_output=True)
    stack.callback(
        subprocess.run, ["git", "worktree", "remove", "--force", str(path)], cwd=ROOT, capture_output=True, check=False
    )
    return path


def raise_open_files() -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def start_server(root: Path, env: dict, log: Path, profile: Path | None = None) -> tuple[subprocess.Popen, str]:
    port = free_port()
    if profile:
        command = [sys.executable, __file__, "--role", "server", "--port", str(port), "--profile", str(profile)]
    else:
        command = [sys.executable, "-m", "uvicorn", "batchplatform.asgi:application", "--host", "127.0.0.1"]
        command += ["--port", str(port), "--lifespan", "off", "--no-access-log", "--backlog", "8192"]
    with open(log, "w") as out:
        process = subprocess.Popen(
            command,
            cwd=root,
            env={**env, "PYTHONPATH": str(root)},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=raise_open_files,  # noqa: PLW1509  (the bench starts no thread before)
        )
    base = f"http://127.0.0.1:{port}"

    def up():
        if process.poll() is not None:
            raise BenchError(f"uvicorn exited: {log.read_text()[-2000:]}")
        return port_open(port)

    wait_until(up, 60, "uvicorn")
    return process, base


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, 15)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            process.wait(timeout=10)


def proc_status(pid: int) -> tuple[int, int]:
    """(threads, resident KB) of a process."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    return int(fields["Threads"]), int(fields["VmRSS"].split()[0])


def cpu_seconds(pid: int) -> float:
    parts = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(parts[11]) + int(parts[12])) / os.sysconf("SC_CLK_TCK")


def wait_idle(pid: int, limit: float) -> float:
    """Until the server uses under 10% of a core for a second (its waiters settled), or `limit`."""
    started = time.monotonic()
    while time.monotonic() - started < limit:
        before = cpu_seconds(pid)
        time.sleep(1)
        if cpu_seconds(pid) - before < 0.1:
            break
    return time.monotonic() - started


def timed_gets(base: str, path: str, cookies: dict, count: int = 20) -> list[float]:
    """Seconds per sequential GET (60: it timed out)."""
    times = []
    with httpx.Client(base_url=base, cookies=cookies, timeout=60) as client:
        for _ in range(count):
            started = time.perf_counter()
            try:
                client.get(path)
            except httpx.HTTPError:
                times.append(60.0)
                continue
            times.append(time.perf_counter() - started)
    return times


def statements(admin_url: str | None) -> int | None:
    if not admin_url:
        return None
    url = admin_url.replace("postgres://", "postgresql://", 1)
    with psycopg.connect(url, autocommit=True) as connection:
        row = connection.execute(
            "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid"
            " WHERE r.rolname = 'web'"
        ).fetchone()
    return int(row[0])


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


# --- one run ---------------------------------------------------------------------------------


@dataclass
class Run:
    mode: str
    code: str
    clients: int
    connected_seconds: float = 0.0
    threads: tuple[int, int] = (0, 0)  # before the clients, while they wait
    rss_kb: tuple[int, int] = (0, 0)
    healthz: list[float] = field(default_factory=list)
    api: list[float] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    lost: int = 0
    wrong: int = 0  # answered with another client's event
    errors: list[str] = field(default_factory=list)
    publish_seconds: float = 0.0
    statements: int | None = None
    load: str = ""
    note: str = ""

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def one_run(prepared: Prepared, code: str, root: Path, clients: int, args) -> Run:  # noqa: PLR0915
    run = Run(prepared.mode, code, clients, load=load_average())
    log = prepared.work / f"web-{code}-{clients}.log"
    profile = Path(args.profile) / f"{prepared.mode}-{code}-{clients}.prof" if args.profile else None
    server, base = start_server(root, prepared.web_env, log, profile)
    keys = json.load(open(prepared.keys))
    cookies = {"sessionid": keys["sessions"][0]}
    try:
        wait_until(lambda: timed_gets(base, "/healthz", {}, 1) is not None, 30, "healthz")
        timed_gets(base, f"/ecc/v1/events/{EVENT_TYPE}", cookies, 3)  # imports, first connections
        wait_idle(server.pid, 10)
        threads_before, rss_before = proc_status(server.pid)
        out = prepared.work / f"clients-{code}-{clients}.json"
        client_command = [sys.executable, __file__, "--role", "client", "--base", base, "--n", str(clients)]
        client_command += ["--keys", str(prepared.keys), "--out", str(out)]
        client_command += ["--connect-concurrency", str(args.connect_concurrency)]
        started = time.monotonic()
        client = subprocess.Popen(client_command, stdout=subprocess.PIPE, text=True, start_new_session=True)
        try:
            line = client.stdout.readline().strip()
            if not line.startswith("sent"):
                raise BenchError(f"the client process said {line!r}")
            idle_after = wait_idle(server.pid, args.settle)
            run.connected_seconds = time.monotonic() - started
            if idle_after >= args.settle:
                run.note = f"server still busy {args.settle:.0f}s after the last request was sent"
            run.threads = (threads_before, proc_status(server.pid)[0])
            run.rss_kb = (rss_before, proc_status(server.pid)[1])
            run.healthz = timed_gets(base, "/healthz", {})
            run.api = timed_gets(base, "/ecc/v1/batches/00000000-0000-0000-0000-000000000000", cookies)
            before = statements(prepared.admin_url)
            published = publish(prepared, root, clients, args)
            client.wait(timeout=LONG_POLLING + 900)
            after = statements(prepared.admin_url)
        finally:
            if client.poll() is None:
                os.killpg(client.pid, 9)
                client.wait()
        run.statements = None if before is None else after - before
        keys["sequences"] = [sequence + (i < clients) for i, sequence in enumerate(keys["sequences"])]
        json.dump(keys, open(prepared.keys, "w"))
        results = json.load(open(out))
        commits = [at for at in published["published"] if at]
        run.publish_seconds = published["ended"] - min(commits) if commits else 0.0
        if len(commits) < clients:
            run.errors.append(f"the publisher wrote {len(commits)} of {clients} events (see its output)")
        for i, (status, at, detail) in enumerate(results):
            if status == 200 and detail and detail[0] == i:
                run.latencies.append(at - published["published"][i])
            elif status == 200:
                run.wrong += 1
                run.lost += 1
            else:
                run.lost += 1
                if status != 304 and len(run.errors) < 3:
                    run.errors.append(f"{status}: {detail}")
        return run
    finally:
        stop(server)
        if args.keep_logs:
            Path(args.keep_logs).mkdir(parents=True, exist_ok=True)
            shutil.copy(log, Path(args.keep_logs) / f"{prepared.mode}-{log.name}")


def publish(prepared: Prepared, root: Path, clients: int, args) -> dict:
    keys = json.load(open(prepared.keys))
    settings_path, out_path = prepared.work / "publish.json", prepared.work / "published.json"
    json.dump(
        {"organisations": keys["organisations"][:clients], "seconds": args.publish_seconds, "threads": 4},
        open(settings_path, "w"),
    )
    script = PUBLISH.format(settings_path=str(settings_path), out_path=str(out_path))
    run_manage(root, "shell", "--no-imports", "-c", script, env=prepared.env, timeout=600)
    return json.load(open(out_path))


# --- report ----------------------------------------------------------------------------------


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f}"


def table(runs: list[Run]) -> str:
    head = (
        "| mode | code | clients | p50 / p99 publish->answer (ms) | lost | threads +N | RSS KB/client"
        " | DB statements/event | /healthz, API p50/max (ms) | connect (s) | publish (s) | load |"
    )
    lines = [head, "|" + "---|" * 12]
    for r in runs:
        per_client = (r.rss_kb[1] - r.rss_kb[0]) / r.clients
        db = "n/a" if r.statements is None else f"{r.statements / r.clients:.2f}"
        health = f"{ms(statistics.median(r.healthz))}/{ms(max(r.healthz))}" if r.healthz else "-"
        api = f"{ms(statistics.median(r.api))}/{ms(max(r.api))}" if r.api else "-"
        lines.append(
            f"| {r.mode} | {r.code} | {r.clients:,} | {ms(r.percentile(50))} / {ms(r.percentile(99))} | {r.lost}"
            f" | {r.threads[1] - r.threads[0]} | {per_client:.1f} | {db} | {health}, {api}"
            f" | {r.connected_seconds:.0f} | {r.publish_seconds:.1f} | {r.load} |"
        )
    return "\n".join(lines)


def ratios(runs: list[Run]) -> list[str]:
    lines = []
    by_key = {(r.mode, r.code, r.clients): r for r in runs}
    for r in runs:
        if r.code != "hub":
            continue
        old = by_key.get((r.mode, "baseline", r.clients))
        if old is None or not old.latencies or not r.latencies:
            continue
        lines.append(
            f"{r.mode}, {r.clients:,} clients: p99 {old.percentile(99) / r.percentile(99):.0f}x lower,"
            f" p50 {old.percentile(50) / r.percentile(50):.0f}x lower,"
            f" memory per client {((old.rss_kb[1] - old.rss_kb[0]) / max(1, r.rss_kb[1] - r.rss_kb[0])):.1f}x less"
        )
    return lines


def main() -> int:  # noqa: PLR0915
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--role", choices=["bench", "client", "server"], default="bench", help=argparse.SUPPRESS)
    parser.add_argument("--clients", default="1000,5000,10000", help="comma-separated numbers of waiting clients")
    parser.add_argument("--mode", choices=["embedded", "postgres", "both"], default="both")
    parser.add_argument("--code", default="hub,baseline", help="hub (this checkout), baseline (--baseline-ref)")
    parser.add_argument("--baseline-ref", help="the code replaced (default: where this branch left main)")
    parser.add_argument("--baseline-max-clients", type=int, default=10000, help="skip bigger N for the baseline")
    parser.add_argument("--publish-seconds", type=float, default=5.0)
    parser.add_argument("--settle", type=float, default=90.0, help="most seconds to wait for the server to settle")
    parser.add_argument("--keep-logs", help="a directory to copy each server's log to")
    parser.add_argument("--profile", help="a directory: each server runs under cProfile, written there")
    parser.add_argument("--connect-concurrency", type=int, default=500, help="requests being opened at once")
    # The client role's own arguments.
    parser.add_argument("--base", help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--keys", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    # A SIGTERM stops everything this started too (the exit stacks unwind).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if args.role == "client":
        asyncio.run(run_clients(args))
        return 0
    if args.role == "server":
        return profiled_server(args.port, args.profile)

    counts = [int(n) for n in args.clients.split(",")]
    modes = ["embedded", "postgres"] if args.mode == "both" else [args.mode]
    codes = args.code.split(",")
    runs: list[Run] = []
    print(f"versions: {versions()}; {os.cpu_count()} CPUs; load {load_average()}", flush=True)
    with contextlib.ExitStack() as stack:
        roots = {"hub": ROOT}
        if "baseline" in codes:
            ref = (
                args.baseline_ref
                or subprocess.run(
                    ["git", "merge-base", "HEAD", "main"], cwd=ROOT, capture_output=True, text=True, check=True
                ).stdout.strip()
            )
            print(f"baseline: {ref}", flush=True)
            roots["baseline"] = baseline_worktree(ref, stack)
        for mode in modes:
            with contextlib.ExitStack() as mode_stack:
                processes = Processes(Path(tempfile.mkdtemp(prefix="bench-longpoll-logs-")))
                mode_stack.callback(shutil.rmtree, processes.log_dir, ignore_errors=True)
                mode_stack.callback(processes.stop_all)
                prepared = prepare(mode, max(counts), mode_stack, processes)
                for code in codes:
                    for clients in counts:
                        if code == "baseline" and clients > args.baseline_max_clients:
                            continue
                        print(f"[{mode}] {code}: {clients} clients ...", flush=True)
                        try:
                            run = one_run(prepared, code, roots[code], clients, args)
                        except BenchError as error:
                            print(f"[{mode}] {code}: {clients} clients failed: {error}", flush=True)
                            runs.append(Run(mode, code, clients, note=f"failed: {str(error)[:200]}"))
                            continue
                        runs.append(run)
                        print(table([run]).splitlines()[-1], flush=True)
                        if run.errors or run.note:
                            print(f"    {run.note} {run.errors}", flush=True)
    print()
    print(table(runs))
    print()
    for line in ratios(runs):
        print(line)
    for run in runs:
        if run.note or run.errors:
            print(f"{run.mode}/{run.code}/{run.clients}: {run.note} {run.errors}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

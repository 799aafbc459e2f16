"""``python -m bench.faults`` (``make faults``): the webhook pipeline while things break.

A signed load (a stream of conversations, as in the end-to-end benchmark) is POSTed
through gunicorn at a steady rate while the run breaks, one after the other:

1. one Celery pool process (``kill -9``; the worker's main process replaces it);
2. one gunicorn worker (``kill -9``; the master replaces it);
3. the whole Celery worker (``kill -9`` of its process group; its supervisor restarts it);
4. the gunicorn master (``kill -9``; its supervisor restarts it, the orphaned workers
   exit on their own);
5. Redis, the broker, the cache and the processing flag (``kill -9``, started again a
   second later, empty: no persistence);
6. PostgreSQL's side of every connection of the app (``pg_terminate_backend``).

Web, worker and beat run as the Procfile runs them: under ``scripts/supervise.py``.
POSTs not answered 200 are sent again afterwards, as Meta redelivers them. Then the
run waits until every delivery is processed and counts: POSTs answered 200, bodies
stored once, events doubled, deliveries stuck, and the time to drain after the last
fault. Reported as a table and as JSON in ``bench/results/faults-<time>.*``.

It needs ``redis-server`` (the run starts and kills a Redis of its own, on a free port;
it never touches another) and PostgreSQL (``FAULTS_DATABASE_URL``, default
``postgres://$USER@127.0.0.1:5432/waba_faults``, **dropped and created**; only that
database's backends are terminated). Not part of the test suite: it reports, it does
not assert. Exit status as ``python -m bench``: 0 when it ran, 2 when it could not,
130 when interrupted.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlunparse

import psycopg2
import redis

from bench import infra, loadgen, payloads, report
from waba_portal.celery import QUEUES, WORKER_FLAGS, worker_concurrency

RESULTS = Path(__file__).resolve().parent / "results"
SUPERVISE = infra.ROOT / "scripts" / "supervise.py"
FAULTS = ("pool-process", "web-worker", "worker", "web-master", "redis", "database")
# Where in the planned load each fault comes, as a share of its duration.
FAULT_AT = (0.10, 0.22, 0.34, 0.46, 0.58, 0.70)
RECOVERY_TIMEOUT = 90.0


def _log(message: str) -> None:
    print(f"[faults {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.faults", description=__doc__)
    p.add_argument("--quick", action="store_true", help="a short run (about a minute)")
    p.add_argument("--events", type=int, help="events in the stream (12000; quick: 3000)")
    p.add_argument("--rate", type=float, help="POSTs per second (150; quick: 100)")
    p.add_argument("--batching", default="light", help="events per POST (light)")
    p.add_argument("--processes", type=int, default=1, help="load generator processes")
    p.add_argument("--threads", type=int, default=6, help="connections per process")
    p.add_argument("--server-workers", type=int, default=3, help="gunicorn workers")
    p.add_argument(
        "--worker-concurrency",
        type=int,
        default=worker_concurrency(),
        help="Celery processes (the worker's default: $WORKER_CONCURRENCY or twice the cores)",
    )
    p.add_argument("--drain-timeout", type=float, default=300.0, help="seconds to wait for the end")
    return p


# --- Pure parts (tested in tests/bench) --------------------------------------------------


def fault_plan(duration: float, names: Iterable[str] = FAULTS) -> list[tuple[str, float]]:
    """When each fault comes, in seconds after the load starts."""
    return [(name, round(duration * at, 2)) for name, at in zip(names, FAULT_AT, strict=False)]


def body_digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def tally(
    *,
    bodies: list[bytes],
    answered: set[int],
    stored: dict[str, str],
    state: dict[str, Any],
    expected: dict[str, Any],
    status_events: int,
    distinct_status_events: int,
) -> dict[str, Any]:
    """The run's outcome: what was answered, stored, doubled and left behind.

    ``answered``: indices of the bodies answered 200 at least once; ``stored``: the
    stored deliveries, body digest -> status.
    """
    digests = [body_digest(b) for b in bodies]
    answered_digests = {digests[i] for i in answered}
    stored_once = sum(1 for d in answered_digests if d in stored)
    open_ = {d: s for d, s in stored.items() if s != "processed"}
    doubled = max(status_events - distinct_status_events, 0) + max(
        state["inbound"] - expected["inbound"], 0
    )
    return {
        "bodies": len(bodies),
        "answered_200": len(answered_digests),
        "never_answered": len(set(digests) - answered_digests),
        "stored": len(stored),
        "stored_once": stored_once,
        "lost": len(answered_digests) - stored_once,  # answered 200, not stored
        "stored_unknown": len(set(stored) - set(digests)),
        "doubled": doubled,
        "stuck": len(open_),
        "stuck_by_status": _count(open_.values()),
        "events_expected": expected,
        "events_state": state,
        "state_as_expected": state == expected,
    }


def _count(values: Iterable[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for v in values:
        out[v] = out.get(v, 0) + 1
    return out


def log_counts(text: str) -> dict[str, int]:
    """What a process's log says about how it went."""
    lines = text.splitlines()
    return {
        "error_lines": sum(1 for ln in lines if " ERROR " in ln or " CRITICAL " in ln),
        "tracebacks": sum(1 for ln in lines if ln.startswith("Traceback (most recent call")),
        "unrecoverable": sum(1 for ln in lines if "Unrecoverable error" in ln),
        "restarts": sum(1 for ln in lines if "supervise[" in ln and "restarting in" in ln),
        "db_reconnects": sum(1 for ln in lines if "database connection lost while" in ln),
    }


# --- Processes -----------------------------------------------------------------------------


def _children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (Linux)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return sorted(found)


def _wait(predicate: Callable[[], bool], timeout: float = RECOVERY_TIMEOUT) -> float | None:
    """Seconds until ``predicate()`` held, or None after ``timeout``."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if predicate():
            return time.monotonic() - start
        time.sleep(0.05)
    return None


@dataclass
class OwnRedis:
    """A ``redis-server`` of the run's own, killed and started again by the run."""

    log: Path
    port: int = field(default_factory=infra.free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def ping(self) -> bool:
        try:
            return bool(redis.Redis.from_url(self.url, socket_connect_timeout=0.5).ping())
        except redis.RedisError:
            return False

    def start(self) -> None:
        binary = shutil.which(os.environ.get("FAULTS_REDIS_SERVER", "redis-server"))
        if binary is None:
            raise infra.BenchError("redis-server is needed (set FAULTS_REDIS_SERVER)")
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [
                    binary,
                    *("--port", str(self.port), "--bind", "127.0.0.1"),
                    *("--save", "", "--appendonly", "no"),
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        if _wait(self.ping, 15) is None:
            raise infra.BenchError(f"redis-server did not start:\n{self.log.read_text()}")

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)


@dataclass
class Supervised:
    """A process of the run, as the Procfile runs it: under ``scripts/supervise.py``."""

    started: infra.Started
    pid_file: Path

    def pid(self) -> int:
        return int(self.pid_file.read_text())

    def log(self) -> str:
        return self.started.tail(10_000_000)


class Run:
    def __init__(self, args: argparse.Namespace, logs: Path) -> None:
        self.args = args
        self.logs = logs
        self.redis = OwnRedis(log=logs / "redis.log")
        user = os.environ.get("PGUSER") or os.environ.get("USER") or "postgres"
        self.servers = infra.Servers(
            database_url=os.environ.get(
                "FAULTS_DATABASE_URL", f"postgres://{user}@127.0.0.1:5432/waba_faults"
            ),
            redis_url="",
        )
        self.port = infra.free_port()
        self.faults: list[dict[str, Any]] = []

    # --- the processes ---------------------------------------------------------------

    def supervised(self, procs: infra.Processes, name: str, command: list[str]) -> Supervised:
        pid_file = self.logs / f"{name}.pid"
        pid_file.unlink(missing_ok=True)
        args = [sys.executable, str(SUPERVISE), name, "--pid-file", str(pid_file)]
        args += ["--stop-timeout", "10", "--", *command]
        item = Supervised(procs.start(name, args), pid_file)
        if _wait(pid_file.exists, 30) is None:
            raise infra.BenchError(f"{name} did not start:\n{item.started.tail()}")
        return item

    def start_web(self, procs: infra.Processes) -> Supervised:
        web = self.supervised(
            procs,
            "web",
            [
                *(sys.executable, "-m", "gunicorn", "waba_portal.wsgi:application"),
                *("--bind", f"127.0.0.1:{self.port}", "--workers", str(self.args.server_workers)),
                *("--access-logfile", str(self.logs / "access.log")),
            ],
        )
        if _wait(lambda: infra._http_ok(self.port, "/healthz"), 60) is None:
            raise infra.BenchError(f"gunicorn did not answer:\n{web.started.tail()}")
        return web

    def start_worker(self, procs: infra.Processes) -> Supervised:
        worker = self.supervised(
            procs,
            "worker",
            [
                *(sys.executable, "-m", "celery", "-A", "waba_portal", "worker"),
                *("-Q", ",".join(QUEUES), *WORKER_FLAGS),
                *("--concurrency", str(self.args.worker_concurrency), "--loglevel", "INFO"),
            ],
        )
        if _wait(lambda: "ready." in worker.log(), 60) is None:
            raise infra.BenchError(f"the worker did not start:\n{worker.started.tail()}")
        return worker

    def start_beat(self, procs: infra.Processes) -> Supervised:
        return self.supervised(
            procs,
            "beat",
            [
                *(sys.executable, "-m", "celery", "-A", "waba_portal", "beat"),
                *("--loglevel", "INFO", "--schedule", str(self.logs / "celerybeat-schedule")),
            ],
        )

    # --- the faults --------------------------------------------------------------------

    def inflict(self, name: str, at: float, web: Supervised, worker: Supervised) -> None:
        started = time.monotonic()
        detail, recovered = getattr(self, "_" + name.replace("-", "_"))(web, worker)
        self.faults.append(
            {
                "fault": name,
                "at_s": round(at, 2),
                "detail": detail,
                "recovered_after_s": None if recovered is None else round(recovered, 2),
                "ended_wall": time.time(),
            }
        )
        back = "not back" if recovered is None else f"back after {recovered:.1f} s"
        _log(f"{name} at {at:.1f} s: {detail}; {back} ({time.monotonic() - started:.1f} s)")

    def _pool_process(self, web: Supervised, worker: Supervised) -> tuple[str, float | None]:
        main = worker.pid()
        pool = _children(main)
        if not pool:
            return "no pool process found", 0.0
        os.kill(pool[0], signal.SIGKILL)
        back = _wait(lambda: len(_children(main)) >= len(pool) and pool[0] not in _children(main))
        return f"pool process {pool[0]} of worker {main} killed (-9)", back

    def _web_worker(self, web: Supervised, worker: Supervised) -> tuple[str, float | None]:
        master = web.pid()
        workers = _children(master)
        if not workers:
            return "no gunicorn worker found", 0.0
        os.kill(workers[0], signal.SIGKILL)
        back = _wait(lambda: len(_children(master)) >= len(workers))
        return f"gunicorn worker {workers[0]} killed (-9)", back

    def _worker(self, web: Supervised, worker: Supervised) -> tuple[str, float | None]:
        main = worker.pid()
        ready = worker.log().count("ready.")
        os.killpg(main, signal.SIGKILL)  # the main process and its pool
        back = _wait(lambda: worker.log().count("ready.") > ready)
        return f"Celery worker {main} and its pool killed (-9)", back

    def _web_master(self, web: Supervised, worker: Supervised) -> tuple[str, float | None]:
        master = web.pid()
        os.kill(master, signal.SIGKILL)

        def serving_again() -> bool:
            return web.pid() != master and infra._http_ok(self.port, "/healthz")

        return f"gunicorn master {master} killed (-9)", _wait(serving_again)

    def _redis(self, web: Supervised, worker: Supervised) -> tuple[str, float | None]:
        t0 = time.monotonic()
        self.redis.kill()
        time.sleep(1.0)
        self.redis.start()
        return "Redis killed (-9), started again empty 1 s later", time.monotonic() - t0

    def _database(self, web: Supervised, worker: Supervised) -> tuple[str, float | None]:
        from django.db import connection

        connection.close()  # the run's own reads reconnect later
        name = self.servers.database_name
        admin = psycopg2.connect(self.servers.database_url)
        admin.autocommit = True
        with admin.cursor() as cur:
            cur.execute(
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                [name],
            )
            row = cur.fetchone()
        admin.close()
        return f"{row[0] if row else 0} backends of {name} terminated", 0.0


# --- The run ---------------------------------------------------------------------------------


def _stored() -> dict[str, str]:
    from django.db import connection

    from bench.stages import DELIVERY

    with connection.cursor() as cur:
        cur.execute(f"SELECT body_sha256, status FROM {DELIVERY}")  # noqa: S608
        return dict(cur.fetchall())


def _waits(since: float) -> dict[str, float]:
    """Seconds from stored to processed: the longest and the 99th percentile, of every
    delivery and of those stored after ``since`` (a wall-clock time)."""
    from django.db import connection

    from bench.stages import DELIVERY

    sql = (
        "SELECT coalesce(max(w), 0), coalesce(percentile_cont(0.99) WITHIN GROUP (ORDER BY w), 0)"  # noqa: S608
        f" FROM (SELECT extract(epoch FROM processed_at - received_at) AS w FROM {DELIVERY}"
        " WHERE processed_at IS NOT NULL AND received_at >= to_timestamp(%s)) AS t"
    )
    out: dict[str, float] = {}
    with connection.cursor() as cur:
        for label, start in (("all", 0.0), ("after_last_fault", since)):
            cur.execute(sql, [start])
            row = cur.fetchone() or (0, 0)
            out[f"{label}_max_s"] = round(float(row[0]), 2)
            out[f"{label}_p99_s"] = round(float(row[1]), 2)
    return out


def _backlog_drained_after(moment: float) -> float:
    """Seconds from ``moment`` (wall clock) until the last delivery stored before it was
    processed: how long the backlog of a fault took to drain."""
    from django.db import connection

    from bench.stages import DELIVERY

    with connection.cursor() as cur:
        cur.execute(
            f"SELECT extract(epoch FROM max(processed_at)) FROM {DELIVERY}"  # noqa: S608
            " WHERE received_at <= to_timestamp(%s)",
            [moment],
        )
        row = cur.fetchone()
    return max(float(row[0]) - moment, 0.0) if row and row[0] is not None else 0.0


def _open_deliveries() -> int:
    from django.db import connection

    from bench.stages import DELIVERY

    with connection.cursor() as cur:
        cur.execute(
            f"SELECT count(*) FROM {DELIVERY} WHERE status IN ('received', 'retrying')"  # noqa: S608
        )
        row = cur.fetchone()
    return int(row[0]) if row else 0


@dataclass
class Measured:
    """What the run saw, for :func:`run` to report."""

    bodies: int
    events: int
    first: loadgen.LoadResult
    rounds: list[dict[str, Any]]
    drained: bool
    after_last_fault: float  # until everything stored before its end was processed
    after_last_post: float
    outcome: dict[str, Any]
    waits: dict[str, float]


def _under_faults(
    run_: Run, procs: infra.Processes, *, events: int, rate: float, batching: payloads.Batching
) -> Measured:
    """The servers, the load with its faults, Meta's redelivery, the drain, the count."""
    args, logs = run_.args, run_.logs
    _log(f"own Redis on 127.0.0.1:{run_.redis.port}")
    run_.redis.start()
    procs.env = infra.bench_environment(
        infra.Servers(database_url=run_.servers.database_url, redis_url=run_.redis.url)
    )
    os.environ.update(procs.env)  # this process reads the results with the same settings
    _log(f"database {run_.servers.database_name}: drop, create, migrate")
    infra.database_recreate(run_.servers)
    infra.database_migrate(procs.env, logs / "migrate.log")

    import django

    django.setup()
    from django.db import connection

    from bench import stages

    ctx = stages.Context(
        port=run_.port,
        secret=infra.APP_SECRET,
        database_url=run_.servers.database_url,
        processes=args.processes,
        threads=args.threads,
    )
    stages.tenant_seed(ctx)
    stream = payloads.conversation_stream(
        ctx.routing, events=events, prefix="FLT", batching=batching
    )
    stages.outbound_seed(ctx, stream)
    bodies = [d.body for d in stream.deliveries]

    _log("web, worker and beat, each under scripts/supervise.py")
    web = run_.start_web(procs)
    worker = run_.start_worker(procs)
    run_.start_beat(procs)

    duration = len(bodies) / rate
    _log(f"{len(bodies)} POSTs ({stream.events} events) at {rate:g}/s, ~{duration:.0f} s")
    spec = ctx.spec(stages.WEBHOOK_PATH, bodies=bodies, timeout=duration * 3 + 120, rate=rate)
    thread, box = stages._post_in_background(spec)
    load_start = time.monotonic()
    for name, at in fault_plan(duration):
        delay = load_start + at - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        run_.inflict(name, time.monotonic() - load_start, web, worker)
    last_fault_wall = time.time()
    first = stages._posted(thread, box)

    # Meta delivers again what was not answered 200, a little later.
    answered = set(range(len(bodies))) - set(first.failed)
    missing = sorted(first.failed)
    rounds: list[dict[str, Any]] = []
    while missing and len(rounds) < 5:
        time.sleep(2.0)
        again = loadgen.run(
            ctx.spec(
                stages.WEBHOOK_PATH,
                bodies=[bodies[i] for i in missing],
                timeout=len(missing) / rate * 3 + 60,
                rate=rate,
            )
        )
        still = {missing[j] for j in again.failed}
        answered |= set(missing) - still
        rounds.append({"posts": len(missing), "answered_200": again.statuses.get(200, 0)})
        missing = sorted(still)
    last_post = time.monotonic()

    _log("waiting for every delivery to be processed")
    drained = _wait(
        lambda: len(_stored()) >= len(answered) and _open_deliveries() == 0, args.drain_timeout
    )
    drained_at = time.monotonic()
    backlog_drained = _backlog_drained_after(last_fault_wall)
    for fault in run_.faults:  # each fault's backlog: what was stored until it was over
        ended = fault.pop("ended_wall")
        fault["backlog_drained_after_s"] = round(_backlog_drained_after(ended), 2)
    snapshot = stages.snapshot(ctx)
    outcome = tally(
        bodies=bodies,
        answered=answered,
        stored=_stored(),
        state=stages.stream_state(ctx),
        expected=stages.stream_expected(stream),
        status_events=snapshot.status_events,
        distinct_status_events=snapshot.distinct_status_events,
    )
    waits = _waits(last_fault_wall)
    connection.close()
    return Measured(
        bodies=len(bodies),
        events=stream.events,
        first=first,
        rounds=rounds,
        drained=drained is not None,
        after_last_fault=backlog_drained,
        after_last_post=drained_at - last_post,
        outcome=outcome,
        waits=waits,
    )


def run(args: argparse.Namespace, stamp: str, logs: Path) -> dict[str, Any]:
    quick = args.quick
    events = args.events or (3000 if quick else 12000)
    rate = args.rate or (100.0 if quick else 150.0)
    try:
        batching = payloads.Batching.parse(args.batching)
    except ValueError as exc:
        raise infra.BenchError(str(exc)) from exc
    run_ = Run(args, logs)
    try:
        with infra.Processes({}, logs) as procs:
            m = _under_faults(run_, procs, events=events, rate=rate, batching=batching)
    finally:
        run_.redis.kill()
    first = m.first
    return {
        "meta": {
            "started": stamp,
            "mode": "quick" if quick else "full",
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "database": _without_password(run_.servers.database_url),
            "redis": f"own redis-server on 127.0.0.1:{run_.redis.port}, no persistence",
            "server": f"gunicorn, {args.server_workers} sync workers, under scripts/supervise.py",
            "worker": (
                f"celery worker {' '.join(WORKER_FLAGS)}, prefork x {args.worker_concurrency}, "
                "and beat; each under scripts/supervise.py"
            ),
            "load": (
                f"{m.bodies} signed POSTs, {m.events} events, batching {batching.name}, "
                f"{rate:g} POSTs/s on {args.processes * args.threads} connections"
            ),
            "logs": str(logs),
        },
        "first_pass": {
            "posts": first.ok + first.errors,
            "answered_200": first.statuses.get(200, 0),
            "statuses": {str(k): v for k, v in sorted(first.statuses.items())},
            "not_answered": len(first.failed),
            "first_error": first.first_error,
            "seconds": round(first.elapsed, 2),
        },
        "redelivery_rounds": m.rounds,
        "faults": run_.faults,
        "outcome": m.outcome,
        "drained": m.drained,
        "drain_after_last_fault_s": round(m.after_last_fault, 2),
        "drain_after_last_post_s": round(m.after_last_post, 2),
        "waits": m.waits,
        "logs_said": {
            name: log_counts((logs / f"{name}.log").read_text(errors="replace"))
            for name in ("web", "worker", "beat")
        },
    }


def _without_password(url: str) -> str:
    parsed = urlparse(url)
    if parsed.password:
        parsed = parsed._replace(netloc=parsed.netloc.replace(f":{parsed.password}@", ":***@"))
    return urlunparse(parsed)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    logs = RESULTS / f"faults-{stamp}-logs"
    logs.mkdir(parents=True, exist_ok=True)
    try:
        results = run(args, stamp, logs)
    except infra.BenchError as exc:
        print(f"faults: {exc}", file=sys.stderr)
        print(f"faults: logs in {logs}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("faults: interrupted; every process it started is stopped", file=sys.stderr)
        return 130
    text = report.faults_table(results)
    print(text, end="")
    for path in report.write(results, text, RESULTS, stamp, name="faults"):
        shown = path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path
        print(f"written: {shown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

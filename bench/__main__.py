"""``python -m bench [--quick]``: run the webhook benchmarks and report (see README.md).

Exit status: 0 when the benchmark ran, whether or not each goal was met (a benchmark
reports, it does not assert); 2 when it could not run; 130 when interrupted.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from bench import infra, payloads, report
from waba_portal.celery import QUEUES, worker_concurrency

RESULTS = Path(__file__).resolve().parent / "results"
STAGES = ("intake", "e2e", "replay")
DEFAULT_BATCHING = "1,light,10-100"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("--quick", action="store_true", help="a short run (under a minute)")
    p.add_argument("--stages", default=",".join(STAGES), help="comma-separated subset")
    p.add_argument("--rounds", type=int, help="intake: hello/webhook phase pairs (3)")
    p.add_argument("--duration", type=float, help="intake: seconds per phase (10)")
    p.add_argument("--events", type=int, help="end to end: events, and baseline rows (8000)")
    p.add_argument(
        "--batching",
        default=DEFAULT_BATCHING,
        help="end to end: events per POST, one run each: light (60%% one, else 2-5), N, "
        f"or A-B; comma-separated ({DEFAULT_BATCHING})",
    )
    p.add_argument("--replay-events", type=int, help="replay: events of the stream (2000)")
    p.add_argument("--processes", type=int, default=2, help="load generator processes")
    p.add_argument("--threads", type=int, default=4, help="connections per process")
    p.add_argument(
        "--server-workers",
        type=int,
        default=int(os.environ.get("WEB_CONCURRENCY", "3")),
        help="gunicorn workers (Procfile: $WEB_CONCURRENCY or 3)",
    )
    p.add_argument("--server-class", choices=("sync", "gthread"), default="sync")
    p.add_argument("--server-threads", type=int, default=4, help="threads per gthread worker")
    p.add_argument(
        "--worker-concurrency",
        type=int,
        default=worker_concurrency(),
        help="Celery processes (the worker's default: $WORKER_CONCURRENCY or twice the cores)",
    )
    p.add_argument("--worker-loglevel", default="INFO")
    return p


def _log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _postgres_version(url: str) -> str:
    import psycopg2

    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute("SHOW server_version")
        row = cur.fetchone()
    conn.close()
    return str(row[0]) if row else "?"


def run(args: argparse.Namespace, stamp: str, logs: Path) -> dict[str, Any]:
    quick = args.quick
    rounds = args.rounds or (1 if quick else 3)
    duration = args.duration or (3.0 if quick else 10.0)
    events = args.events or (1500 if quick else 8000)
    replay_events = args.replay_events or (400 if quick else 2000)
    try:
        batchings = [payloads.Batching.parse(b) for b in args.batching.split(",") if b.strip()]
    except ValueError as exc:
        raise infra.BenchError(str(exc)) from exc
    stages_wanted = {s.strip() for s in args.stages.split(",") if s.strip()}
    unknown = stages_wanted - set(STAGES)
    if unknown:
        raise infra.BenchError(f"unknown stages: {', '.join(sorted(unknown))}")

    servers = infra.servers_from_env()
    env = infra.bench_environment(servers)
    os.environ.update(env)  # this process reads the results with the same settings
    results: dict[str, Any] = {
        "meta": {
            "started": stamp,
            "mode": "quick" if quick else "full",
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "postgres": "?",
            "database": servers.database_url,
            "redis": servers.redis_url,
            "server": (
                f"gunicorn waba_portal.wsgi, {args.server_workers} {args.server_class} workers"
                + (f" x {args.server_threads} threads" if args.server_class == "gthread" else "")
                + ", access log on, DEBUG off, production settings (bench.settings)"
            ),
            "worker": (
                f"celery -A waba_portal worker -Q {','.join(QUEUES)}, prefork "
                f"x {args.worker_concurrency}, loglevel {args.worker_loglevel}"
            ),
            "load": (
                f"{args.processes} processes x {args.threads} connections, closed loop, "
                "loopback, every body unique and signed"
            ),
            "logs": str(logs),
        }
    }
    busy = infra.cpu_busy(2.0)
    results["meta"]["cpu_busy_before"] = busy
    if busy > report.BUSY_WARNING:
        _log(f"WARNING: the machine is {busy:.0%} busy before the run; figures will be skewed")
    with infra.Processes(env, logs) as procs:
        _log(f"database {servers.database_name}: drop, create, migrate; Redis {servers.redis_url}")
        infra.database_recreate(servers)
        infra.redis_flush(servers)
        infra.database_migrate(env, logs / "migrate.log")
        results["meta"]["postgres"] = _postgres_version(servers.database_url)

        import django

        django.setup()
        from bench import stages

        ctx = stages.Context(
            port=infra.free_port(),
            secret=infra.APP_SECRET,
            database_url=servers.database_url,
            processes=args.processes,
            threads=args.threads,
        )
        stages.tenant_seed(ctx)
        _log(f"gunicorn on 127.0.0.1:{ctx.port}: {results['meta']['server']}")
        server = procs.start_gunicorn(
            port=ctx.port,
            workers=args.server_workers,
            worker_class=args.server_class,
            threads=args.server_threads,
        )
        if "intake" in stages_wanted:
            _log(f"intake: {rounds} x (hello, webhook) x {duration:g} s, worker not running")
            results["intake"] = stages.intake_stage(
                ctx, rounds=rounds, duration=duration, warmup=1.0 if quick else 2.0
            )
            stages.pipeline_reset(drain=False)
        if "e2e" in stages_wanted:
            _log(f"baseline: {events} single-row INSERTs")
            results["baseline"] = stages.baseline_stage(ctx, rows=events)
        if stages_wanted & {"e2e", "replay"}:
            _log(f"worker: {results['meta']['worker']}")
            procs.start_worker(concurrency=args.worker_concurrency, loglevel=args.worker_loglevel)
        if "e2e" in stages_wanted:
            results["e2e"] = []
            for batching in batchings:
                _log(f"end to end: {events} events, batching {batching.name}")
                results["e2e"].append(
                    stages.e2e_stage(
                        ctx, events=events, timeout=max(300, events / 20), batching=batching
                    )
                )
        if "replay" in stages_wanted:
            _log(f"replay: {replay_events} events in order, then redelivered 3x")
            results["replay"] = stages.replay_stage(ctx, events=replay_events, timeout=600)
        if not server.alive():
            raise infra.BenchError(f"gunicorn died during the run:\n{server.tail()}")
        from django.db import connection

        connection.close()
    results["meta"]["cpu_busy_after"] = infra.cpu_busy(1.0)
    results["goals"] = report.goals(results)
    return results


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    logs = RESULTS / f"bench-{stamp}-logs"
    logs.mkdir(parents=True, exist_ok=True)
    try:
        results = run(args, stamp, logs)
    except infra.BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        print(f"bench: logs in {logs}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("bench: interrupted; every process it started is stopped", file=sys.stderr)
        return 130
    text = report.table(results)
    print(text, end="")
    for path in report.write(results, text, RESULTS, stamp):
        print(
            f"written: {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

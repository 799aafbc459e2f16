"""What the benchmark runs on: its own database and Redis database, gunicorn, a worker.

Everything started here is registered with :class:`Processes`, which stops it (the
whole process group: TERM, then KILL) when the ``with`` block ends, whatever the
reason: success, an error, Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from urllib.parse import urlparse, urlunparse

import psycopg2
import redis

from waba_portal.celery import QUEUES, WORKER_FLAGS

ROOT = Path(__file__).resolve().parent.parent
BENCH_DB_NAME = "waba_bench"
APP_SECRET = "bench-app-secret"  # noqa: S105 - the bench's own META_APP_SECRET


class BenchError(RuntimeError):
    """The benchmark could not run (a server did not start, a database is missing...)."""


@dataclass(frozen=True)
class Servers:
    database_url: str
    redis_url: str

    @property
    def maintenance_url(self) -> str:
        return urlunparse(urlparse(self.database_url)._replace(path="/postgres"))

    @property
    def database_name(self) -> str:
        return urlparse(self.database_url).path.lstrip("/")


def servers_from_env() -> Servers:
    user = os.environ.get("PGUSER") or os.environ.get("USER") or "postgres"
    return Servers(
        database_url=os.environ.get(
            "BENCH_DATABASE_URL", f"postgres://{user}@127.0.0.1:5432/{BENCH_DB_NAME}"
        ),
        redis_url=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"),
    )


def bench_environment(servers: Servers) -> dict[str, str]:
    """The environment of every process of the run: production settings, bench servers.

    Security settings stay at their production values; requests carry
    ``X-Forwarded-Proto: https`` as they would behind the TLS-terminating proxy.
    """
    env = dict(os.environ)
    for name in ("DEBUG", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "WEBHOOK_BATCH_SIZE"):
        env.pop(name, None)
    env.update(
        DJANGO_SETTINGS_MODULE="bench.settings",
        DATABASE_URL=servers.database_url,
        REDIS_URL=servers.redis_url,
        SECRET_KEY="bench-only-secret-key-" + "b" * 40,
        ALLOWED_HOSTS="127.0.0.1,localhost",
        META_APP_SECRET=APP_SECRET,
        META_WEBHOOK_VERIFY_TOKEN="bench-verify-token",  # noqa: S106
        CACHE_KEY_PREFIX="waba-bench",
        PYTHONUNBUFFERED="1",
    )
    return env


def database_recreate(servers: Servers) -> None:
    name = servers.database_name
    if not name.replace("_", "").isalnum():
        raise BenchError(f"refusing an unusual database name: {name!r}")
    try:
        conn = psycopg2.connect(servers.maintenance_url)
    except psycopg2.OperationalError as exc:
        raise BenchError(f"PostgreSQL unreachable at {servers.maintenance_url}: {exc}") from exc
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cur.execute(f'CREATE DATABASE "{name}"')
    conn.close()


def database_migrate(env: dict[str, str], log: Path) -> None:
    with log.open("ab") as out:
        result = subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=300,
        )
    if result.returncode != 0:
        raise BenchError(f"migrate failed:\n{_tail(log)}")


def redis_flush(servers: Servers) -> None:
    try:
        redis.Redis.from_url(servers.redis_url).flushdb()
    except redis.RedisError as exc:
        raise BenchError(f"Redis unreachable at {servers.redis_url}: {exc}") from exc


def cpu_busy(seconds: float = 1.0) -> float:
    """Share (0..1) of all CPUs busy over ``seconds`` (Linux; 0.0 elsewhere)."""

    def sample() -> tuple[int, int]:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
        return sum(fields), idle

    try:
        total0, idle0 = sample()
        time.sleep(seconds)
        total1, idle1 = sample()
    except (OSError, ValueError, IndexError):
        return 0.0
    total = total1 - total0
    return 1.0 - (idle1 - idle0) / total if total > 0 else 0.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _tail(path: Path, chars: int = 4000) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError:
        return ""


@dataclass
class Started:
    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def alive(self) -> bool:
        return self.process.poll() is None

    def tail(self, chars: int = 4000) -> str:
        return _tail(self.log, chars)


@dataclass
class Processes:
    """Starts processes in their own session and always stops them on exit."""

    env: dict[str, str]
    logs: Path
    started: list[Started] = field(default_factory=list)

    def __enter__(self) -> Processes:
        self._previous = {
            signal.SIGTERM: signal.signal(signal.SIGTERM, self._on_sigterm),
            # Ctrl-C must stop the run even when started with SIGINT ignored (`cmd &`).
            signal.SIGINT: signal.signal(signal.SIGINT, signal.default_int_handler),
        }
        return self

    def __exit__(self, *exc: object) -> None:
        for item in reversed(self.started):
            self.stop(item)
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)

    @staticmethod
    def _on_sigterm(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt("SIGTERM")

    def start(self, name: str, args: list[str]) -> Started:
        log = self.logs / f"{name}.log"
        with log.open("ab") as out:
            process = subprocess.Popen(
                args,
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        item = Started(name, process, log)
        self.started.append(item)
        return item

    def stop(self, item: Started, timeout: float = 15.0) -> None:
        if item in self.started:
            self.started.remove(item)
        if item.process.poll() is not None:
            return
        for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(item.process.pid, sig)
            except ProcessLookupError:
                return
            try:
                item.process.wait(timeout=wait)
                return
            except subprocess.TimeoutExpired:
                continue

    # --- The servers under test ---------------------------------------------------------

    def start_gunicorn(
        self, *, port: int, workers: int, worker_class: str, threads: int
    ) -> Started:
        args = [
            sys.executable,
            "-m",
            "gunicorn",
            "waba_portal.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--worker-class",
            worker_class,
            "--access-logfile",
            str(self.logs / "access.log"),
        ]
        if worker_class == "gthread":
            args += ["--threads", str(threads)]
        item = self.start("gunicorn", args)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if not item.alive():
                raise BenchError(f"gunicorn exited:\n{item.tail()}")
            if _http_ok(port, "/bench/hello/") and _http_ok(port, "/healthz"):
                return item
            time.sleep(0.2)
        raise BenchError(f"gunicorn did not answer within 60 s:\n{item.tail()}")

    def start_worker(self, *, concurrency: int, loglevel: str) -> Started:
        args = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "waba_portal",
            "worker",
            "-Q",
            ",".join(QUEUES),
            *WORKER_FLAGS,
            "--concurrency",
            str(concurrency),
            "--loglevel",
            loglevel,
        ]
        item = self.start("worker", args)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if not item.alive():
                raise BenchError(f"the Celery worker exited:\n{item.tail()}")
            if "ready." in item.tail(100_000):
                return item
            time.sleep(0.2)
        raise BenchError(f"the Celery worker did not start within 60 s:\n{item.tail()}")


def _http_ok(port: int, path: str) -> bool:
    request = (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        "X-Forwarded-Proto: https\r\nConnection: close\r\n\r\n"
    ).encode()
    try:
        with socket.create_connection(("127.0.0.1", port), 2) as sock:
            sock.sendall(request)
            return sock.recv(64).startswith(b"HTTP/1.1 200")
    except OSError:
        return False

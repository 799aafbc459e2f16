"""A real Celery worker process for tests whose point is what a worker does.

The worker runs ``celery -A waba_portal worker`` against the same Redis broker and
the same PostgreSQL test database as the suite (tests using it need
``transactional_db`` so their rows are committed). Mail it sends lands in files.
Under pytest-xdist it inherits ``PYTEST_XDIST_WORKER``, so tests/settings.py gives it
its pytest worker's Redis database and cache prefix; it is offline like the suite.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from pathlib import Path

import pytest
from django.db import connection

from waba_portal.celery import QUEUES
from waba_portal.celery import app as celery_app

ROOT = Path(__file__).resolve().parents[1]


def _database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@dataclass
class WorkerProcess:
    mail_dir: Path
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    env: dict[str, str] = field(default_factory=dict)

    def start(self) -> None:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "waba_portal",
                "worker",
                "-Q",
                ",".join(QUEUES),
                "--concurrency",
                "2",
                "--pool",
                "prefork",
                "--loglevel",
                "INFO",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("worker exited:\n" + self.log())
            if "ready." in self.log():
                return
            time.sleep(0.2)
        raise RuntimeError("worker did not start:\n" + self.log())

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Kill the whole worker (main process and its pool) at once."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, sig)
            self.process.wait(30)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()

    def discard(self) -> None:
        """End a worker whose test is over, at once (a warm shutdown takes two seconds).

        What it still held stays in the broker's unacked set; the fixture clears that
        and the queues before the next worker starts.
        """
        self.kill(signal.SIGKILL)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def mails(self) -> list[Message]:
        return [message_from_bytes(p.read_bytes()) for p in sorted(self.mail_dir.glob("*.log"))]


def wait_for(predicate, timeout: float = 30.0, interval: float = 0.1, message: str = ""):  # type: ignore[no-untyped-def]
    """Poll until ``predicate()`` is truthy; fail with ``message`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(message or "condition not met in time")


def _empty_broker() -> None:
    """No task of an earlier test may reach this one's worker: purge the queues, and
    forget what a killed worker had taken but not acknowledged (the Redis transport
    would put it back in the queue an hour later, into whichever run is going then)."""
    celery_app.control.purge()
    with celery_app.connection_for_write() as conn:
        if conn.transport.driver_type == "redis":
            channel = conn.default_channel
            channel.client.delete(channel.unacked_key, channel.unacked_index_key)


@pytest.fixture
def celery_worker_env() -> dict[str, str]:
    """Extra environment for the worker process; override in a test module."""
    return {}


@pytest.fixture
def celery_worker_process(
    transactional_db: None, tmp_path: Path, settings, celery_worker_env: dict[str, str]
) -> Iterator[WorkerProcess]:  # type: ignore[no-untyped-def]
    """A fresh worker for one test, with tasks sent to the broker (not run eagerly)."""
    _empty_broker()
    from waba_portal.webhooks.services import kick_flag

    kick_flag.release()  # a worker killed by an earlier test may have left it
    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": _database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "TEST_CELERY_EAGER": "0",
        "TEST_BLOCK_INTERNET": "1",  # tests/settings.py installs tests/network.py's guard
        "TEST_EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "TEST_EMAIL_FILE_PATH": str(mail_dir),
        **celery_worker_env,
    }
    worker = WorkerProcess(mail_dir=mail_dir, log_path=tmp_path / "worker.log", env=env)
    settings.CELERY_TASK_ALWAYS_EAGER = False
    celery_app.conf.task_always_eager = False
    worker.start()
    try:
        yield worker
    finally:
        worker.discard()
        celery_app.conf.task_always_eager = True
        _empty_broker()

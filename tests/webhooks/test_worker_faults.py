"""A real worker whose Redis dies mid-task and comes back: it stays up and goes on.

The worker gets a Redis of its own (a throwaway ``redis-server`` on a free port, no
persistence), as its broker and its cache, so that killing it touches nothing else.
Before the fix the worker exited every time with "Unrecoverable error: AttributeError:
'NoneType' object has no attribute 'hostname'" (see waba_portal/celery.py).
"""

from __future__ import annotations

import hashlib
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis

from tests.fixtures_celery import WorkerProcess, wait_for
from tests.fixtures_webhooks import Routed
from tests.parallel import with_redis_db, worker_redis_db
from tests.settings import TEST_REDIS_DBS, XDIST_WORKER
from waba_portal.celery import app as celery_app
from waba_portal.webhooks import samples
from waba_portal.webhooks.models import DeliveryStatus, WebhookDelivery
from waba_portal.webhooks.tasks import process_deliveries

pytestmark = [
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class ThrowawayRedis:
    """A ``redis-server`` of the test's own, on a free port, that it may kill and restart."""

    log_path: Path
    port: int = field(default_factory=_free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """As the worker process reads it (tests/settings.py gives each xdist worker its
        own database number)."""
        url = f"redis://127.0.0.1:{self.port}/0"
        if XDIST_WORKER:
            url = with_redis_db(url, worker_redis_db(XDIST_WORKER, TEST_REDIS_DBS))
        return url

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    "redis-server",
                    *("--port", str(self.port), "--bind", "127.0.0.1"),
                    *("--save", "", "--appendonly", "no"),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.5)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if client.ping():
                    return
            except redis.RedisError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server did not start:\n{self.log_path.read_text()}")

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[ThrowawayRedis]:
    server = ThrowawayRedis(log_path=tmp_path / "redis.log")
    server.start()
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture
def celery_worker_env(own_redis: ThrowawayRedis) -> dict[str, str]:
    # Small batches: the drain is still at work when Redis is killed.
    return {
        "REDIS_URL": own_redis.url,
        "CELERY_BROKER_URL": own_redis.url,
        "WEBHOOK_BATCH_SIZE": "5",
    }


def _store_quietly(r: Routed, n: int, tag: str) -> None:
    """Deliveries as the intake stores them, but without kicking (the test kicks)."""
    rows = []
    for i in range(n):
        value = samples.inbound_text(phone_number_id=r.phone_a, msg_id=f"wamid.{tag}{i}")
        body = samples.dumps(samples.envelope((r.waba_a, [samples.change("messages", value)])))
        rows.append(
            WebhookDelivery(
                received_at="2026-01-01T00:00:00Z",
                body=body,
                body_sha256=hashlib.sha256(body).hexdigest(),
            )
        )
    WebhookDelivery.objects.bulk_create(rows)


def _kick(url: str) -> None:
    with celery_app.connection_for_write(url) as conn:
        process_deliveries.apply_async(connection=conn)


def _processed() -> int:
    return WebhookDelivery.objects.filter(status=DeliveryStatus.PROCESSED).count()


def test_the_worker_survives_its_redis_dying_mid_task_and_goes_on_after_it_is_back(
    routed: Routed, own_redis: ThrowawayRedis, celery_worker_process: WorkerProcess
) -> None:
    worker = celery_worker_process
    _store_quietly(routed, 1500, "A")
    _kick(own_redis.url)
    wait_for(lambda: _processed() > 0, timeout=60, interval=0.02, message=worker.log()[-3000:])
    own_redis.kill()  # mid-drain: the task is running, its message unacknowledged
    assert _processed() < 1500, "the drain finished before Redis could be killed"
    time.sleep(1.0)
    own_redis.start()  # empty: without persistence the queue is gone too

    time.sleep(3.0)  # the worker notices, reconnects
    assert worker.process is not None and worker.process.poll() is None, worker.log()[-5000:]
    assert "Unrecoverable error" not in worker.log()

    # It consumes again: a new kick drains what is left and what comes after.
    wait_for(lambda: "Connected to redis" in worker.log().split("Connection to broker lost")[-1])
    _store_quietly(routed, 20, "B")
    _kick(own_redis.url)
    wait_for(lambda: _processed() == 1520, timeout=90, message=worker.log()[-3000:])
    assert worker.process.poll() is None

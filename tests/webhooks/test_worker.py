"""The pipeline with a real Celery worker: nothing lost, nothing doubled, even when killed."""

from __future__ import annotations

import signal

import pytest

from accounts.tenancy import tenant_scope
from inbox.models import Message
from tests.fixtures_celery import WorkerProcess, wait_for
from tests.fixtures_webhooks import Routed
from waba_portal.webhooks import samples, services
from waba_portal.webhooks.models import DeliveryStatus, WebhookChange, WebhookDelivery

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def _store_inbound(r: Routed, n: int) -> list[str]:
    ids = [samples.wamid() for _ in range(n)]
    for i, msg_id in enumerate(ids):
        value = samples.inbound_text(phone_number_id=r.phone_a, msg_id=msg_id, text=f"m{i}")
        services.delivery_store(
            body=samples.dumps(samples.envelope((r.waba_a, [samples.change("messages", value)])))
        )
    return ids


def _processed() -> int:
    return WebhookDelivery.objects.filter(status=DeliveryStatus.PROCESSED).count()


def test_worker_processes_what_the_endpoint_stored(
    routed: Routed, celery_worker_process: WorkerProcess
) -> None:
    ids = _store_inbound(routed, 50)
    wait_for(lambda: _processed() == 50, timeout=60, message=celery_worker_process.log()[-3000:])
    with tenant_scope(routed.world.tenant):
        assert sorted(Message.objects.values_list("wamid", flat=True)) == sorted(ids)


def test_worker_killed_mid_batch_loses_nothing_and_doubles_nothing(
    routed: Routed, celery_worker_process: WorkerProcess, settings
) -> None:  # type: ignore[no-untyped-def]
    total = 600
    celery_worker_process.stop()
    celery_worker_process.env["WEBHOOK_BATCH_SIZE"] = "10"
    ids = _store_inbound(routed, total)  # queued, no worker yet
    celery_worker_process.start()
    wait_for(lambda: _processed() > 0, timeout=60, interval=0.01)
    celery_worker_process.kill(signal.SIGKILL)  # the whole worker, mid-way
    done_at_kill = _processed()
    assert done_at_kill < total, "the worker finished before it could be killed"

    # A new worker, and the sweeper that beat runs every few seconds, pick up everything
    # left over once the dead drain's flag has expired (WEBHOOK_KICK_TTL_SECONDS).
    celery_worker_process.start()
    settings.WEBHOOK_STALE_SECONDS = 0

    def swept_and_done() -> bool:
        services.deliveries_sweep()
        return _processed() == total

    wait_for(swept_and_done, timeout=120, interval=0.5, message=celery_worker_process.log()[-3000:])
    with tenant_scope(routed.world.tenant):
        stored = list(Message.objects.values_list("wamid", flat=True))
    assert len(stored) == len(set(stored)) == total
    assert set(stored) == set(ids)
    assert WebhookChange.objects.count() == total
    assert not WebhookDelivery.objects.exclude(status=DeliveryStatus.PROCESSED).exists()


def test_unroutable_delivery_is_kept_then_routed_on_replay_by_the_worker(
    routed: Routed, celery_worker_process: WorkerProcess
) -> None:
    """A delivery for a number no tenant holds yet is kept, then routed on replay."""
    from tests.factories import claim

    value = samples.inbound_text(phone_number_id="987654", text="before connect")
    services.delivery_store(
        body=samples.dumps(samples.envelope(("123456", [samples.change("messages", value)])))
    )
    wait_for(lambda: WebhookChange.objects.filter(status="unroutable").exists(), timeout=30)
    claim(routed.world.tenant, "123456", "987654")
    services.deliveries_replay(
        delivery_ids=list(WebhookDelivery.objects.values_list("id", flat=True))
    )
    wait_for(lambda: WebhookChange.objects.filter(status="processed").exists(), timeout=30)
    with tenant_scope(routed.world.tenant):
        assert list(Message.objects.values_list("text", flat=True)) == ["before connect"]

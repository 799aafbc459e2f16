"""A burst of quality webhooks on a real Celery worker: one read of the number from Meta."""

from __future__ import annotations

import time

import pytest

from accounts.tenancy import tenant_scope
from senders.models import PhoneNumber
from senders.services import sync
from tests.fixtures_celery import WorkerProcess, wait_for
from tests.fixtures_senders import Connected
from tests.senders.test_convergence import now, phone_reads
from tests.senders.test_events import post, quality
from waba_portal.webhooks.models import WebhookChange

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def celery_worker_env(mock_meta) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {"GRAPH_API_BASE_URL": mock_meta.base_url}


def test_ten_webhooks_in_a_burst_cause_one_read(
    connected_waba: Connected, mock_meta, celery_worker_process: WorkerProcess
) -> None:  # type: ignore[no-untyped-def]
    c = connected_waba
    with tenant_scope(c.tenant):
        PhoneNumber.objects.filter(pk=c.phone.pk).update(quality_rating="RED")
    mock_meta.patch("phone", c.phone_number_id, quality_rating="YELLOW")
    mock_meta.requests(clear=True)

    start = now()
    for i in range(10):  # ten deliveries (ten bodies), each processed by the worker on its own
        post(c, quality(c, "UNFLAGGED"), at=start + i)

    log = celery_worker_process.log
    wait_for(
        lambda: (
            WebhookChange.objects.count() == 10
            and set(WebhookChange.objects.values_list("status", flat=True)) == {"processed"}
        ),
        timeout=30,
        message=log()[-3000:],
    )
    wait_for(lambda: c.reload_phone().quality_rating == "YELLOW", timeout=30, message=log()[-3000:])
    time.sleep(sync.REFRESH_DELAY_SECONDS + 1)  # no second read is on its way
    assert len(phone_reads(mock_meta, c)) == 1, log()[-3000:]
    assert c.reload_phone().refresh_requested_at is None

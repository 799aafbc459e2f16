"""Staff's replay: stored deliveries processed again, every change of them."""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import transaction

from waba_portal.webhooks.models import DeliveryStatus, WebhookChange, WebhookDelivery
from waba_portal.webhooks.services.kick import deliveries_enqueue

logger = logging.getLogger(__name__)


def deliveries_replay(*, delivery_ids: Iterable[int], actor: Any = None) -> int:
    """Queue stored deliveries to be processed again (every change, idempotently).

    The counts are reset in one transaction; the batches are queued after its commit.
    """
    ids = sorted(set(delivery_ids))
    if not ids:
        return 0
    with transaction.atomic():
        count = WebhookDelivery.objects.filter(pk__in=ids).update(
            status=DeliveryStatus.RECEIVED, attempts=0, next_attempt_at=None
        )
        WebhookChange.objects.filter(delivery_id__in=ids).update(attempts=0)
        logger.info("webhook replay of %d deliveries by %s", count, getattr(actor, "email", actor))
        size = settings.WEBHOOK_BATCH_SIZE
        for start in range(0, len(ids), size):
            transaction.on_commit(
                functools.partial(
                    deliveries_enqueue, delivery_ids=ids[start : start + size], force=True
                )
            )
    return count

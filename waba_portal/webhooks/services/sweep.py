"""The sweeper (beat, every 30 s): deliveries that nobody is processing, queued again.

A delivery is left behind when its kick never reached Redis or the broker, when the
worker that held it died or ran out of time, or when its queued retry was lost.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from waba_portal.webhooks.models import DeliveryStatus, WebhookDelivery
from waba_portal.webhooks.services.kick import deliveries_enqueue


def deliveries_sweep() -> int:
    """Queue deliveries that nobody is processing: stale received ones and due retries."""
    now = timezone.now()
    stale = now - timedelta(seconds=settings.WEBHOOK_STALE_SECONDS)
    ids = list(
        WebhookDelivery.objects.filter(
            Q(status=DeliveryStatus.RECEIVED, received_at__lte=stale)
            | Q(status=DeliveryStatus.RETRYING, next_attempt_at__lte=now)
        )
        .order_by("id")
        .values_list("id", flat=True)[: settings.WEBHOOK_BATCH_SIZE * 20]
    )
    size = settings.WEBHOOK_BATCH_SIZE
    for start in range(0, len(ids), size):
        deliveries_enqueue(delivery_ids=ids[start : start + size])
    return len(ids)

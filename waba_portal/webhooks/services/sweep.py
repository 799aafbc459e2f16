"""The sweeper (beat, every ``WEBHOOK_SWEEP_SECONDS``): due deliveries nobody is taking.

A delivery is left behind when its kick never reached Redis or the broker, when the
broker lost the queued task (a Redis restarted without its data), when the worker that
held it died or ran out of time, or when its queued retry was lost. The sweeper kicks a
drain through the processing flag, like a POST does: if a drain holds the flag it is
alive (its heartbeat keeps the flag set) and will come to these deliveries; if none
does, one is queued. A drain that died stops holding the flag within
``WEBHOOK_KICK_TTL_SECONDS``, so ``WEBHOOK_STALE_SECONDS`` (by default that expiry) is
how long a delivery waits before it counts as left behind. Deliveries are taken up a
few seconds after the cause is gone: at most that age plus the sweeper's interval.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from waba_portal.webhooks.models import DeliveryStatus, WebhookDelivery
from waba_portal.webhooks.services.kick import processing_kick


def deliveries_sweep() -> int:
    """Kick a drain if deliveries wait that should have been taken by now: received
    ones older than ``WEBHOOK_STALE_SECONDS`` and retries due that long. Returns how
    many wait (counted up to a few batches)."""
    stale = timezone.now() - timedelta(seconds=settings.WEBHOOK_STALE_SECONDS)
    waiting = len(
        WebhookDelivery.objects.filter(
            Q(status=DeliveryStatus.RECEIVED, received_at__lte=stale)
            | Q(status=DeliveryStatus.RETRYING, next_attempt_at__lte=stale)
        ).values_list("id", flat=True)[: settings.WEBHOOK_BATCH_SIZE * 20]
    )
    if waiting:
        processing_kick()
    return waiting

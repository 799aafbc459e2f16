"""Reads for the staff pages of the webhook pipeline."""

from __future__ import annotations

import json

from django.core.cache import cache
from django.db.models import Count, QuerySet

from waba_portal.graph.webhooks import SignatureResult
from waba_portal.webhooks.models import DeliveryStatus, WebhookChange, WebhookDelivery
from waba_portal.webhooks.services import SIGNATURE_FAILURES_KEY

MAX_REPLAY = 10_000


def delivery_list(*, status: str = "") -> QuerySet[WebhookDelivery]:
    deliveries = WebhookDelivery.objects.defer("body").order_by("-id")
    if status in DeliveryStatus.values:
        deliveries = deliveries.filter(status=status)
    return deliveries.annotate(change_count=Count("changes"))


def delivery_get(*, delivery_id: int) -> WebhookDelivery | None:
    return WebhookDelivery.objects.filter(pk=delivery_id).first()


def delivery_counts() -> dict[str, int]:
    rows = WebhookDelivery.objects.values_list("status").annotate(n=Count("id"))
    return {status: n for status, n in rows}


def change_counts() -> dict[str, int]:
    rows = WebhookChange.objects.values_list("status").annotate(n=Count("id"))
    return {status: n for status, n in rows}


def signature_failures() -> dict[str, int]:
    reasons = [r.value for r in SignatureResult if r is not SignatureResult.VALID]
    return {r: int(cache.get(SIGNATURE_FAILURES_KEY.format(reason=r)) or 0) for r in reasons}


def pretty_body(delivery: WebhookDelivery) -> str:
    raw = bytes(delivery.body)
    try:
        return json.dumps(json.loads(raw), indent=2, ensure_ascii=False)
    except ValueError:
        return raw.decode("utf-8", errors="replace")


def replay_selection(
    *, delivery_id: str = "", from_id: str = "", to_id: str = "", status: str = ""
) -> list[int] | None:
    """The delivery ids a staff replay asks for; None when the request names none."""
    if delivery_id.isdigit():
        return [int(delivery_id)]
    if from_id.isdigit() and to_id.isdigit() and int(from_id) <= int(to_id):
        chosen = WebhookDelivery.objects.filter(pk__gte=int(from_id), pk__lte=int(to_id))
        if status in DeliveryStatus.values:
            chosen = chosen.filter(status=status)
        return list(chosen.order_by("id").values_list("id", flat=True)[:MAX_REPLAY])
    return None

"""Reads of event webhooks, and the access helpers (another workspace's id: NotFound)."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Count, Q, QuerySet

from accounts.tenancy import unscoped
from waba_portal.errors import get_or_not_found
from waba_portal.events.models import (
    DeliveryStatus,
    EventDelivery,
    EventSubscription,
)

OPEN_STATUSES = (DeliveryStatus.PENDING, DeliveryStatus.RETRYING)


def subscription_list() -> QuerySet[EventSubscription]:
    return EventSubscription.objects.annotate(
        failing=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.RETRYING)),
    ).order_by("-id")


def subscription_access(*, subscription_pk: object) -> EventSubscription:
    """A subscription of the current workspace, else NotFound."""
    return get_or_not_found(EventSubscription.objects.all(), pk=subscription_pk)


def delivery_list(*, subscription: EventSubscription) -> QuerySet[EventDelivery]:
    """The subscription's deliveries, newest first, with their event."""
    return (
        EventDelivery.objects.filter(subscription=subscription)
        .select_related("event")
        .prefetch_related("attempt_log")
        .order_by("-id")
    )


def delivery_access(*, subscription: EventSubscription, delivery_pk: object) -> EventDelivery:
    """A delivery of ``subscription``, else NotFound."""
    return get_or_not_found(delivery_list(subscription=subscription), pk=delivery_pk)


def deliveries_have_open(*, subscription: EventSubscription) -> bool:
    return EventDelivery.objects.filter(
        subscription=subscription, status__in=OPEN_STATUSES
    ).exists()


def deliveries_due(*, now: datetime, limit: int) -> list[tuple[int, int]]:
    """(tenant id, delivery id) of every workspace's deliveries whose next try is due."""
    with unscoped():
        return list(
            EventDelivery.objects.filter(status__in=OPEN_STATUSES, next_attempt_at__lte=now)
            .order_by("next_attempt_at")
            .values_list("tenant_id", "pk")[:limit]
        )

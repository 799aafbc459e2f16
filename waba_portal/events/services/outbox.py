"""The event outbox: what happened, stored with the caller's rows, sent after commit.

``event_emit`` runs inside the caller's transaction: the event and one delivery per
enabled subscription that asked for its type are written with the caller's own rows
(both or neither), and each delivery's first attempt is queued once that transaction
commits. An event no subscription wants is not stored. Handlers that emit run at least
once (Meta redelivers), so integrators may see an event twice: ``webhook-id`` (the
event's ``id``) tells them apart.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import Membership, Tenant
from accounts.permissions import require_manager
from accounts.tenancy import tenant_scope
from waba_portal.errors import Conflict
from waba_portal.events import tasks
from waba_portal.events.models import (
    EVENT_TYPES,
    TEST_EVENT_TYPE,
    DeliveryStatus,
    Event,
    EventDelivery,
    EventSubscription,
)

OPEN_STATUSES = (DeliveryStatus.PENDING, DeliveryStatus.RETRYING)


def _jsonable(data: dict[str, Any]) -> dict[str, Any]:
    # Times as ISO 8601 with their offset, decimals and ids as strings: what the body says.
    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))  # type: ignore[no-any-return]


def _queue(tenant: Tenant, deliveries: list[EventDelivery]) -> None:
    for delivery in deliveries:
        tasks.delivery_attempt_task.delay_on_commit(tenant.pk, delivery.pk)


def event_emit(*, tenant: Tenant, event_type: str, data: dict[str, Any]) -> Event | None:
    """Store ``event_type`` with ``data`` for every subscription that wants it; send on commit."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}; add it to EVENT_TYPES")
    with tenant_scope(tenant):
        wanted = [s for s in EventSubscription.objects.filter(enabled=True) if s.wants(event_type)]
        if not wanted:
            return None
        with transaction.atomic():
            event = Event.objects.create(tenant=tenant, type=event_type, data=_jsonable(data))
            deliveries = EventDelivery.objects.bulk_create(
                [EventDelivery(tenant=tenant, event=event, subscription=s) for s in wanted]
            )
            _queue(tenant, deliveries)
    return event


def subscription_send_test(*, actor: Membership, subscription: EventSubscription) -> EventDelivery:
    """Send a ``webhook.test`` event to this one subscription (once, no retries)."""
    require_manager(actor, message=_("Only owners and admins can manage event webhooks."))
    tenant = subscription.tenant
    with transaction.atomic():
        event = Event.objects.create(
            tenant=tenant,
            type=TEST_EVENT_TYPE,
            data={
                "subscription": subscription.pk,
                "message": "A test event from WABA Portal: your endpoint is reachable.",
            },
        )
        delivery = EventDelivery.objects.create(
            tenant=tenant, event=event, subscription=subscription
        )
        _queue(tenant, [delivery])
    return delivery


def delivery_redeliver(*, actor: Membership, delivery: EventDelivery) -> EventDelivery:
    """Send a finished delivery's event to its subscription again, as a new delivery."""
    require_manager(actor, message=_("Only owners and admins can manage event webhooks."))
    if delivery.status in OPEN_STATUSES:
        raise Conflict(_("This event is still being delivered; wait for its last try."))
    subscription = delivery.subscription
    if not subscription.enabled and delivery.event.type != TEST_EVENT_TYPE:
        raise Conflict(_("Switch the subscription on first; then redeliver."))
    with transaction.atomic():
        again = EventDelivery.objects.create(
            tenant=subscription.tenant, event=delivery.event, subscription=subscription
        )
        _queue(subscription.tenant, [again])
    return again

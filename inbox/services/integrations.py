"""Events of the inbox for integrators' webhooks (``waba_portal.events``).

Webhook handlers write in batches: they ask once which event types any enabled
subscription wants (one query) and emit only those, so a workspace without
subscriptions pays one query per batch, whatever its size.
"""

from __future__ import annotations

from typing import Any

from accounts.models import Tenant
from waba_portal import events
from waba_portal.events.models import EventSubscription


def wanted_event_types() -> set[str]:
    """The event types an enabled subscription of the current workspace asks for."""
    wanted: set[str] = set()
    for kinds in EventSubscription.objects.filter(enabled=True).values_list("events", flat=True):
        wanted.update(k for k in kinds or () if isinstance(k, str))
    return wanted


def emit(tenant: Tenant, event_type: str, data: dict[str, Any]) -> None:
    events.emit(tenant, event_type, data)

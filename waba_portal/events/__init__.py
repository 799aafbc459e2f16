"""Event webhooks for integrators: subscriptions, the event outbox and signed deliveries.

Apps emit what happened with ``events.emit(tenant, event_type, data)`` (an alias of
:func:`waba_portal.events.services.outbox.event_emit`), inside their own transaction:
the event and one delivery per matching subscription are written with the caller's
rows, and sending starts after commit. Every delivery follows the Standard Webhooks
specification (``waba_portal/events/signing.py``). This app imports only accounts and
the core; senders, templates_app and inbox may import it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from accounts.models import Tenant
    from waba_portal.events.models import Event


def emit(tenant: Tenant, event_type: str, data: dict[str, Any]) -> Event | None:
    """Record that ``event_type`` happened in ``tenant`` (see ``services.outbox``)."""
    from waba_portal.events.services.outbox import event_emit

    return event_emit(tenant=tenant, event_type=event_type, data=data)

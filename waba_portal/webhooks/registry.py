"""Where apps register what they do with each webhook field.

An app's ``events.py`` declares its handlers, and its AppConfig.ready() imports it::

    @webhook_handler("messages")
    def on_messages(tenant: Tenant, events: list[WebhookEvent]) -> None: ...

A handler receives every event of one tenant and one field from a batch of changes,
inside that tenant's scope and a transaction (savepoint) of its own. It must be
idempotent and order-tolerant: Meta delivers at least once and out of order, and
staff may replay any stored delivery.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from waba_portal.graph.webhooks import WebhookEvent

Handler = Callable[[Any, list[WebhookEvent]], None]
_handlers: dict[str, list[Handler]] = {}


def webhook_handler(*fields: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        for field in fields:
            registered = _handlers.setdefault(field, [])
            if fn not in registered:
                registered.append(fn)
        return fn

    return register


def handlers_for(field: str) -> list[Handler]:
    return list(_handlers.get(field, ()))


def registered_fields() -> list[str]:
    return sorted(_handlers)

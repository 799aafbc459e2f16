"""Where apps plug into the webhook pipeline: a handler per field, and the tenant router.

The pipeline imports no app. Apps register here from their ``AppConfig.ready()``, and
the dispatcher (``waba_portal.webhooks.services.dispatch``) asks only this module.

Handlers. An app's ``events.py`` declares them, and its ``ready()`` imports it::

    @webhook_handler("messages")
    def on_messages(tenant: Tenant, events: list[WebhookEvent]) -> None: ...

A handler receives every event of one tenant and one field from a batch of changes,
inside that tenant's scope and a transaction (savepoint) of its own. It must be
idempotent and order-tolerant: Meta delivers at least once and out of order, and
staff may replay any stored delivery. A field nobody handles is recorded as unhandled.

The tenant router. Exactly one app knows which tenant holds a Meta id; its ``ready()``
calls ``register_tenant_router(fn)``. The dispatcher calls it once per batch, outside
any tenant scope, as ``fn(waba_ids=[...], phone_number_ids=[...])``; it returns two
mappings, WABA id → tenant and phone number id → tenant, and leaves out the ids that
no active tenant holds (their changes are recorded unroutable and are routed when
replayed). It only reads, and reads across tenants itself. A change goes to its phone
number's tenant, else to its WABA's. Registering the same function again is harmless;
a second, different router is refused. Until one is registered, :func:`tenants_for`
raises :class:`TenantRouterMissing`, which stops processing with that error and leaves
the deliveries stored for the sweeper: nothing is dropped as unroutable for want of a
router.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

from django.core.exceptions import ImproperlyConfigured

from waba_portal.graph.webhooks import WebhookEvent

Handler = Callable[[Any, list[WebhookEvent]], None]
_handlers: dict[str, list[Handler]] = {}


class TenantRouter(Protocol):
    def __call__(
        self, *, waba_ids: Iterable[str], phone_number_ids: Iterable[str]
    ) -> tuple[Mapping[str, Any], Mapping[str, Any]]: ...


class TenantRouterMissing(ImproperlyConfigured):
    """No app registered a tenant router: webhooks cannot be routed to anyone."""


_tenant_router: TenantRouter | None = None


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


def register_tenant_router(fn: TenantRouter) -> TenantRouter:
    global _tenant_router
    if _tenant_router is not None and _tenant_router is not fn:
        raise ImproperlyConfigured(
            f"a webhook tenant router is registered already ({_tenant_router!r}); refusing {fn!r}"
        )
    _tenant_router = fn
    return fn


def tenants_for(
    *, waba_ids: Iterable[str], phone_number_ids: Iterable[str]
) -> tuple[Mapping[str, Any], Mapping[str, Any]]:
    """(WABA id → tenant, phone number id → tenant) from the registered router."""
    if _tenant_router is None:
        raise TenantRouterMissing(
            "no webhook tenant router is registered: an app must call "
            "waba_portal.webhooks.registry.register_tenant_router() in its AppConfig.ready()"
        )
    return _tenant_router(waba_ids=waba_ids, phone_number_ids=phone_number_ids)

"""Celery tasks of event webhooks (queue ``events``): each one call into a service."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from accounts.tasking import tenant_task


@tenant_task(name="waba_portal.events.delivery_attempt", queue="events")
def delivery_attempt_task(tenant: Any, delivery_pk: int, reserved: str | None = None) -> str:
    # The retry decision is the service's: it is stored on the delivery (next_attempt_at)
    # and the sweeper queues it when due, so a retry hours away holds no broker message.
    from waba_portal.events.services import delivery

    return delivery.delivery_attempt(delivery_pk=delivery_pk, reserved=reserved)


@shared_task(name="waba_portal.events.deliveries_sweep", queue="events")
def deliveries_sweep_task() -> int:
    from waba_portal.events.services import delivery

    return delivery.deliveries_sweep()


@shared_task(name="waba_portal.events.events_prune", queue="default")
def events_prune_task() -> int:
    from waba_portal.events.services import delivery

    return delivery.events_prune()

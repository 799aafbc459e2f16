"""The registry is how apps plug into the pipeline; without a tenant router nothing is dropped."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from senders.selectors import tenants_for_meta_ids
from tests.fixtures_webhooks import Routed
from waba_portal.webhooks import registry, samples, services
from waba_portal.webhooks.models import DeliveryStatus, WebhookChange, WebhookDelivery

pytestmark = pytest.mark.django_db


def _inbound(r: Routed) -> int:
    payload = samples.envelope(
        (r.waba_a, [samples.change("messages", samples.inbound_text(phone_number_id=r.phone_a))])
    )
    delivery_id, created = services.delivery_store(body=samples.dumps(payload))
    assert created and delivery_id is not None
    return delivery_id


def test_the_senders_app_registers_the_router_at_startup() -> None:
    assert registry._tenant_router is tenants_for_meta_ids
    registry.register_tenant_router(tenants_for_meta_ids)  # again: harmless


def test_a_second_different_router_is_refused() -> None:
    def other(*, waba_ids, phone_number_ids):  # type: ignore[no-untyped-def]
        return {}, {}

    with pytest.raises(ImproperlyConfigured):
        registry.register_tenant_router(other)
    assert registry._tenant_router is tenants_for_meta_ids


def test_without_a_router_processing_stops_and_keeps_every_delivery(
    routed: Routed, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(registry, "_tenant_router", None)
    delivery_id = _inbound(routed)
    with pytest.raises(registry.TenantRouterMissing):
        services.deliveries_process(delivery_ids=[delivery_id])
    delivery = WebhookDelivery.objects.get(pk=delivery_id)
    assert delivery.status == DeliveryStatus.RECEIVED  # for the sweeper, not a dead letter
    assert not WebhookChange.objects.filter(delivery_id=delivery_id).exists()

    monkeypatch.setattr(registry, "_tenant_router", tenants_for_meta_ids)
    services.deliveries_process(delivery_ids=[delivery_id])
    assert WebhookDelivery.objects.get(pk=delivery_id).status == DeliveryStatus.PROCESSED


def test_a_nul_in_a_webhook_is_stored_as_a_replacement_character(routed: Routed) -> None:
    from accounts.tenancy import tenant_scope
    from inbox.models import Message

    payload = samples.envelope(
        (
            routed.waba_a,
            [
                samples.change(
                    "messages",
                    samples.inbound_text(phone_number_id=routed.phone_a, text="a\x00b"),
                )
            ],
        )
    )
    body = samples.dumps(payload)
    assert b"\\u0000" in body  # Meta escapes it; the delivery keeps it byte for byte
    delivery_id, _created = services.delivery_store(body=body)
    services.deliveries_process(delivery_ids=[delivery_id])
    assert WebhookDelivery.objects.get(pk=delivery_id).status == DeliveryStatus.PROCESSED
    assert bytes(WebhookDelivery.objects.get(pk=delivery_id).body) == body
    with tenant_scope(routed.world.tenant):
        assert Message.objects.get().text == "a\ufffdb"

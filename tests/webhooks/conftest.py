from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.conf import settings
from django.test import Client

from accounts.models import Tenant
from accounts.tenancy import tenant_scope
from senders.models import MetaAsset, MetaAssetKind
from tests.conftest import World
from waba_portal.graph.webhooks import sign_payload
from waba_portal.webhooks.samples import dumps


def claim(tenant: Tenant, waba_id: str, *phone_number_ids: str) -> None:
    with tenant_scope(tenant):
        MetaAsset.objects.create(kind=MetaAssetKind.WABA, meta_id=waba_id)
        for pid in phone_number_ids:
            MetaAsset.objects.create(kind=MetaAssetKind.PHONE_NUMBER, meta_id=pid, waba_id=waba_id)


@dataclass
class Routed:
    """Two tenants, each holding one WABA with one number."""

    world: World
    waba_a: str = "111000000000001"
    phone_a: str = "211000000000001"
    waba_b: str = "111000000000002"
    phone_b: str = "211000000000002"


@pytest.fixture
def routed(world: World) -> Routed:
    r = Routed(world)
    claim(world.tenant, r.waba_a, r.phone_a)
    claim(world.other_tenant, r.waba_b, r.phone_b)
    return r


def post_signed(client: Client, payload: dict | bytes, secret: str | None = None, **headers: str):  # type: ignore[no-untyped-def]
    body = payload if isinstance(payload, bytes) else dumps(payload)
    signature = sign_payload(body, secret or settings.META_APP_SECRET)
    return client.post(
        "/webhooks/meta/",
        body,
        content_type="application/json",
        headers={"X-Hub-Signature-256": signature, **headers},
    )

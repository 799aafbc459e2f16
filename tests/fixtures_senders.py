"""Pytest plugin: connected WABAs, seeded in the mock Meta server and recorded in a tenant.

``connect_waba(tenant, numbers=2, ...)`` seeds a business with one WABA and its numbers
in the mock and creates the tenant's rows (claims, account, numbers) as a finished
onboarding leaves them, matching what the mock answers, so a first sync changes
nothing. ``connected_waba`` is one such WABA of ``world.tenant``, with one number.
The Graph client is pointed at the mock.

For rows that need no Meta behind them, use the factories in ``tests.factories``.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.utils import timezone

from accounts.models import Tenant
from accounts.tenancy import tenant_scope
from senders.models import PhoneNumber, WhatsAppAccount
from tests.factories import PhoneNumberFactory, WhatsAppAccountFactory, World, claim

_numbers = itertools.count(random.randrange(10**5) * 100)


@dataclass
class Connected:
    """A WABA connected to ``tenant``: our rows and the mock's ids."""

    tenant: Tenant
    waba: WhatsAppAccount
    phones: list[PhoneNumber]
    waba_id: str
    business_id: str
    token: str
    seed: dict[str, Any] = field(repr=False, default_factory=dict)

    @property
    def phone(self) -> PhoneNumber:
        return self.phones[0]

    @property
    def phone_number_id(self) -> str:
        return self.phones[0].phone_number_id

    def reload(self) -> WhatsAppAccount:
        with tenant_scope(self.tenant):
            return WhatsAppAccount.objects.get(pk=self.waba.pk)

    def reload_phone(self, index: int = 0) -> PhoneNumber:
        with tenant_scope(self.tenant):
            return PhoneNumber.objects.get(pk=self.phones[index].pk)


def new_phone_number() -> str:
    """A fresh E.164 number for the mock (+1 555 …), unique within the test run."""
    return f"+1555{next(_numbers) % 10**7:07d}"


ConnectWaba = Callable[..., Connected]


@pytest.fixture
def connect_waba(mock_meta, settings) -> ConnectWaba:  # type: ignore[no-untyped-def]
    settings.GRAPH_API_BASE_URL = mock_meta.base_url

    def connect(
        tenant: Tenant,
        *,
        numbers: int = 1,
        verification: str = "verified",
        limit: str = "TIER_2K",
        name: str = "Acme WABA",
        **waba_fields: Any,
    ) -> Connected:
        seed = mock_meta.seed(
            businesses=[
                {
                    "name": f"{name} business",
                    "verification_status": verification,
                    "messaging_limit": limit,
                    "wabas": [
                        {
                            "name": name,
                            "phone_numbers": [
                                {"phone": new_phone_number()} for _ in range(numbers)
                            ],
                        }
                    ],
                }
            ]
        )
        business = seed["businesses"][0]
        seeded_waba = business["wabas"][0]
        phone_ids = [p["id"] for p in seeded_waba["phone_numbers"]]
        # The claims whatever status the test asks for: the mock holds the WABA for us.
        claim(tenant, seeded_waba["id"], *phone_ids)
        fields: dict[str, Any] = {
            "waba_id": seeded_waba["id"],
            "business_id": business["id"],
            "name": name,
            "business_verification_status": verification.lower(),
            "messaging_limit": limit,
            "access_token": seed["token"],
            **waba_fields,
        }
        if fields["business_verification_status"] != "verified":
            fields.setdefault("unverified_since", timezone.now())
        waba = WhatsAppAccountFactory(tenant=tenant, claim=False, **fields)
        with tenant_scope(tenant):
            has_primary = PhoneNumber.objects.filter(is_primary=True).exists()
        phones = [
            PhoneNumberFactory(
                waba=waba,
                claim=False,
                phone_number_id=p["id"],
                display_phone_number=p["display_phone_number"],
                verified_name=name,
                messaging_limit=limit,
                is_primary=i == 0 and not has_primary,
            )
            for i, p in enumerate(seeded_waba["phone_numbers"])
        ]
        return Connected(
            tenant=tenant,
            waba=waba,
            phones=phones,
            waba_id=seeded_waba["id"],
            business_id=business["id"],
            token=seed["token"],
            seed=seed,
        )

    return connect


@pytest.fixture
def connected_waba(world: World, connect_waba: ConnectWaba) -> Connected:
    """One connected WABA of ``world.tenant`` with one connected number."""
    return connect_waba(world.tenant)


@pytest.fixture
def other_connected_waba(world: World, connect_waba: ConnectWaba) -> Connected:
    """One connected WABA of ``world.other_tenant`` (the tenant that must stay untouched)."""
    return connect_waba(world.other_tenant, name="Globex WABA")

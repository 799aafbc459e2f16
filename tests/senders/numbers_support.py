"""Numbers on their way to sending, in the mock and in a tenant (for the number tests).

``pending_number(c)`` adds a number to the connected WABA ``c`` at the mock, as "Add
number" leaves it (added at Meta, not verified, not registered), and records it for
the tenant; ``code_of`` reads the code the number "received" from the mock.
"""

from __future__ import annotations

from typing import Any

from django.test import Client
from django.utils import timezone

from accounts.models import Membership
from accounts.tenancy import tenant_scope
from senders.models import (
    ConnectionStatus,
    NumberVerification,
    PhoneNumber,
    PhoneNumberDetails,
)
from tests.factories import PhoneNumberFactory
from tests.fixtures_senders import Connected, new_phone_number
from waba_portal.graph.client import GraphClient


def login(m: Membership) -> Client:
    client = Client()
    client.force_login(m.user)
    return client


def htmx(client: Client, path: str, data: dict[str, Any] | None = None) -> Any:
    return client.post(path, data or {}, headers={"HX-Request": "true"})


def pending_number(c: Connected, *, number_type: str = "mobile", name: str = "") -> PhoneNumber:
    """A number added to ``c``'s WABA at Meta, not verified yet, recorded for the tenant."""
    digits = new_phone_number().lstrip("+")
    client = GraphClient.from_settings(token=c.token)
    try:
        added = client.phone_number_add(
            c.waba_id, cc="1", phone_number=digits[1:], verified_name=name or "Acme Support"
        )
    finally:
        client.close()
    phone = PhoneNumberFactory(
        waba=c.waba,
        phone_number_id=str(added["id"]),
        display_phone_number=f"+1 {digits[1:4]}-{digits[4:7]}-{digits[7:]}",
        verified_name=name or "Acme Support",
        meta_status="PENDING",
        name_status="PENDING_REVIEW",
        code_verification_status="NOT_VERIFIED",
        platform_type="NOT_APPLICABLE",
        quality_rating="UNKNOWN",
        connection_status=ConnectionStatus.PENDING,
        registered_at=None,
    )
    with tenant_scope(c.tenant):
        PhoneNumberDetails.objects.create(
            phone_number=phone,
            e164="+" + digits,
            region="US",
            number_type=number_type,
            added_in_portal=True,
            name_requested_at=timezone.now(),
        )
    return phone


def reload(c: Connected, phone: PhoneNumber) -> PhoneNumber:
    with tenant_scope(c.tenant):
        return PhoneNumber.objects.select_related("waba").get(pk=phone.pk)


def verification(c: Connected, phone: PhoneNumber) -> NumberVerification | None:
    with tenant_scope(c.tenant):
        return NumberVerification.objects.filter(phone_number=phone).first()


def details(c: Connected, phone: PhoneNumber) -> PhoneNumberDetails | None:
    with tenant_scope(c.tenant):
        return PhoneNumberDetails.objects.filter(phone_number=phone).first()


def code_of(mock_meta: Any, phone: PhoneNumber) -> str:
    code = mock_meta.last_code(phone.phone_number_id)
    assert code, "the mock sent no code"
    return str(code)


def wrong_code(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def number_url(phone: PhoneNumber, action: str = "") -> str:
    base = f"/t/acme/settings/whatsapp/numbers/{phone.pk}/"
    return base + (action + "/" if action else "")


def api_url(phone: PhoneNumber, action: str = "") -> str:
    base = f"/api/v1/t/acme/phone-numbers/{phone.pk}/"
    return base + (action + "/" if action else "")


def calls(mock_meta: Any, phone: PhoneNumber, edge: str) -> list[dict[str, Any]]:
    """The mock's log of POSTs to ``/{phone_number_id}/{edge}`` (or the node, edge "")."""
    suffix = f"/{phone.phone_number_id}" + (f"/{edge}" if edge else "")
    return [r for r in mock_meta.requests() if r["method"] == "POST" and r["path"].endswith(suffix)]

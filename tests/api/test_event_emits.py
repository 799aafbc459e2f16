"""The product's changes become integrators' events: numbers, accounts, templates.

Each change is written with its event in one transaction (the outbox); a change that
is no event (a limit, a name still in review) writes none.
"""

from __future__ import annotations

from typing import Any

import pytest

from accounts.tenancy import tenant_scope
from senders.models import HistoryKind
from senders.services import snapshots
from templates_app.services import apply
from tests.factories import (
    PhoneNumberFactory,
    TemplateFactory,
    WhatsAppAccountFactory,
    event_subscription_for,
    make_world,
)
from waba_portal.events.models import Event

pytestmark = pytest.mark.django_db


def _events(tenant: Any) -> list[tuple[str, dict[str, Any]]]:
    with tenant_scope(tenant):
        return [(e.type, e.data) for e in Event.objects.order_by("id")]


def test_a_numbers_quality_change_is_an_event_with_the_number() -> None:
    world = make_world()
    tenant = world.tenant
    event_subscription_for(tenant)
    with tenant_scope(tenant):
        phone = PhoneNumberFactory(waba=WhatsAppAccountFactory(tenant=tenant))
        snapshots.history_record(
            waba=phone.waba,
            phone=phone,
            kind=HistoryKind.QUALITY,
            old="GREEN",
            new="YELLOW",
            source="webhook",
        )
    [(kind, data)] = _events(tenant)
    assert kind == "number.quality_changed"
    assert data["phone_number"]["phone_number_id"] == phone.phone_number_id
    assert (data["old"], data["new"], data["source"]) == ("GREEN", "YELLOW", "webhook")


def test_only_decided_names_and_status_kinds_are_events() -> None:
    world = make_world()
    tenant = world.tenant
    event_subscription_for(tenant)
    with tenant_scope(tenant):
        phone = PhoneNumberFactory(waba=WhatsAppAccountFactory(tenant=tenant))
        waba = phone.waba
        for kind, old, new in [
            (HistoryKind.NAME, "APPROVED", "PENDING_REVIEW"),  # a request: no decision
            (HistoryKind.LIMIT, "TIER_250", "TIER_1K"),  # no event type for the limit
            (HistoryKind.NAME, "PENDING_REVIEW", "DECLINED"),
        ]:
            snapshots.history_record(
                waba=waba, phone=phone, kind=kind, old=old, new=new, source="webhook"
            )
        snapshots.history_record(
            waba=waba, kind=HistoryKind.REVIEW, old="PENDING", new="APPROVED", source="sync"
        )
    assert [k for k, _ in _events(tenant)] == ["number.name_decided", "waba.status_changed"]


def test_no_subscription_no_event_row() -> None:
    world = make_world()
    tenant = world.tenant
    with tenant_scope(tenant):
        phone = PhoneNumberFactory(waba=WhatsAppAccountFactory(tenant=tenant))
        snapshots.history_record(
            waba=phone.waba,
            phone=phone,
            kind=HistoryKind.STATUS,
            old="PENDING",
            new="CONNECTED",
            source="sync",
        )
    assert _events(tenant) == []


def test_a_template_status_change_is_an_event_once() -> None:
    world = make_world()
    tenant = world.tenant
    event_subscription_for(tenant, events=["template.status_changed"])
    with tenant_scope(tenant):
        template = TemplateFactory(waba=WhatsAppAccountFactory(tenant=tenant), status="PENDING")
        for _ in range(2):  # the same decision twice (a redelivered webhook)
            apply.status_apply(
                template=template,
                status="REJECTED",
                source="webhook",
                stamp=None,
                reason="INVALID_FORMAT",
            )
    [(kind, data)] = _events(tenant)
    assert kind == "template.status_changed"
    assert (data["old"], data["new"], data["reason"]) == ("PENDING", "REJECTED", "INVALID_FORMAT")
    assert data["template"]["name"] == template.name


def test_events_stay_in_their_tenant() -> None:
    world = make_world()
    event_subscription_for(world.other_tenant)
    with tenant_scope(world.tenant):
        phone = PhoneNumberFactory(waba=WhatsAppAccountFactory(tenant=world.tenant))
        snapshots.history_record(
            waba=phone.waba,
            phone=phone,
            kind=HistoryKind.QUALITY,
            old="GREEN",
            new="RED",
            source="webhook",
        )
    assert _events(world.other_tenant) == []
    assert _events(world.tenant) == []

"""Inbound webhooks of the mock, in both user shapes, stored by the inbox (the BSUID)."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.tenancy import tenant_scope
from inbox import services
from inbox.models import Direction, Message, MessageStatusEvent
from tests.factories import World
from waba_portal.graph import webhooks as W
from waba_portal.mock_meta.control_client import MockMeta
from waba_portal.mock_meta.state import bsuid

from .conftest import Graph, Receiver

pytestmark = pytest.mark.django_db


def _events(receiver: Receiver, n: int) -> list[W.WebhookEvent]:
    receiver.wait(lambda changes: len(changes) >= n)
    return [e for p in receiver.payloads() for e in W.parse_payload(p)]


def test_inbound_messages_keep_the_senders_business_scoped_user_id(
    world: World, receiver: Receiver, mock_meta: MockMeta, seeded: dict[str, Any]
) -> None:
    pid, business = seeded["phone_number_id"], seeded["business_id"]
    mock_meta.inbound(phone_number_id=pid, text="with a number", **{"from": "16505551234"})
    mock_meta.inbound(
        phone_number_id=pid,
        text="number kept private",
        username="private.person",
        hide_wa_id=True,
        **{"from": "16505552000"},
    )
    events = [e for e in _events(receiver, 2) if isinstance(e, W.InboundMessage)]
    with tenant_scope(world.tenant):
        assert services.messages_store_inbound(events=events) == 2
        rows = {m.text: m for m in Message.objects.filter(direction=Direction.INBOUND)}
    known, private = rows["with a number"], rows["number kept private"]
    assert (known.wa_id, known.bsuid) == ("16505551234", bsuid(business, "16505551234"))
    assert (private.wa_id, private.bsuid) == ("", bsuid(business, "16505552000"))


def test_a_webhook_without_user_ids_stores_none(world: World) -> None:
    payload = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "W",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {"display_phone_number": "1555", "phone_number_id": "P"},
                            "contacts": [{"profile": {"name": "A"}, "wa_id": "16505551234"}],
                            "messages": [
                                {
                                    "from": "16505551234",
                                    "id": "wamid.old",
                                    "timestamp": "1750000000",
                                    "type": "text",
                                    "text": {"body": "older shape"},
                                }
                            ],
                        },
                    }
                ],
            }
        ],
    }
    events = [e for e in W.parse_payload(payload) if isinstance(e, W.InboundMessage)]
    with tenant_scope(world.tenant):
        services.messages_store_inbound(events=events)
        message = Message.objects.get(wamid="wamid.old")
    assert (message.wa_id, message.bsuid) == ("16505551234", None)


def test_statuses_with_contacts_are_stored_as_before(
    world: World, receiver: Receiver, graph: Graph, mock_meta: MockMeta, seeded: dict[str, Any]
) -> None:
    pid = seeded["phone_number_id"]
    sent = graph.post(
        f"{pid}/messages",
        {
            "messaging_product": "whatsapp",
            "to": "16505551234",
            "type": "template",
            "template": {"name": "hello_world", "language": {"code": "en_US"}},
        },
    ).json()["messages"][0]["id"]
    statuses = [e for e in _events(receiver, 3) if isinstance(e, W.MessageStatus)]
    assert all(s.user_id for s in statuses)  # the payload names the recipient's BSUID
    with tenant_scope(world.tenant):
        services.message_statuses_apply(events=statuses)
        message = Message.objects.get(wamid=sent)
        kept = sorted(
            MessageStatusEvent.objects.filter(wamid=sent).values_list("status", flat=True)
        )
    assert (message.status, message.wa_id, message.bsuid) == ("read", "16505551234", None)
    assert kept == ["delivered", "read", "sent"]

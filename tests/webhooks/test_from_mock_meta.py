"""Signed webhooks from the mock Meta server, over real HTTP, into the portal."""

from __future__ import annotations

import pytest

from accounts.tenancy import tenant_scope
from inbox.models import Message
from tests.factories import World, claim
from tests.fixtures_celery import wait_for
from waba_portal.graph.client import GraphClient
from waba_portal.webhooks.models import WebhookChange

pytestmark = pytest.mark.django_db(transaction=True)


def test_inbound_message_and_send_statuses_arrive_from_the_mock(
    live_server, mock_meta, world: World
) -> None:  # type: ignore[no-untyped-def]
    ids = mock_meta.seed()
    claim(world.tenant, ids["waba_id"], ids["phone_number_id"])
    mock_meta.set_webhook_url(live_server.url + "/webhooks/meta/")

    mock_meta.inbound(
        phone_number_id=ids["phone_number_id"],
        **{"from": "4915100000001"},
        name="Erika",
        type="text",
        text={"body": "Hallo, ist mein Paket unterwegs?"},
    )
    wait_for(lambda: _messages(world, "in"), timeout=20, message=str(mock_meta.webhooks()))

    # Within the customer service window a reply goes out; its statuses come back.
    client = GraphClient(token=ids["token"], base_url=mock_meta.base_url, version="v23.0")
    sent = client.send_text(ids["phone_number_id"], "4915100000001", "Ja, morgen.")
    wait_for(
        lambda: [m.status for m in _messages(world, "out")] == ["read"],
        timeout=20,
        message=str([(m.wamid, m.status) for m in _messages(world, "out")]),
    )
    (outbound,) = _messages(world, "out")
    assert outbound.wamid == sent.message_id
    (inbound,) = _messages(world, "in")
    assert (inbound.text, inbound.contact_name) == ("Hallo, ist mein Paket unterwegs?", "Erika")
    assert not WebhookChange.objects.exclude(status="processed").exists()


def _messages(world: World, direction: str) -> list[Message]:
    with tenant_scope(world.tenant):
        return list(Message.objects.filter(direction=direction))

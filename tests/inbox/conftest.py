"""The inbox's fixtures: a connected channel, and customers' messages through the pipeline.

``channel`` is a WABA of ``world.tenant`` seeded in the mock Meta server with one number
(``tests/fixtures_senders.py``). ``customer`` simulates a customer's message on the mock
(``POST /_mock/inbound``) and hands the webhook the mock made to our webhook pipeline
(stored as a delivery, processed by the dispatcher into the inbox's handlers), so each
test sees what a message from Meta ends in. ``deliver`` does the same for a payload a
test builds itself (``waba_portal.webhooks.samples``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.factories import World
from tests.fixtures_senders import Connected, ConnectWaba
from waba_portal.mock_meta.control_client import MockMeta
from waba_portal.webhooks import samples
from waba_portal.webhooks import services as pipeline

Deliver = Callable[[dict[str, Any]], None]


def deliver_payload(payload: dict[str, Any] | bytes) -> None:
    """Store ``payload`` as Meta's delivery and process it, as the worker would."""
    body = payload if isinstance(payload, bytes) else samples.dumps(payload)
    pipeline.delivery_store(body=body)
    pipeline.deliveries_process()


@pytest.fixture
def deliver(db: None) -> Deliver:
    return deliver_payload


@pytest.fixture
def channel(world: World, connect_waba: ConnectWaba) -> Connected:
    return connect_waba(world.tenant)


class Customer:
    """Customers' messages simulated on the mock, taken through our pipeline."""

    def __init__(self, mock: MockMeta, channel: Connected) -> None:
        self.mock = mock
        self.channel = channel
        self.seen = len(mock.webhooks())

    def payloads(self, *, at_least: int = 1, timeout: float = 5.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while True:
            log = self.mock.webhooks(wait=0.3)
            fresh = [e["body"] for e in log[self.seen :] if e.get("body")]
            if len(fresh) >= at_least or time.monotonic() > deadline:
                self.seen = len(log)
                return fresh
            time.sleep(0.05)

    def says(self, *, deliver: bool = True, **spec: Any) -> dict[str, Any]:
        """One message from a customer (``from``, ``type`` and its payload, ...)."""
        spec.setdefault("phone_number_id", self.channel.phone_number_id)
        sent = self.mock.inbound(**spec)
        if deliver:
            for body in self.payloads():
                deliver_payload(body)
        return sent


@pytest.fixture
def customer(mock_meta: MockMeta, channel: Connected) -> Customer:
    return Customer(mock_meta, channel)

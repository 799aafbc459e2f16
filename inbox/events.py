"""Webhook handlers of the inbox, registered with the webhook pipeline."""

from __future__ import annotations

from accounts.models import Tenant
from inbox.services import inbound
from waba_portal.graph import webhooks as wh
from waba_portal.webhooks.registry import webhook_handler


@webhook_handler("messages")
def on_messages(tenant: Tenant, events: list[wh.WebhookEvent]) -> None:
    inbound.messages_store_inbound(events=[e for e in events if isinstance(e, wh.InboundMessage)])
    inbound.message_statuses_apply(events=[e for e in events if isinstance(e, wh.MessageStatus)])

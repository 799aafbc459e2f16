"""Webhook handlers of senders: what Meta says about accounts and numbers, as it happens.

Each handler picks its field's events and hands them to
:mod:`senders.services.account_events`, which says how they are applied.
"""

from __future__ import annotations

from accounts.models import Tenant
from senders.services import account_events
from waba_portal.graph import webhooks as wh
from waba_portal.webhooks.registry import webhook_handler


@webhook_handler("account_update")
def on_account_update(tenant: Tenant, events: list[wh.WebhookEvent]) -> None:
    account_events.account_updates_apply(
        events=[e for e in events if isinstance(e, wh.AccountUpdate)]
    )


@webhook_handler("account_review_update")
def on_account_review_update(tenant: Tenant, events: list[wh.WebhookEvent]) -> None:
    account_events.account_reviews_apply(
        events=[e for e in events if isinstance(e, wh.AccountReviewUpdate)]
    )


@webhook_handler("business_capability_update")
def on_business_capability_update(tenant: Tenant, events: list[wh.WebhookEvent]) -> None:
    account_events.capability_updates_apply(
        events=[e for e in events if isinstance(e, wh.BusinessCapabilityUpdate)]
    )


@webhook_handler("phone_number_quality_update")
def on_phone_number_quality_update(tenant: Tenant, events: list[wh.WebhookEvent]) -> None:
    account_events.phone_quality_updates_apply(
        events=[e for e in events if isinstance(e, wh.PhoneNumberQualityUpdate)]
    )


@webhook_handler("phone_number_name_update")
def on_phone_number_name_update(tenant: Tenant, events: list[wh.WebhookEvent]) -> None:
    account_events.phone_name_updates_apply(
        events=[e for e in events if isinstance(e, wh.PhoneNumberNameUpdate)]
    )

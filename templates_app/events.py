"""Webhook handlers of templates: what Meta says about a template's review and life.

Each handler picks its field's events and hands them to
:mod:`templates_app.services.events`, which says how they are applied.
"""

from __future__ import annotations

from accounts.models import Tenant
from templates_app.services import events as template_events
from waba_portal.graph import webhooks as wh
from waba_portal.webhooks.registry import webhook_handler


@webhook_handler("message_template_status_update")
def on_template_status_update(tenant: Tenant, events: list[wh.WebhookEvent]) -> None:
    template_events.template_status_updates_apply(
        events=[e for e in events if isinstance(e, wh.TemplateStatusUpdate)]
    )


@webhook_handler("template_category_update")
def on_template_category_update(tenant: Tenant, events: list[wh.WebhookEvent]) -> None:
    template_events.template_category_updates_apply(
        events=[e for e in events if isinstance(e, wh.TemplateCategoryUpdate)]
    )


@webhook_handler("message_template_quality_update")
def on_template_quality_update(tenant: Tenant, events: list[wh.WebhookEvent]) -> None:
    template_events.template_quality_updates_apply(
        events=[e for e in events if isinstance(e, wh.TemplateQualityUpdate)]
    )

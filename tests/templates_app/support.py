"""Helpers of the templates tests: valid templates, reading rows, webhook payloads."""

from __future__ import annotations

import time
from typing import Any

from django.test import Client

from accounts.models import Membership, Notification
from accounts.tenancy import tenant_scope
from templates_app.models import Template, TemplateStatusChange
from templates_app.services import lifecycle
from tests.fixtures_senders import Connected
from tests.fixtures_webhooks import post_signed

BODY = "Hello {{1}}, your order {{2}} is on its way."
EXAMPLE = [["Ann", "A-1001"]]


def body(text: str = BODY, example: list[list[str]] | None = None) -> list[dict[str, Any]]:
    return [{"type": "BODY", "text": text, "example": {"body_text": example or EXAMPLE}}]


def submit(
    c: Connected,
    actor: Membership,
    name: str,
    *,
    language: str = "en_US",
    category: str = "UTILITY",
    components: list[dict[str, Any]] | None = None,
) -> Template:
    with tenant_scope(c.tenant):
        return lifecycle.template_submit(
            actor=actor,
            waba=c.reload(),
            name=name,
            language=language,
            category=category,
            components=components or body(),
        )


def reload(template: Template) -> Template:
    with tenant_scope(template.tenant):
        return Template.objects.get(pk=template.pk)


def history(template: Template) -> list[TemplateStatusChange]:
    with tenant_scope(template.tenant):
        return list(TemplateStatusChange.objects.filter(template=template).order_by("id"))


def notifications(c: Connected) -> list[Notification]:
    with tenant_scope(c.tenant):
        return list(Notification.objects.order_by("id"))


def change(field: str, **value: Any) -> dict[str, Any]:
    return {"field": field, "value": value}


def post_webhook(waba_id: str, *changes: dict[str, Any], at: int | None = None) -> None:
    payload = {
        "object": "whatsapp_business_account",
        "entry": [{"id": waba_id, "time": at or int(time.time()), "changes": list(changes)}],
    }
    response = post_signed(Client(), payload)
    assert response.status_code == 200, response.content


def status_event(template: Template, event: str, **extra: Any) -> dict[str, Any]:
    return change(
        "message_template_status_update",
        event=event,
        message_template_id=int(template.meta_template_id),
        message_template_name=template.name,
        message_template_language=template.language,
        reason=extra.pop("reason", "NONE"),
        message_template_category=template.category,
        **extra,
    )

"""Webhook events leaving the state: which URL each goes to, and the shared metadata."""

from __future__ import annotations

from typing import Any

from ..models import PhoneNumber, Waba
from .base import StateBase, WebhookEvent


class EventsMixin(StateBase):
    def _callback_url(
        self, waba: Waba | None, *, app_level: bool = False
    ) -> tuple[str | None, str | None]:
        if waba is not None and not app_level:
            sub = waba.subscriptions.get(self.config.app_id)
            if sub is None and self.config.require_subscription:
                return None, "app not subscribed to WABA"
            if sub is not None and sub.override_callback_uri:
                return sub.override_callback_uri, None
        if not self.config.webhook_url:
            return None, "no webhook url configured"
        return self.config.webhook_url, None

    def _emit(
        self,
        field_name: str,
        value: dict[str, Any],
        *,
        waba: Waba | None,
        entry_id: str | None = None,
        app_level: bool = False,
        phone: PhoneNumber | None = None,
    ) -> None:
        url, skip = self._callback_url(waba, app_level=app_level)
        if phone is not None and phone.webhook_override and not app_level and skip is None:
            url = phone.webhook_override.get("override_callback_uri") or url
        event = WebhookEvent(
            field=field_name,
            value=value,
            entry_id=entry_id or (waba.id if waba else self.config.app_id),
            url=url,
            skip_reason=skip,
        )
        self.deliver(event)

    def _metadata(self, phone: PhoneNumber) -> dict[str, str]:
        return {"display_phone_number": phone.e164_digits, "phone_number_id": phone.id}

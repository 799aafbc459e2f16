"""Webhook events leaving the state: which URL each goes to, and the shared metadata.

Routing (DOC …/whatsapp/webhooks/override, NOTES §10): a field that follows overrides goes
to the phone number's override, else the WABA's, else the app's callback URL; every other
field — template webhooks and account-level webhooks among them — always goes to the app's
callback URL. An override is only set once its URL answered Meta's verification GET (see
``webhooks.verify_callback``), which the Graph app sends outside the state lock.
"""

from __future__ import annotations

import re
from typing import Any

from ..errors import GraphError, invalid_param
from ..models import PhoneNumber, Waba
from .base import StateBase, WebhookEvent

# The fields that follow a callback override; the group_* fields do too.
OVERRIDE_FIELDS = frozenset(
    {
        "messages",
        "message_echoes",
        "calls",
        "consumer_profile",
        "messaging_handovers",
        "smb_message_echoes",
        "smb_app_state_sync",
        "history",
        "account_settings_update",
    }
)
OVERRIDE_URI_MAX = 200


def follows_override(field_name: str) -> bool:
    """Whether webhooks of ``field_name`` go to a callback override when one is set."""
    return field_name in OVERRIDE_FIELDS or field_name.startswith("group_")


def override_params(uri: Any, verify_token: Any) -> tuple[str, str] | None:
    """Check an override request: the (URL, verify token) to verify and set, or
    ``None`` when it asks for no override (an empty URL removes one)."""
    if uri is None or uri == "":
        return None
    uri = str(uri)
    if len(uri) > OVERRIDE_URI_MAX:
        raise invalid_param(f"override_callback_uri must be at most {OVERRIDE_URI_MAX} characters")
    if not re.match(r"^https?://", uri):
        raise GraphError(100, "Webhook callback URL is not reachable or invalid", http_status=422)
    if not verify_token:
        raise invalid_param("verify_token is required with override_callback_uri")
    return uri, str(verify_token)


class EventsMixin(StateBase):
    def _callback_url(
        self,
        field_name: str,
        waba: Waba | None,
        *,
        app_level: bool = False,
        phone: PhoneNumber | None = None,
    ) -> tuple[str | None, str | None]:
        if waba is not None and not app_level:
            sub = waba.subscriptions.get(self.config.app_id)
            if sub is None and self.config.require_subscription:
                return None, "app not subscribed to WABA"
            if follows_override(field_name):
                if phone is not None and phone.webhook_override:
                    return phone.webhook_override["override_callback_uri"], None
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
        url, skip = self._callback_url(field_name, waba, app_level=app_level, phone=phone)
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

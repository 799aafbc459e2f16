"""Sending messages (text, media, template, interactive) and marking them read."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import GraphInvalidRequestError
from ..transport import GraphTransport, drop_none


@dataclass(frozen=True)
class SendResult:
    """The answer to a message send: Meta's message id (``wamid…``) and the recipient."""

    message_id: str
    wa_id: str | None
    input: str | None
    message_status: str | None
    raw: dict[str, Any] = field(repr=False)

    @classmethod
    def from_response(cls, body: Mapping[str, Any]) -> SendResult:
        messages = body.get("messages") or []
        contacts = body.get("contacts") or []
        if not messages or not isinstance(messages[0], dict) or not messages[0].get("id"):
            raise GraphInvalidRequestError(
                "Send response has no message id", raw=dict(body), http_status=200
            )
        first_contact = contacts[0] if contacts and isinstance(contacts[0], dict) else {}
        return cls(
            message_id=str(messages[0]["id"]),
            wa_id=first_contact.get("wa_id"),
            input=first_contact.get("input"),
            message_status=messages[0].get("message_status"),
            raw=dict(body),
        )


class MessagesMixin(GraphTransport):
    """Calls on ``/{phone}/messages``. Sends are never retried once they may have left."""

    def send_message(
        self, phone_number_id: str, payload: Mapping[str, Any], *, token: str | None = None
    ) -> SendResult:
        """Send any message payload (``messaging_product`` is added). Never retried once
        the request may have reached Meta: a lost answer raises GraphOutcomeUnknown."""
        body = {"messaging_product": "whatsapp", **payload}
        if not body.get("to") or not body.get("type"):
            raise ValueError("A message payload needs 'to' and 'type'")
        response = self.post(
            f"{phone_number_id}/messages", json_body=body, token=token, idempotent=False
        )
        return SendResult.from_response(response)

    @staticmethod
    def _envelope(
        to: str,
        type_: str,
        content: Mapping[str, Any],
        reply_to: str | None,
        biz_opaque_callback_data: str | None,
    ) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": to,
            "type": type_,
            type_: dict(content),
        }
        if reply_to:
            payload["context"] = {"message_id": reply_to}
        if biz_opaque_callback_data:
            payload["biz_opaque_callback_data"] = biz_opaque_callback_data
        return payload

    def send_text(
        self,
        phone_number_id: str,
        to: str,
        body: str,
        *,
        preview_url: bool = False,
        reply_to: str | None = None,
        biz_opaque_callback_data: str | None = None,
        token: str | None = None,
    ) -> SendResult:
        payload = self._envelope(
            to,
            "text",
            {"body": body, "preview_url": preview_url},
            reply_to,
            biz_opaque_callback_data,
        )
        return self.send_message(phone_number_id, payload, token=token)

    def send_media(
        self,
        phone_number_id: str,
        to: str,
        media_type: str,
        *,
        media_id: str | None = None,
        link: str | None = None,
        caption: str | None = None,
        filename: str | None = None,
        reply_to: str | None = None,
        biz_opaque_callback_data: str | None = None,
        token: str | None = None,
    ) -> SendResult:
        """Send an image, video, audio, document or sticker by uploaded id or by link."""
        if media_type not in ("image", "video", "audio", "document", "sticker"):
            raise ValueError(f"Unsupported media type {media_type!r}")
        if bool(media_id) == bool(link):
            raise ValueError("Give exactly one of media_id or link")
        content = drop_none(
            {"id": media_id, "link": link, "caption": caption, "filename": filename}
        )
        payload = self._envelope(to, media_type, content, reply_to, biz_opaque_callback_data)
        return self.send_message(phone_number_id, payload, token=token)

    def send_template(
        self,
        phone_number_id: str,
        to: str,
        name: str,
        language: str,
        *,
        components: list[dict[str, Any]] | None = None,
        language_policy: str | None = "deterministic",
        biz_opaque_callback_data: str | None = None,
        token: str | None = None,
    ) -> SendResult:
        lang: dict[str, Any] = {"code": language}
        if language_policy:
            lang["policy"] = language_policy
        content: dict[str, Any] = {"name": name, "language": lang}
        if components:
            content["components"] = components
        payload = self._envelope(to, "template", content, None, biz_opaque_callback_data)
        return self.send_message(phone_number_id, payload, token=token)

    def send_interactive(
        self,
        phone_number_id: str,
        to: str,
        interactive: Mapping[str, Any],
        *,
        reply_to: str | None = None,
        biz_opaque_callback_data: str | None = None,
        token: str | None = None,
    ) -> SendResult:
        """Send an interactive message (``button``, ``list``, ``cta_url``, ``flow`` …)."""
        payload = self._envelope(to, "interactive", interactive, reply_to, biz_opaque_callback_data)
        return self.send_message(phone_number_id, payload, token=token)

    def mark_read(
        self,
        phone_number_id: str,
        message_id: str,
        *,
        typing_indicator: bool = False,
        token: str | None = None,
    ) -> dict[str, Any]:
        """Mark an inbound message read (optionally show the typing indicator)."""
        body: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "status": "read",
            "message_id": message_id,
        }
        if typing_indicator:
            body["typing_indicator"] = {"type": "text"}
        return self._ok(
            self.post(f"{phone_number_id}/messages", json_body=body, token=token, idempotent=True)
        )

"""Messages from customers, injected through the control API and sent on as webhooks.

``POST /_mock/inbound`` takes ``phone_number_id`` (or ``to``), ``from`` (the user's number),
``name``, ``type`` and the type's payload, ``reply_to``/``context``, ``referral``, and for the
simulated user (see ``users``): ``username``, ``hide_wa_id`` (with a username: no ``wa_id``
and no ``from``), ``parent_user_id`` (true derives one) and ``user_id`` (a BSUID to use).
A ``system`` message without a payload announces that the user changed number to
``new_wa_id``; it carries the new number and the new ``user_id``.
"""

from __future__ import annotations

import base64
import os
from typing import Any

from ..models import Message, WaUser
from .base import locked
from .events import EventsMixin
from .media import MediaMixin
from .messages import MEDIA_TYPES
from .users import UsersMixin
from .values import digits

INBOUND_TYPES = (
    *MEDIA_TYPES,
    "text",
    "location",
    "contacts",
    "interactive",
    "button",
    "reaction",
    "order",
    "system",
    "unsupported",
)
DEFAULT_MIME = {
    "image": "image/jpeg",
    "audio": "audio/ogg",
    "video": "video/mp4",
    "document": "application/pdf",
    "sticker": "image/webp",
}


class InboundMixin(MediaMixin, UsersMixin, EventsMixin):
    @locked
    def inbound(self, spec: dict[str, Any]) -> dict[str, Any]:
        phone_id = spec.get("phone_number_id") or spec.get("to")
        phone = self.phones.get(str(phone_id)) if phone_id else None
        if phone is None and spec.get("to"):
            phone = next(
                (p for p in self.phones.values() if p.e164_digits == digits(spec["to"])), None
            )
        if phone is None:
            raise ValueError("inbound needs an existing phone_number_id (or to=<number>)")
        wa_id = digits(spec.get("from") or spec.get("wa_id") or "16505551234")
        waba = self.wabas[phone.waba_id]
        user = self._wa_user(waba.business_id, wa_id)
        self._apply_user_spec(user, spec)
        user.name = str(spec.get("name") or spec.get("profile_name") or user.name or "Customer")
        mtype = str(spec.get("type") or ("text" if "text" in spec or "body" in spec else ""))
        if mtype not in INBOUND_TYPES:
            raise ValueError(f"type must be one of {INBOUND_TYPES}")
        ts = float(spec.get("timestamp") or self._now())
        mid = spec.get("message_id") or self._wamid(wa_id)
        message: dict[str, Any] = {
            "from": wa_id,
            "id": mid,
            "timestamp": str(int(ts)),
            "type": mtype,
        }
        if user.hide_wa_id and mtype != "system":
            del message["from"]  # the user keeps the number from businesses
        body = spec.get(mtype, spec.get("body"))
        if mtype == "text":
            message["text"] = body if isinstance(body, dict) else {"body": str(body or "")}
        elif mtype in MEDIA_TYPES:
            given = body if isinstance(body, dict) else {}
            content = given.pop("content", None)
            mime = given.get("mime_type") or DEFAULT_MIME[mtype]
            data = (
                base64.b64decode(content)
                if content
                else (f"mock {mtype} from {wa_id} ".encode() + os.urandom(16))
            )
            media = self._store_media(phone.id, mime, data, given.get("filename"))
            obj: dict[str, Any] = {"id": media.id, "mime_type": mime, "sha256": media.sha256}
            if mtype == "audio":
                obj["voice"] = bool(given.get("voice", False))
            if mtype == "sticker":
                obj["animated"] = bool(given.get("animated", False))
            if mtype == "document":
                obj["filename"] = given.get("filename") or "document.pdf"
            if given.get("caption") and mtype in ("image", "video", "document"):
                obj["caption"] = given["caption"]
            message[mtype] = obj
        elif mtype == "location":
            message["location"] = body or {
                "latitude": 52.52,
                "longitude": 13.405,
                "name": "Brandenburg Gate",
                "address": "Berlin",
            }
        elif mtype == "contacts":
            message["contacts"] = body or [
                {
                    "name": {"formatted_name": "Jane Doe", "first_name": "Jane"},
                    "phones": [{"phone": "+16505550000", "wa_id": "16505550000", "type": "HOME"}],
                }
            ]
        elif mtype == "interactive":
            inter = body or {
                "type": "button_reply",
                "button_reply": {"id": "btn-1", "title": "Yes"},
            }
            message["interactive"] = inter
        elif mtype == "button":
            message["button"] = body or {"payload": "Yes", "text": "Yes"}
        elif mtype == "reaction":
            message["reaction"] = body or {
                "message_id": spec.get("reply_to", ""),
                "emoji": "\U0001f44d",
            }
        elif mtype == "order":
            message["order"] = body or {
                "catalog_id": "1",
                "text": "",
                "product_items": [
                    {
                        "product_retailer_id": "sku-1",
                        "quantity": 1,
                        "item_price": 9.99,
                        "currency": "USD",
                    }
                ],
            }
        elif mtype == "system":
            message["system"] = body or self._number_change(user, spec)
        elif mtype == "unsupported":
            message["errors"] = [
                {
                    "code": 131051,
                    "title": "Message type unknown",
                    "message": "Message type unknown",
                    "error_data": {"details": "Message type is currently not supported."},
                    "href": "https://developers.facebook.com/docs/"
                    "whatsapp/cloud-api/support/error-codes/",
                }
            ]
        if spec.get("context"):
            message["context"] = spec["context"]
        elif spec.get("reply_to") and mtype != "reaction":
            message["context"] = {"from": phone.e164_digits, "id": spec["reply_to"]}
        if spec.get("referral"):
            message["referral"] = spec["referral"]
        value: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "metadata": self._metadata(phone),
        }
        if mtype != "system":  # a system message has no contacts (NOTES §5)
            value["contacts"] = [self._contact(user, phone)]
        value["messages"] = [message]
        self.windows[(phone.id, wa_id)] = max(ts, self.windows.get((phone.id, wa_id), 0))
        self.messages[mid] = Message(
            id=mid,
            phone_number_id=phone.id,
            direction="inbound",
            wa_id=wa_id,
            type=mtype,
            payload=message,
            status="received",
            timestamp=ts,
        )
        self.message_order.append(mid)
        self._emit("messages", value, waba=waba, phone=phone)
        return {
            "message_id": mid,
            "wa_id": wa_id,
            "user_id": user.user_id,
            "phone_number_id": phone.id,
            "waba_id": phone.waba_id,
            "message": message,
        }

    def _number_change(self, user: WaUser, spec: dict[str, Any]) -> dict[str, Any]:
        """The ``system`` object announcing that ``user`` changed number."""
        new_wa_id = digits(spec.get("new_wa_id")) or _another_number(user.wa_id)
        if new_wa_id == user.wa_id:
            raise ValueError("new_wa_id must differ from the user's number")
        moved = self._user_moved(user, new_wa_id)
        system: dict[str, Any] = {
            "body": f"User {user.name} changed from {user.wa_id} to {new_wa_id}",
            "wa_id": new_wa_id,
            "type": "user_changed_number",
            "user_id": moved.user_id,
        }
        if moved.parent_user_id:
            system["parent_user_id"] = moved.parent_user_id
        return system


def _another_number(wa_id: str) -> str:
    last = int(wa_id[-1]) if wa_id[-1:].isdigit() else 0
    return wa_id[:-1] + str((last + 1) % 10)

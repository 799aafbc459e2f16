"""How the thread shows a message: its kind, its parts in words, its tick.

``{% message_parts message as parts %}`` reads Meta's payload of each message type
(NOTES §5) into plain values for the template; every value is text that the template
escapes (a customer's HTML or script is shown as written, never run). A type the inbox
does not know is shown as unsupported, with what Meta said, never dropped.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from django import template
from django.utils.translation import gettext as _

from inbox import failures, phones
from inbox.models import Message, MessageStatus, MessageType

register = template.Library()

MEDIA_KINDS = ("image", "audio", "video", "document", "sticker")


def _text(value: Any, limit: int = 4096) -> str:
    return str(value)[:limit] if isinstance(value, str | int | float) else ""


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _location(content: dict[str, Any]) -> dict[str, Any]:
    lat, lon = content.get("latitude"), content.get("longitude")
    link = ""
    if isinstance(lat, int | float) and isinstance(lon, int | float):
        query = urlencode({"mlat": lat, "mlon": lon})
        link = f"https://www.openstreetmap.org/?{query}#map=16/{lat}/{lon}"
    return {
        "name": _text(content.get("name"), 255),
        "address": _text(content.get("address"), 500),
        "coordinates": f"{lat}, {lon}" if link else "",
        "link": link,
    }


def _cards(content: Any) -> list[dict[str, Any]]:
    cards = []
    for card in content if isinstance(content, list) else []:
        card = _dict(card)
        name = _dict(card.get("name"))
        phones = [_text(_dict(p).get("phone"), 40) for p in card.get("phones") or [] if _dict(p)]
        emails = [_text(_dict(e).get("email"), 255) for e in card.get("emails") or [] if _dict(e)]
        cards.append(
            {
                "name": _text(name.get("formatted_name") or name.get("first_name"), 255),
                "phones": [p for p in phones if p],
                "emails": [e for e in emails if e],
                "org": _text(_dict(card.get("org")).get("company"), 255),
            }
        )
    return cards


def _order(content: dict[str, Any]) -> dict[str, Any]:
    items = []
    for item in content.get("product_items") or []:
        item = _dict(item)
        items.append(
            {
                "product": _text(item.get("product_retailer_id"), 100),
                "quantity": _text(item.get("quantity"), 20),
                "price": _text(item.get("item_price"), 20),
                "currency": _text(item.get("currency"), 3),
            }
        )
    return {"items": items, "text": _text(content.get("text"))}


def _interactive(content: dict[str, Any]) -> dict[str, Any]:
    kind = _text(content.get("type"), 32)
    reply = _dict(content.get(kind))
    answers: list[tuple[str, str]] = []
    if kind == "nfm_reply":
        raw = reply.get("response_json")
        try:
            decoded = json.loads(raw) if isinstance(raw, str) else raw
        except ValueError:
            decoded = None
        for key, value in _dict(decoded).items():
            if key != "flow_token":
                answers.append((_text(key, 100), _text(value, 500)))
    return {
        "kind": kind,
        "title": _text(reply.get("title") or reply.get("body"), 500),
        "description": _text(reply.get("description"), 500),
        "answers": answers,
    }


def _unsupported(payload: dict[str, Any]) -> str:
    for error in payload.get("errors") or []:
        error = _dict(error)
        details = _text(_dict(error.get("error_data")).get("details"), 500)
        title = _text(error.get("title") or error.get("message"), 255)
        if details or title:
            return f"{title} ({details})" if title and details else title or details
    return ""


@register.simple_tag
def message_parts(message: Message) -> dict[str, Any]:
    """The parts of ``message`` the thread shows, by kind."""
    payload = _dict(message.payload)
    content = payload.get(message.type)
    body = _dict(content)
    parts: dict[str, Any] = {
        "kind": message.type,
        "label": str(MessageType(message.type).label)
        if message.type in MessageType.values
        else _("Unsupported message"),
        "text": message.text,
        "forwarded": bool(_dict(payload.get("context")).get("forwarded")),
        "referral": {},
    }
    referral = _dict(payload.get("referral"))
    if referral:
        parts["referral"] = {
            "headline": _text(referral.get("headline"), 255),
            "body": _text(referral.get("body"), 500),
            "url": _text(referral.get("source_url"), 500)
            if _text(referral.get("source_url"), 500).startswith("https://")
            else "",
        }
    if message.type in MEDIA_KINDS:
        parts["kind"] = "media"
        parts["media_kind"] = message.type
        parts["filename"] = _text(body.get("filename"), 255)
        parts["voice"] = bool(body.get("voice"))
    elif message.type == "location":
        parts["location"] = _location(body)
    elif message.type == "contacts":
        parts["cards"] = _cards(content)
    elif message.type == "interactive":
        parts["interactive"] = _interactive(body)
    elif message.type == "button":
        parts["text"] = _text(body.get("text")) or message.text
    elif message.type == "order":
        parts["order"] = _order(body)
    elif message.type == "system":
        parts["text"] = _text(body.get("body")) or message.text
    elif message.type == "request_welcome":
        parts["kind"] = "welcome"
    elif message.type == "template":
        parts["kind"] = "text"
    elif message.type not in ("text", "reaction"):
        parts["kind"] = "unsupported"
        parts["reason"] = _unsupported(payload)
    return parts


TICKS = {
    MessageStatus.QUEUED: ("🕓", "tick-queued"),
    MessageStatus.SENT: ("✓", "tick-sent"),
    MessageStatus.DELIVERED: ("✓✓", "tick-delivered"),
    MessageStatus.READ: ("✓✓", "tick-read"),
    MessageStatus.PLAYED: ("✓✓", "tick-read"),
    MessageStatus.FAILED: ("!", "tick-failed"),
    MessageStatus.DELETED: ("–", "tick-sent"),
}


@register.simple_tag
def tick(message: Message) -> dict[str, str]:
    """The tick of an outbound message: its sign, its class and its status in words."""
    sign, css = TICKS.get(message.status, ("", ""))  # type: ignore[call-overload]
    words = (
        str(MessageStatus(message.status).label) if message.status in MessageStatus.values else ""
    )
    return {"sign": sign, "css": css, "words": words}


@register.filter
def filesize(value: int | None) -> str:
    if not value:
        return ""
    size = float(value)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return ""


@register.filter(name="media_problem")
def media_problem_words(problem: str) -> str:
    """Why a media file could not be fetched, in words."""
    return failures.media_problem(problem)


@register.filter
def phone_international(value: str | None) -> str:
    """An E.164 number as people write it ("+49 1511 2345678"); anything else as it is."""
    return phones.international(value)

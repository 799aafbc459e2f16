"""Builders of realistic Meta webhook payloads (shapes of NOTES.md §5).

Used by the tests and the benchmarks to produce deliveries the way Meta sends them:
one envelope, any number of entries, changes, messages and statuses.
"""

from __future__ import annotations

import base64
import itertools
import json
import time
from typing import Any

_counter = itertools.count(1)


def wamid(seed: int | None = None) -> str:
    n = next(_counter) if seed is None else seed
    return "wamid." + base64.b64encode(f"HBgLMTU1NTAxMjM0NTYVAgASGBQz{n:012d}".encode()).decode()


def metadata(phone_number_id: str, display: str = "15550001234") -> dict[str, str]:
    return {"display_phone_number": display, "phone_number_id": phone_number_id}


def inbound_text(
    *,
    phone_number_id: str,
    from_: str = "4915112345678",
    text: str = "Hello",
    msg_id: str = "",
    name: str = "Kunde",
    ts: int | None = None,
) -> dict[str, Any]:
    """The ``value`` of a ``messages`` change with one inbound text message."""
    return {
        "messaging_product": "whatsapp",
        "metadata": metadata(phone_number_id),
        "contacts": [{"profile": {"name": name}, "wa_id": from_}],
        "messages": [
            {
                "from": from_,
                "id": msg_id or wamid(),
                "timestamp": str(ts or int(time.time())),
                "type": "text",
                "text": {"body": text},
            }
        ],
    }


def status(
    *,
    phone_number_id: str,
    msg_id: str,
    status: str,
    recipient: str = "4915112345678",
    ts: int | None = None,
    error_code: int | None = None,
) -> dict[str, Any]:
    """The ``value`` of a ``messages`` change with one status of an outbound message."""
    item: dict[str, Any] = {
        "id": msg_id,
        "status": status,
        "timestamp": str(ts or int(time.time())),
        "recipient_id": recipient,
    }
    if status in {"sent", "delivered", "read"}:
        item["conversation"] = {"id": "c0ffee" + msg_id[-8:], "origin": {"type": "service"}}
        item["pricing"] = {"billable": True, "pricing_model": "PMP", "category": "service"}
    if status == "failed":
        item["errors"] = [
            {
                "code": error_code or 131026,
                "title": "Message undeliverable",
                "message": "Message undeliverable",
                "error_data": {"details": "Message Undeliverable."},
            }
        ]
    return {
        "messaging_product": "whatsapp",
        "metadata": metadata(phone_number_id),
        "statuses": [item],
    }


def change(field: str, value: dict[str, Any]) -> dict[str, Any]:
    return {"field": field, "value": value}


def envelope(*entries: tuple[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """``envelope(("WABA_ID", [change, ...]), ...)``: a whole delivery."""
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {"id": waba_id, "time": int(time.time()), "changes": changes}
            for waba_id, changes in entries
        ],
    }


def dumps(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()

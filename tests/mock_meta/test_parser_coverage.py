"""Every webhook the mock can emit goes through our parser with no field left unparsed.

The test makes the mock send each kind of webhook it knows (every inbound message type,
the users of NOTES §10, statuses, template reviews, every ``/_mock/emit`` field and every
account event it treats apart, Embedded Signup's events), captures the deliveries with a
receiver, and parses each payload with :mod:`waba_portal.graph.webhooks`, recording which
keys the parser reads. A key of the payload counts as parsed when

- the parser read it and its value is in a typed field of the events (not ``raw``, not
  ``content``): a read that is dropped does not count; or
- it lies inside one of the few fields that keep an object whole by design
  (:data:`KEPT_WHOLE`); or
- it is in :data:`IGNORED`, each entry with the reason.

So a field the mock starts to send without the parser learning it fails here; each entry of
:data:`IGNORED` must still match something, so a stale one fails too.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import datetime
from typing import Any

from waba_portal.graph import webhooks as W
from waba_portal.mock_meta.control_client import MockMeta
from waba_portal.mock_meta.state import INBOUND_TYPES
from waba_portal.mock_meta.state.control import EMIT_FIELDS

from .conftest import Graph, Receiver

CUSTOMER = "16505551234"

# Fields whose object the parser keeps whole on purpose: Meta defines them loosely and
# they are passed on as they came. (Event class, field.)
KEPT_WHOLE = {
    ("InboundMessage", "referral"),
    ("MessageContext", "referred_product"),
    ("InteractiveReply", "response"),
    ("AccountUpdate", "waba_info"),
    ("AccountUpdate", "ban_info"),
    ("AccountUpdate", "violation_info"),
    ("AccountUpdate", "restriction_info"),
    ("AccountUpdate", "disconnection_info"),
    ("TemplateStatusUpdate", "disable_info"),
    ("TemplateStatusUpdate", "other_info"),
    ("TemplateStatusUpdate", "rejection_info"),
}

# (field, path pattern): keys the parser leaves alone, and why. Paths are the payload's,
# list positions written []; ``*`` matches anything.
IGNORED: list[tuple[str, str, str]] = [
    ("*", "object", "always 'whatsapp_business_account': checked, then nothing to keep"),
    ("messages", "entry[].changes[].value.messaging_product", "always 'whatsapp'"),
    (
        "messages",
        "entry[].time",
        "each message and status has its own timestamp, which the event keeps",
    ),
    (
        "messages",
        "entry[].changes[].value.messages[].location.*",
        "a shared location is kept whole in InboundMessage.content (no typed fields yet)",
    ),
    (
        "messages",
        "entry[].changes[].value.messages[].contacts[]*",
        "shared contact cards are kept whole in InboundMessage.content (no typed fields yet)",
    ),
    (
        "messages",
        "entry[].changes[].value.messages[].order.catalog_id",
        "an order's catalog and items are kept whole in InboundMessage.content",
    ),
    (
        "messages",
        "entry[].changes[].value.messages[].order.product_items[]*",
        "an order's catalog and items are kept whole in InboundMessage.content",
    ),
]


# ---------------------------------------------------------------- tracking


class Tracked(dict[str, Any]):
    """A payload object that records the keys the parser reads from it."""

    def __init__(self, data: dict[str, Any], path: str, reads: set[str]) -> None:
        super().__init__()
        self._path = path
        self._reads = reads
        for key, value in data.items():
            dict.__setitem__(self, key, _track(value, _join(path, key), reads))

    def __getitem__(self, key: str) -> Any:
        self._reads.add(_join(self._path, key))
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        self._reads.add(_join(self._path, key))
        return super().get(key, default)


def _matches(path: str, pattern: str) -> bool:
    """``*`` matches anything; everything else, ``[]`` included, only itself."""
    regex = re.escape(pattern).replace(r"\*", ".*")
    return re.fullmatch(regex, path) is not None


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _track(value: Any, path: str, reads: set[str]) -> Any:
    if isinstance(value, dict):
        return Tracked(value, path, reads)
    if isinstance(value, list):
        return [_track(v, f"{path}[{i}]", reads) for i, v in enumerate(value)]
    return value


def _leaves(
    value: Any, path: str, parents: tuple[int, ...]
) -> list[tuple[str, Any, tuple[int, ...]]]:
    """(path, value, ids of the objects above it) for every leaf of a tracked payload."""
    if isinstance(value, dict) and value:
        mine = (*parents, id(value))
        return [leaf for k, v in value.items() for leaf in _leaves(v, _join(path, k), mine)]
    if isinstance(value, list) and value:
        mine = (*parents, id(value))
        return [leaf for i, v in enumerate(value) for leaf in _leaves(v, f"{path}[{i}]", mine)]
    return [(path, value, parents)]


def _scalar(value: Any) -> Any:
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, int | float):
        return str(value)
    return value


def _event_contents(events: list[W.WebhookEvent]) -> tuple[set[Any], set[int]]:
    """The scalar values in the events' typed fields, and the ids of objects kept whole."""
    values: set[Any] = set()
    kept: set[int] = set()

    def walk(obj: Any) -> None:
        if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
            for f in dataclasses.fields(obj):
                if f.name in ("raw", "content"):
                    continue
                item = getattr(obj, f.name)
                if (type(obj).__name__, f.name) in KEPT_WHOLE:
                    for whole in item if isinstance(item, tuple) else (item,):
                        if whole is not None:
                            kept.add(id(whole))
                walk(item)
        elif isinstance(obj, dict):
            for v in obj.values():
                walk(v)
        elif isinstance(obj, list | tuple):
            for v in obj:
                walk(v)
        elif isinstance(obj, datetime):
            values.add(str(int(obj.timestamp())))
        elif obj is not None:
            values.add(_scalar(obj))

    for event in events:
        walk(event)
    return values, kept


def unparsed(payload: dict[str, Any], used: set[int]) -> list[str]:
    """The leaves of ``payload`` the parser did not parse (see the module docstring)."""
    reads: set[str] = set()
    tracked = _track(payload, "", reads)
    events = W.parse_payload(tracked)
    values, kept = _event_contents(events)
    fields = {c["field"] for e in payload["entry"] for c in e["changes"]}
    missing = []
    for path, value, parents in _leaves(tracked, "", ()):
        pattern = re.sub(r"\[\d+\]", "[]", path)
        hit = next(
            (
                i
                for i, (fld, pat, _) in enumerate(IGNORED)
                if (fld == "*" or fld in fields) and _matches(pattern, pat)
            ),
            None,
        )
        if hit is not None:
            used.add(hit)
            continue
        if any(p in kept for p in parents):
            continue
        if path in reads and (value is None or _scalar(value) in values):
            continue
        missing.append(f"{pattern} = {value!r}")
    return missing


# ---------------------------------------------------------------- the webhooks


def _send_everything(
    graph: Graph, mock_meta: MockMeta, seeded: dict[str, Any]
) -> tuple[set[str], set[str]]:
    """Make the mock send every kind of webhook it has; (fields, message types) sent."""
    waba, pid = seeded["waba_id"], seeded["phone_number_id"]
    tid = seeded["businesses"][0]["wabas"][0]["templates"][0]["id"]
    sent_types = set()
    # Inbound messages of every type, replies (context), and an ad referral.
    for kind in INBOUND_TYPES:
        mock_meta.inbound(phone_number_id=pid, type=kind, reply_to="wamid.x", **{"from": CUSTOMER})
        sent_types.add(kind)
    mock_meta.inbound(
        phone_number_id=pid,
        text="from an ad",
        referral={
            "source_url": "https://fb.me/x",
            "source_id": "1",
            "source_type": "ad",
            "body": "Ad",
            "headline": "Sale",
            "media_type": "image",
            "image_url": "https://x.example/a.jpg",
            "ctwa_clid": "abc",
        },
        **{"from": CUSTOMER},
    )
    # The users of NOTES §10: username and parent BSUID, a number kept private, the
    # identity key check (identity_key_hash), and a changed number.
    assert graph.post(f"{pid}/settings", {"user_identity_change": {"enabled": True}}).ok
    mock_meta.inbound(
        phone_number_id=pid, text="hi", username="sheena", parent_user_id=True, **{"from": CUSTOMER}
    )
    mock_meta.inbound(
        phone_number_id=pid,
        text="hi",
        username="private",
        hide_wa_id=True,
        **{"from": "16505552000"},
    )
    mock_meta.inbound(
        phone_number_id=pid, type="system", new_wa_id="16505559999", **{"from": CUSTOMER}
    )
    # Statuses: sent, delivered, read (with the tracker), and failed.
    mock_meta.config(undeliverable_recipients=["16505550666"])
    for to in (CUSTOMER, "16505550666"):
        assert graph.post(
            f"{pid}/messages",
            {
                "messaging_product": "whatsapp",
                "to": to,
                "type": "template",
                "biz_opaque_callback_data": "tracker-1",
                "template": {"name": "hello_world", "language": {"code": "en_US"}},
            },
        ).ok
    # Template reviews: approved, and rejected for its format (rejection_info).
    for name in ("fine_template", "reject_template"):
        assert graph.post(
            f"{waba}/message_templates",
            {
                "name": name,
                "language": "en_US",
                "category": "UTILITY",
                "components": [{"type": "BODY", "text": "Your order is ready."}],
            },
        ).ok
    # A display name change, reviewed by the mock's schedule.
    assert graph.post(pid, {"new_display_name": "Acme Renamed"}).ok
    # Every field of /_mock/emit, and each account event the mock builds apart.
    emits: dict[str, list[dict[str, Any]]] = {
        "account_update": [
            {"event": "DISABLED_UPDATE", "ban_state": "SCHEDULE_FOR_DISABLE"},
            {"event": "ACCOUNT_RESTRICTION"},
            {"event": "ACCOUNT_VIOLATION", "violation_type": "SPAM"},
            {"event": "AD_ACCOUNT_LINKED"},
            {"event": "MM_LITE_TERMS_SIGNED"},
            {"event": "PARTNER_REMOVED"},
            {"event": "ACCOUNT_OFFBOARDED"},
            {
                "event": "ACCOUNT_RECONNECTED",
                "phone_number_id": pid,
                "disconnection_info": {"reason": "x", "initiated_by": "USER"},
            },
        ],
        "phone_number_quality_update": [
            {"phone_number_id": pid, "event": "FLAGGED"},
            {"phone_number_id": pid, "event": "UPGRADE", "current_limit": "TIER_10K"},
            {"phone_number_id": pid, "event": "THROUGHPUT_UPGRADE"},
        ],
        "phone_number_name_update": [
            {"phone_number_id": pid, "decision": "APPROVED"},
            {"phone_number_id": pid, "decision": "REJECTED", "rejection_reason": "NAME_POLICY"},
        ],
        "message_template_status_update": [
            {
                "template_id": tid,
                "event": "PAUSED",
                "other_info": {"title": "t", "description": "d"},
            },
            {"template_id": tid, "event": "DISABLED"},
        ],
        "template_category_update": [
            {"template_id": tid, "new_category": "MARKETING", "impending": True},
            {"template_id": tid, "new_category": "MARKETING"},
        ],
        "message_template_quality_update": [  # templates (T1)
            {"template_id": tid, "new_quality_score": "YELLOW"},
        ],
        "business_capability_update": [
            {"waba_id": waba},
            {
                "waba_id": waba,
                "max_daily_conversation_per_phone": 1000,
                "max_phone_numbers_per_waba": 25,
            },
        ],
        "account_review_update": [{"waba_id": waba, "decision": "REJECTED"}],
    }
    assert set(emits) == set(EMIT_FIELDS), "a field /_mock/emit builds is not sent here"
    for fld, specs in emits.items():
        for spec in specs:
            mock_meta.emit(field=fld, **{"waba_id": waba, **spec})
    # Embedded Signup: PARTNER_ADDED and PARTNER_APP_INSTALLED, on the business portfolio.
    mock_meta.signup(phone="+4915112345699")
    return {"messages", "message_template_status_update", *EMIT_FIELDS}, sent_types


def test_every_webhook_the_mock_sends_is_parsed_whole(
    receiver: Receiver, graph: Graph, mock_meta: MockMeta, seeded: dict[str, Any]
) -> None:
    mock_meta.config(require_subscription=False)  # the signup's new WABA has no subscription
    fields, types = _send_everything(graph, mock_meta, seeded)

    def complete(changes: list[dict[str, Any]]) -> bool:
        statuses = [s for c in changes for s in c["value"].get("statuses", [])]
        reviews = [
            c for c in changes if c["value"].get("message_template_name", "").endswith("_template")
        ]
        return len(statuses) >= 4 and len(reviews) >= 2 and {c["field"] for c in changes} >= fields

    receiver.wait(complete, timeout=15)
    log = mock_meta.webhooks(wait=10)
    assert not [e for e in log if not e["ok"]], [e for e in log if not e["ok"]]
    payloads = receiver.payloads()
    seen_fields = {c["field"] for p in payloads for e in p["entry"] for c in e["changes"]}
    seen_types = {
        m["type"]
        for p in payloads
        for e in p["entry"]
        for c in e["changes"]
        for m in c["value"].get("messages", [])
    }
    assert seen_fields == fields
    assert seen_types == types
    used: set[int] = set()
    problems = {}
    for payload in payloads:
        missing = unparsed(payload, used)
        if missing:
            problems[payload["entry"][0]["changes"][0]["field"]] = missing
    assert not problems, problems
    stale = [IGNORED[i][1] for i in range(len(IGNORED)) if i not in used]
    assert not stale, f"ignored paths that no webhook has any more: {stale}"


def test_a_key_the_parser_does_not_know_is_reported() -> None:
    """The check itself: an unknown key, and a key read but dropped, are both reported."""
    payload = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "W",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {"display_phone_number": "1555", "phone_number_id": "P"},
                            "contacts": [
                                {
                                    "profile": {"name": "A"},
                                    "wa_id": "1",
                                    "user_id": "US.1",
                                    "shiny": 1,
                                }
                            ],
                            "messages": [
                                {
                                    "from": "1",
                                    "id": "wamid.1",
                                    "timestamp": "1750000000",
                                    "type": "text",
                                    "text": {"body": "b", "new_flag": True},
                                }
                            ],
                        },
                    }
                ],
            }
        ],
    }
    missing = unparsed(payload, set())
    assert missing == [
        "entry[].changes[].value.contacts[].shiny = 1",
        "entry[].changes[].value.messages[].text.new_flag = True",
    ]

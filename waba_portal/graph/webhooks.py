"""Meta webhooks: signature check, subscription handshake, typed parsing.

Signature: every POST carries ``X-Hub-Signature-256: sha256=<hex>`` where ``<hex>`` is
HMAC-SHA256 of the **raw body bytes** keyed with the app secret. Check it before
parsing, over the bytes as received, with a constant-time compare.

Parsing: :func:`iter_events` walks **every** entry, change, message, status and error of
a payload in order and yields one typed event per item. Fields and message types this
module does not know are kept (``UnknownChange``, ``InboundMessage.is_known_type``),
each event carries its raw dict, and a payload that does not have the envelope's shape
raises :class:`WebhookPayloadError` rather than ``KeyError``.

Users: ``value.contacts[]`` names the user of a ``messages`` change (the sender of inbound
messages, the recipient of statuses) as a :class:`WebhookContact`. Both shapes parse: the
older one (``wa_id`` and ``profile.name``) and the one with business-scoped user ids (NOTES
§10: ``user_id``, the BSUID, beside ``wa_id``; ``profile.username``; ``parent_user_id``;
``identity_key_hash``; contacts on statuses too), where ``wa_id`` and a message's ``from``
are absent for a user who keeps the number from businesses.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from dataclasses import field as dc_field
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "SIGNATURE_HEADER",
    "AccountReviewUpdate",
    "AccountUpdate",
    "BusinessCapabilityUpdate",
    "ConversationInfo",
    "InboundMessage",
    "InteractiveReply",
    "MediaInfo",
    "MessageContext",
    "MessageStatus",
    "PhoneNumberNameUpdate",
    "PhoneNumberQualityUpdate",
    "PricingInfo",
    "SignatureResult",
    "SystemChange",
    "TemplateCategoryUpdate",
    "TemplateQualityUpdate",
    "TemplateStatusUpdate",
    "UnknownChange",
    "WebhookContact",
    "WebhookError",
    "WebhookErrors",
    "WebhookEvent",
    "WebhookPayloadError",
    "check_signature",
    "is_terminal_status",
    "iter_events",
    "parse_payload",
    "sign_payload",
    "status_can_advance",
    "status_rank",
    "verify_signature",
    "verify_subscription",
]

SIGNATURE_HEADER = "X-Hub-Signature-256"
_PREFIX = "sha256="


# --------------------------------------------------------------------------- signature


class SignatureResult(enum.Enum):
    VALID = "valid"
    MISSING = "missing"  # no header, or an empty one
    BAD_PREFIX = "bad_prefix"  # not "sha256=…"
    MALFORMED = "malformed"  # not 64 hex digits
    MISMATCH = "mismatch"  # well-formed but wrong


def sign_payload(raw_body: bytes, app_secret: str) -> str:
    """The ``X-Hub-Signature-256`` value Meta would send for ``raw_body``."""
    digest = hmac.new(app_secret.encode("utf-8"), raw_body, hashlib.sha256).hexdigest()
    return _PREFIX + digest


def check_signature(raw_body: bytes, header: str | None, app_secret: str) -> SignatureResult:
    """Classify the signature header of a webhook POST (constant-time compare).

    Hex digits are accepted in either case (Meta sends lower case). An empty app
    secret is a configuration error and raises ``ValueError`` (fail closed).
    """
    if not app_secret:
        raise ValueError("app_secret is empty; refusing to verify webhook signatures")
    if header is None or not header.strip():
        return SignatureResult.MISSING
    value = header.strip()
    if not value.startswith(_PREFIX):
        return SignatureResult.BAD_PREFIX
    hex_digest = value[len(_PREFIX) :]
    if len(hex_digest) != 64:
        return SignatureResult.MALFORMED
    try:
        received = bytes.fromhex(hex_digest)
    except ValueError:
        return SignatureResult.MALFORMED
    expected = hmac.new(app_secret.encode("utf-8"), raw_body, hashlib.sha256).digest()
    if hmac.compare_digest(received, expected):
        return SignatureResult.VALID
    return SignatureResult.MISMATCH


def verify_signature(raw_body: bytes, header: str | None, app_secret: str) -> bool:
    """True only for a valid ``X-Hub-Signature-256``; see :func:`check_signature` for why."""
    return check_signature(raw_body, header, app_secret) is SignatureResult.VALID


def verify_subscription(
    mode: str | None, token: str | None, challenge: str | None, expected_token: str
) -> str | None:
    """The GET handshake: return ``challenge`` to echo (200), or ``None`` (answer 403)."""
    if not expected_token or mode != "subscribe" or token is None or challenge is None:
        return None
    if hmac.compare_digest(token.encode("utf-8"), expected_token.encode("utf-8")):
        return challenge
    return None


# --------------------------------------------------------------------------- status ranks

_STATUS_RANK: Mapping[str, int] = {
    "queued": 0,  # our own state before Meta accepted the message
    "accepted": 5,
    "sent": 10,
    "delivered": 20,
    "read": 30,
    "played": 40,  # voice messages, after read
    "deleted": 50,
    "failed": 100,  # terminal
}
_TERMINAL = frozenset({"failed", "deleted"})


def status_rank(status: str | None) -> int:
    """Order of message statuses: queued < sent < delivered < read < played; failed is
    terminal and ranks highest. Unknown statuses rank -1."""
    if not status:
        return -1
    return _STATUS_RANK.get(status.lower(), -1)


def is_terminal_status(status: str | None) -> bool:
    return bool(status) and status.lower() in _TERMINAL  # type: ignore[union-attr]


def status_can_advance(current: str | None, new: str | None) -> bool:
    """Whether a message at ``current`` may move to ``new`` (never backwards, never out of
    a terminal status, never to an unknown status)."""
    new_rank = status_rank(new)
    if new_rank < 0:
        return False
    if current is None:
        return True
    if is_terminal_status(current):
        return False
    return new_rank > status_rank(current)


# --------------------------------------------------------------------------- events


class WebhookPayloadError(ValueError):
    """The payload does not have the shape of a WhatsApp webhook."""


@dataclass(frozen=True, kw_only=True)
class WebhookError:
    """An error inside a webhook (messages[].errors, statuses[].errors, value.errors)."""

    code: int | None
    title: str | None
    message: str | None
    details: str | None
    href: str | None
    raw: dict[str, Any] = dc_field(repr=False)


@dataclass(frozen=True, kw_only=True)
class WebhookEvent:
    """What every event carries.

    ``waba_id`` is the WABA the event concerns: ``entry.id`` except for
    ``account_update`` partner events, where ``entry.id`` is the business portfolio and
    the WABA comes from ``value.waba_info.waba_id`` (``entry_id`` keeps the original).
    ``timestamp`` is the item's own timestamp, else ``entry.time``, as aware UTC.
    ``raw`` is the item itself (the message, the status, or the change value).
    """

    entry_id: str
    waba_id: str
    field: str
    phone_number_id: str | None = None
    display_phone_number: str | None = None
    timestamp: datetime | None = None
    raw: dict[str, Any] = dc_field(default_factory=dict, repr=False)


@dataclass(frozen=True, kw_only=True)
class MessageContext:
    from_: str | None
    id: str | None
    forwarded: bool = False
    frequently_forwarded: bool = False
    referred_product: dict[str, Any] | None = None


@dataclass(frozen=True, kw_only=True)
class MediaInfo:
    id: str | None
    mime_type: str | None = None
    sha256: str | None = None
    caption: str | None = None
    filename: str | None = None
    voice: bool | None = None
    animated: bool | None = None


@dataclass(frozen=True, kw_only=True)
class InteractiveReply:
    """``button_reply``, ``list_reply`` or ``nfm_reply`` (a Flow's response)."""

    type: str
    id: str | None = None
    title: str | None = None
    description: str | None = None
    response: dict[str, Any] | None = None  # nfm_reply.response_json, decoded
    raw: dict[str, Any] = dc_field(default_factory=dict, repr=False)


@dataclass(frozen=True, kw_only=True)
class SystemChange:
    """A ``system`` message: ``user_changed_number`` names the new number and the new BSUID."""

    type: str | None
    body: str | None
    wa_id: str | None = None
    new_wa_id: str | None = None
    new_user_id: str | None = None
    new_parent_user_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class WebhookContact:
    """A user in ``value.contacts[]`` of a ``messages`` change.

    ``user_id`` is the business-scoped user id (BSUID, e.g. ``"US.13491208655302741918"``);
    ``wa_id`` the user's number, absent when the user keeps it from businesses; both may
    be missing in older payloads (``wa_id`` only) or newer ones (``user_id`` only).
    """

    wa_id: str | None = None
    user_id: str | None = None
    parent_user_id: str | None = None
    name: str | None = None
    username: str | None = None
    identity_key_hash: str | None = None
    raw: dict[str, Any] = dc_field(default_factory=dict, repr=False)


MEDIA_TYPES = frozenset({"image", "video", "audio", "document", "sticker"})
KNOWN_MESSAGE_TYPES = MEDIA_TYPES | {
    "text",
    "reaction",
    "location",
    "contacts",
    "interactive",
    "button",
    "order",
    "system",
    "unsupported",
    "unknown",
    "request_welcome",
}


@dataclass(frozen=True, kw_only=True)
class InboundMessage(WebhookEvent):
    """A message from a WhatsApp user (``messages`` field, ``value.messages[]``).

    ``content`` is the type-specific object (``msg[type]``; a list for ``contacts``).
    ``text`` is the most useful text: the body, a caption, a reply's title or a quick
    reply's text. Unknown types keep ``is_known_type=False`` and their raw object.
    ``from_`` is the sender's number, ``None`` for a user who keeps it from businesses
    (then ``contact.user_id`` names them); ``contact`` is their ``contacts[]`` entry.
    """

    message_id: str
    from_: str | None = None
    type: str
    contact: WebhookContact | None = None
    contact_name: str | None = None
    contact_wa_id: str | None = None
    content: Any = None
    text: str | None = None
    context: MessageContext | None = None
    referral: dict[str, Any] | None = None
    media: MediaInfo | None = None
    interactive: InteractiveReply | None = None
    button_payload: str | None = None
    reaction_message_id: str | None = None
    reaction_emoji: str | None = None
    system: SystemChange | None = None
    errors: tuple[WebhookError, ...] = ()
    is_known_type: bool = True

    @property
    def user_id(self) -> str | None:
        """The sender's business-scoped user id, when the payload has one."""
        return self.contact.user_id if self.contact else None


@dataclass(frozen=True, kw_only=True)
class ConversationInfo:
    id: str | None
    origin_type: str | None
    expiration_timestamp: datetime | None


@dataclass(frozen=True, kw_only=True)
class PricingInfo:
    billable: bool | None
    pricing_model: str | None
    category: str | None
    type: str | None


@dataclass(frozen=True, kw_only=True)
class MessageStatus(WebhookEvent):
    """A status of a message we sent (``value.statuses[]``); ``contact`` is the
    recipient's ``value.contacts[]`` entry, when the payload has one."""

    message_id: str
    status: str
    recipient_id: str | None = None
    contact: WebhookContact | None = None
    biz_opaque_callback_data: str | None = None
    group_id: str | None = None
    conversation: ConversationInfo | None = None
    pricing: PricingInfo | None = None
    errors: tuple[WebhookError, ...] = ()

    @property
    def rank(self) -> int:
        return status_rank(self.status)

    @property
    def user_id(self) -> str | None:
        """The recipient's business-scoped user id, when the payload has one."""
        return self.contact.user_id if self.contact else None


@dataclass(frozen=True, kw_only=True)
class WebhookErrors(WebhookEvent):
    """System-level errors in ``value.errors[]`` (e.g. 130429), without a status."""

    errors: tuple[WebhookError, ...] = ()


@dataclass(frozen=True, kw_only=True)
class AccountUpdate(WebhookEvent):
    event: str | None
    phone_number: str | None = None  # the number an event is about, when it is about one
    waba_info: dict[str, Any] | None = None
    owner_business_id: str | None = None
    ban_info: dict[str, Any] | None = None
    violation_info: dict[str, Any] | None = None
    restriction_info: tuple[dict[str, Any], ...] = ()
    disconnection_info: dict[str, Any] | None = None


@dataclass(frozen=True, kw_only=True)
class AccountReviewUpdate(WebhookEvent):
    decision: str | None


@dataclass(frozen=True, kw_only=True)
class PhoneNumberQualityUpdate(WebhookEvent):
    event: str | None
    current_limit: str | None = None
    old_limit: str | None = None
    max_daily_conversations_per_business: str | None = None


@dataclass(frozen=True, kw_only=True)
class PhoneNumberNameUpdate(WebhookEvent):
    decision: str | None
    requested_verified_name: str | None = None
    rejection_reason: str | None = None


@dataclass(frozen=True, kw_only=True)
class TemplateStatusUpdate(WebhookEvent):
    event: str | None
    template_id: str | None  # a number in this payload; normalised to a string
    template_name: str | None = None
    template_language: str | None = None
    reason: str | None = None
    category: str | None = None
    disable_info: dict[str, Any] | None = None
    other_info: dict[str, Any] | None = None
    rejection_info: dict[str, Any] | None = None


@dataclass(frozen=True, kw_only=True)
class TemplateCategoryUpdate(WebhookEvent):
    template_id: str | None
    template_name: str | None = None
    template_language: str | None = None
    previous_category: str | None = None
    new_category: str | None = None
    correct_category: str | None = None
    category_update_timestamp: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class TemplateQualityUpdate(WebhookEvent):
    template_id: str | None
    template_name: str | None = None
    template_language: str | None = None
    previous_quality_score: str | None = None
    new_quality_score: str | None = None


@dataclass(frozen=True, kw_only=True)
class BusinessCapabilityUpdate(WebhookEvent):
    max_daily_conversation_per_phone: int | None = None
    max_daily_conversations_per_business: str | None = None
    max_phone_numbers_per_business: int | None = None
    max_phone_numbers_per_waba: int | None = None


@dataclass(frozen=True, kw_only=True)
class UnknownChange(WebhookEvent):
    """A change this module does not model; ``raw`` is the whole ``value``."""


# --------------------------------------------------------------------------- helpers


def _fail(where: str, why: str) -> WebhookPayloadError:
    return WebhookPayloadError(f"{where}: {why}")


def _ts(value: Any, where: str) -> datetime | None:
    """Unix seconds (int or digit string) → aware UTC datetime; ``None`` stays ``None``."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise _fail(where, f"timestamp {value!r} is not Unix seconds")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        seconds = float(value.strip())
    else:
        raise _fail(where, f"timestamp {value!r} is not Unix seconds")
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError) as err:
        raise _fail(where, f"timestamp {value!r} is out of range") from err


def _str(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def _dict(value: Any) -> dict[str, Any] | None:
    return value if isinstance(value, dict) else None


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return None


def _list(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _fail(where, f"expected a list, got {type(value).__name__}")
    return value


def _errors(value: Any, where: str) -> tuple[WebhookError, ...]:
    out = []
    for i, err in enumerate(_list(value, where)):
        if not isinstance(err, dict):
            raise _fail(f"{where}[{i}]", "error is not an object")
        data = err.get("error_data")
        details = data.get("details") if isinstance(data, dict) else _str(data)
        out.append(
            WebhookError(
                code=_int(err.get("code")),
                title=_str(err.get("title")),
                message=_str(err.get("message")),
                details=_str(details),
                href=_str(err.get("href")),
                raw=err,
            )
        )
    return tuple(out)


def _require_str(obj: Mapping[str, Any], key: str, where: str) -> str:
    value = _str(obj.get(key))
    if not value:
        raise _fail(where, f"missing {key!r}")
    return value


# --------------------------------------------------------------------------- messages


def _contact_for(contacts: list[Any], wa_id: str | None) -> WebhookContact | None:
    """The entry of ``contacts`` for the user with number ``wa_id``; the only entry when
    none names that number (or the number is not known)."""
    valid = [c for c in contacts if isinstance(c, dict)]
    match = next((c for c in valid if wa_id and _str(c.get("wa_id")) == wa_id), None)
    if match is None and len(valid) == 1:
        match = valid[0]
    if match is None:
        return None
    profile = match.get("profile")
    profile = profile if isinstance(profile, dict) else {}
    return WebhookContact(
        wa_id=_str(match.get("wa_id")) or None,  # an empty string is no number
        user_id=_str(match.get("user_id")),
        parent_user_id=_str(match.get("parent_user_id")),
        name=_str(profile.get("name")),
        username=_str(profile.get("username")),
        identity_key_hash=_str(match.get("identity_key_hash")),
        raw=match,
    )


def _context(value: Any) -> MessageContext | None:
    if not isinstance(value, dict):
        return None
    return MessageContext(
        from_=_str(value.get("from")),
        id=_str(value.get("id")),
        forwarded=bool(value.get("forwarded")),
        frequently_forwarded=bool(value.get("frequently_forwarded")),
        referred_product=_dict(value.get("referred_product")),
    )


def _interactive(value: Any) -> InteractiveReply | None:
    if not isinstance(value, dict):
        return None
    kind = _str(value.get("type")) or "unknown"
    reply = value.get(kind)
    reply = reply if isinstance(reply, dict) else {}
    response: dict[str, Any] | None = None
    raw_json = reply.get("response_json")
    if isinstance(raw_json, str):
        try:
            decoded = json.loads(raw_json)
        except ValueError:
            decoded = None
        response = decoded if isinstance(decoded, dict) else None
    elif isinstance(raw_json, dict):
        response = raw_json
    return InteractiveReply(
        type=kind,
        id=_str(reply.get("id")),
        title=_str(reply.get("title")) or _str(reply.get("body")),
        description=_str(reply.get("description")),
        response=response,
        raw=value,
    )


def _message(msg: Any, *, where: str, base: dict[str, Any], contacts: list[Any]) -> InboundMessage:
    if not isinstance(msg, dict):
        raise _fail(where, "message is not an object")
    message_id = _require_str(msg, "id", where)
    sender = _str(msg.get("from")) or None
    timestamp = _ts(msg.get("timestamp"), where)
    if timestamp is None:
        raise _fail(where, "missing 'timestamp'")
    mtype = _str(msg.get("type")) or "unknown"
    content = msg.get(mtype)
    contact = _contact_for(contacts, sender)
    if sender is None and not (contact and contact.user_id):
        # Without a number the sender is known only by the contact's BSUID.
        raise _fail(where, "missing 'from' (and no contact with a 'user_id')")

    text: str | None = None
    media: MediaInfo | None = None
    interactive: InteractiveReply | None = None
    button_payload: str | None = None
    reaction_id: str | None = None
    reaction_emoji: str | None = None
    system: SystemChange | None = None
    c = content if isinstance(content, dict) else {}
    if mtype == "text":
        text = _str(c.get("body"))
    elif mtype in MEDIA_TYPES:
        media = MediaInfo(
            id=_str(c.get("id")),
            mime_type=_str(c.get("mime_type")),
            sha256=_str(c.get("sha256")),
            caption=_str(c.get("caption")),
            filename=_str(c.get("filename")),
            voice=c.get("voice") if isinstance(c.get("voice"), bool) else None,
            animated=c.get("animated") if isinstance(c.get("animated"), bool) else None,
        )
        text = media.caption
    elif mtype == "interactive":
        interactive = _interactive(content)
        text = interactive.title if interactive else None
    elif mtype == "button":
        text = _str(c.get("text"))
        button_payload = _str(c.get("payload"))
    elif mtype == "reaction":
        reaction_id = _str(c.get("message_id"))
        reaction_emoji = _str(c.get("emoji"))
    elif mtype == "order":
        text = _str(c.get("text"))
    elif mtype == "system":
        system = SystemChange(
            type=_str(c.get("type")),
            body=_str(c.get("body")),
            wa_id=_str(c.get("wa_id")) or _str(c.get("customer")),
            new_wa_id=_str(c.get("new_wa_id")) or _str(c.get("wa_id")),
            new_user_id=_str(c.get("user_id")),
            new_parent_user_id=_str(c.get("parent_user_id")),
        )
        text = system.body
    return InboundMessage(
        **{**base, "timestamp": timestamp},
        raw=msg,
        message_id=message_id,
        from_=sender,
        type=mtype,
        contact=contact,
        contact_name=contact.name if contact else None,
        contact_wa_id=contact.wa_id if contact else None,
        content=content,
        text=text,
        context=_context(msg.get("context")),
        referral=_dict(msg.get("referral")),
        media=media,
        interactive=interactive,
        button_payload=button_payload,
        reaction_message_id=reaction_id,
        reaction_emoji=reaction_emoji,
        system=system,
        errors=_errors(msg.get("errors"), f"{where}.errors"),
        is_known_type=mtype in KNOWN_MESSAGE_TYPES,
    )


def _status(st: Any, *, where: str, base: dict[str, Any], contacts: list[Any]) -> MessageStatus:
    if not isinstance(st, dict):
        raise _fail(where, "status is not an object")
    conv = st.get("conversation")
    conversation = None
    if isinstance(conv, dict):
        origin = conv.get("origin")
        conversation = ConversationInfo(
            id=_str(conv.get("id")),
            origin_type=_str(origin.get("type")) if isinstance(origin, dict) else None,
            expiration_timestamp=_ts(conv.get("expiration_timestamp"), f"{where}.conversation"),
        )
    pr = st.get("pricing")
    pricing = None
    if isinstance(pr, dict):
        billable = pr.get("billable")
        pricing = PricingInfo(
            billable=billable if isinstance(billable, bool) else None,
            pricing_model=_str(pr.get("pricing_model")),
            category=_str(pr.get("category")),
            type=_str(pr.get("type")),
        )
    timestamp = _ts(st.get("timestamp"), where) or base.get("timestamp")
    recipient_id = _str(st.get("recipient_id"))
    return MessageStatus(
        **{**base, "timestamp": timestamp},
        raw=st,
        message_id=_require_str(st, "id", where),
        status=_require_str(st, "status", where).lower(),
        recipient_id=recipient_id,
        contact=_contact_for(contacts, recipient_id),
        biz_opaque_callback_data=_str(st.get("biz_opaque_callback_data")),
        group_id=_str(st.get("group_id")),
        conversation=conversation,
        pricing=pricing,
        errors=_errors(st.get("errors"), f"{where}.errors"),
    )


def _messages_change(
    value: dict[str, Any], *, where: str, base: dict[str, Any]
) -> Iterator[WebhookEvent]:
    messages = _list(value.get("messages"), f"{where}.messages")
    statuses = _list(value.get("statuses"), f"{where}.statuses")
    errors = _errors(value.get("errors"), f"{where}.errors")
    if not (messages or statuses or errors):
        yield UnknownChange(**base, raw=value)
        return
    metadata = value.get("metadata")
    if not isinstance(metadata, dict):
        raise _fail(where, "missing 'metadata'")
    base = {
        **base,
        "phone_number_id": _str(metadata.get("phone_number_id")),
        "display_phone_number": _str(metadata.get("display_phone_number")),
    }
    contacts = _list(value.get("contacts"), f"{where}.contacts")
    for i, msg in enumerate(messages):
        yield _message(msg, where=f"{where}.messages[{i}]", base=base, contacts=contacts)
    for i, st in enumerate(statuses):
        yield _status(st, where=f"{where}.statuses[{i}]", base=base, contacts=contacts)
    if errors:
        yield WebhookErrors(**base, raw=value, errors=errors)


# --------------------------------------------------------------------------- other fields


def _account_update(value: dict[str, Any], base: dict[str, Any]) -> AccountUpdate:
    waba_info = _dict(value.get("waba_info"))
    if waba_info and _str(waba_info.get("waba_id")):
        base = {**base, "waba_id": _str(waba_info.get("waba_id"))}
    restrictions = value.get("restriction_info")
    return AccountUpdate(
        **base,
        raw=value,
        event=_str(value.get("event")),
        phone_number=_str(value.get("phone_number")),
        waba_info=waba_info,
        owner_business_id=_str(waba_info.get("owner_business_id")) if waba_info else None,
        ban_info=_dict(value.get("ban_info")),
        violation_info=_dict(value.get("violation_info")),
        restriction_info=tuple(r for r in restrictions if isinstance(r, dict))
        if isinstance(restrictions, list)
        else (),
        disconnection_info=_dict(value.get("disconnection_info")),
    )


def _other_change(
    fld: str, value: dict[str, Any], *, where: str, base: dict[str, Any]
) -> WebhookEvent:
    if "display_phone_number" in value and not base.get("display_phone_number"):
        base = {**base, "display_phone_number": _str(value.get("display_phone_number"))}
    if fld == "account_update":
        return _account_update(value, base)
    if fld == "account_review_update":
        return AccountReviewUpdate(**base, raw=value, decision=_str(value.get("decision")))
    if fld == "phone_number_quality_update":
        return PhoneNumberQualityUpdate(
            **base,
            raw=value,
            event=_str(value.get("event")),
            current_limit=_str(value.get("current_limit")),
            old_limit=_str(value.get("old_limit")),
            max_daily_conversations_per_business=_str(
                value.get("max_daily_conversations_per_business")
            ),
        )
    if fld == "phone_number_name_update":
        return PhoneNumberNameUpdate(
            **base,
            raw=value,
            decision=_str(value.get("decision")),
            requested_verified_name=_str(value.get("requested_verified_name")),
            rejection_reason=_str(value.get("rejection_reason")),
        )
    if fld == "message_template_status_update":
        return TemplateStatusUpdate(
            **base,
            raw=value,
            event=_str(value.get("event")),
            template_id=_str(value.get("message_template_id")),
            template_name=_str(value.get("message_template_name")),
            template_language=_str(value.get("message_template_language")),
            reason=_str(value.get("reason")),
            category=_str(value.get("message_template_category")),
            disable_info=_dict(value.get("disable_info")),
            other_info=_dict(value.get("other_info")),
            rejection_info=_dict(value.get("rejection_info")),
        )
    if fld == "template_category_update":
        return TemplateCategoryUpdate(
            **base,
            raw=value,
            template_id=_str(value.get("message_template_id")),
            template_name=_str(value.get("message_template_name")),
            template_language=_str(value.get("message_template_language")),
            previous_category=_str(value.get("previous_category")),
            new_category=_str(value.get("new_category")),
            correct_category=_str(value.get("correct_category")),
            category_update_timestamp=_ts(value.get("category_update_timestamp"), where),
        )
    if fld == "message_template_quality_update":
        prev, new = value.get("previous_quality_score"), value.get("new_quality_score")
        return TemplateQualityUpdate(
            **base,
            raw=value,
            template_id=_str(value.get("message_template_id")),
            template_name=_str(value.get("message_template_name")),
            template_language=_str(value.get("message_template_language")),
            previous_quality_score=_str(prev),
            new_quality_score=_str(new),
        )
    if fld == "business_capability_update":
        return BusinessCapabilityUpdate(
            **base,
            raw=value,
            max_daily_conversation_per_phone=_int(value.get("max_daily_conversation_per_phone")),
            max_daily_conversations_per_business=_str(
                value.get("max_daily_conversations_per_business")
            ),
            max_phone_numbers_per_business=_int(value.get("max_phone_numbers_per_business")),
            max_phone_numbers_per_waba=_int(value.get("max_phone_numbers_per_waba")),
        )
    return UnknownChange(**base, raw=value)


# --------------------------------------------------------------------------- entry points


def _decode(payload: bytes | str | Mapping[str, Any]) -> Mapping[str, Any]:
    if isinstance(payload, bytes | str):
        try:
            data = json.loads(payload)
        except (ValueError, UnicodeDecodeError) as err:
            raise WebhookPayloadError(f"payload is not JSON: {err}") from err
    else:
        data = payload
    if not isinstance(data, Mapping):
        raise WebhookPayloadError("payload is not a JSON object")
    return data


def iter_events(payload: bytes | str | Mapping[str, Any]) -> Iterator[WebhookEvent]:
    """Yield every event of a webhook payload, in payload order.

    Order inside a ``messages`` change: messages, then statuses, then value-level errors.
    Raises :class:`WebhookPayloadError` when the envelope is malformed; the check is made
    item by item, so consume the whole iterator (or use :func:`parse_payload`) before
    acting on any event if you want all-or-nothing.
    """
    data = _decode(payload)
    obj = data.get("object")
    if obj != "whatsapp_business_account":
        raise WebhookPayloadError(f"object is {obj!r}, expected 'whatsapp_business_account'")
    entries = data.get("entry")
    if not isinstance(entries, list):
        raise WebhookPayloadError("missing 'entry' list")
    for e_i, entry in enumerate(entries):
        where = f"entry[{e_i}]"
        if not isinstance(entry, dict):
            raise _fail(where, "entry is not an object")
        entry_id = _require_str(entry, "id", where)
        entry_time = _ts(entry.get("time"), where)
        changes = entry.get("changes")
        if not isinstance(changes, list):
            raise _fail(where, "missing 'changes' list")
        for c_i, change in enumerate(changes):
            cwhere = f"{where}.changes[{c_i}]"
            if not isinstance(change, dict):
                raise _fail(cwhere, "change is not an object")
            fld = _require_str(change, "field", cwhere)
            value = change.get("value")
            if not isinstance(value, dict):
                raise _fail(cwhere, "'value' is not an object")
            base: dict[str, Any] = {
                "entry_id": entry_id,
                "waba_id": entry_id,
                "field": fld,
                "timestamp": entry_time,
            }
            if fld == "messages":
                yield from _messages_change(value, where=f"{cwhere}.value", base=base)
            else:
                yield _other_change(fld, value, where=f"{cwhere}.value", base=base)


def parse_payload(payload: bytes | str | Mapping[str, Any]) -> list[WebhookEvent]:
    """All events of a payload as a list (validates the whole payload first)."""
    return list(iter_events(payload))

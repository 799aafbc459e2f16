"""What the inbox's pages show of each conversation and message, worked out in Python.

A page lists 50 conversations and a thread of 40 messages and more. What a template
would look up again for each of them (a type's label, a status in words, a date in the
reader's language and time zone, a contact's name) is worked out here once per page by
:class:`Display` and handed to the templates as plain values: :func:`list_rows` for the
list, :func:`bubbles` for the thread. The templates still say how a page looks; every
value here is text they escape, or HTML built with every outside value escaped.

``message_parts`` reads Meta's payload of each message type (NOTES §5) into plain values
(every one text that the template escapes: a customer's HTML or script is shown as
written, never run). A type the inbox does not know is shown as unsupported, with what
Meta said, never dropped.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

from django.urls import reverse
from django.utils import formats, timezone
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from inbox.failures import failure_reason
from inbox.models import Contact, Conversation, Message, MessageStatus, MessageType, Queue
from inbox.selectors import LastMessage, ListEntry, ThreadItem

MEDIA_KINDS = ("image", "audio", "video", "document", "sticker")
LIST_PREVIEW_CHARS = 90
QUOTE_CHARS = 120
REPLY_TO_CHARS = 60


_MARKER = 987654321


def path_by_id(viewname: str, id_name: str, **kwargs: Any) -> Callable[[int], str]:
    """The path of ``viewname`` for any id given as ``id_name``, reversed once: a page of
    50 conversations or 40 messages links each without reversing each."""
    path = reverse(viewname, kwargs={**kwargs, id_name: _MARKER})
    head, tail = path.rsplit(str(_MARKER), 1)
    return lambda pk: f"{head}{pk}{tail}"


def truncated(text: str, limit: int) -> str:
    """``{{ text|truncatechars:limit }}`` (``Truncator.chars``), its answer for a text
    that fits given at once: the text in its NFC form, as Django gives it."""
    if len(text) <= limit:
        return unicodedata.normalize("NFC", text)
    return Truncator(text).chars(limit)


def contact_name(contact: Contact) -> str:
    """``contact.display_name``, without formatting the phone number when a name comes
    first (the formatting parses the number: the costliest part of a list row)."""
    return contact.name or contact.profile_name or contact.display_name


def type_label(message_type: str) -> str:
    if message_type in MessageType.values:
        return str(MessageType(message_type).label)
    return _("Unsupported message")


def status_words(status: str) -> str:
    return str(MessageStatus(status).label) if status in MessageStatus.values else ""


class Display:
    """One page's words and times, each worked out once: in the language and the time
    zone active when the page is made (the reader's, set by the middleware)."""

    def __init__(self) -> None:
        self.zone = timezone.get_current_timezone()
        self._days: dict[date, str] = {}
        self._types: dict[str, str] = {}
        self._statuses: dict[str, str] = {}
        self._queues = {value: str(label) for value, label in Queue.choices}

    def _local(self, value: datetime) -> datetime:
        return value.astimezone(self.zone) if timezone.is_aware(value) else value

    def _when(self, local: datetime) -> str:
        day = local.date()
        text = self._days.get(day)
        if text is None:
            # DATE_FORMAT holds no time of day (en, de, ru): one text per day.
            text = self._days[day] = formats.date_format(local, "DATE_FORMAT")
        return f"{text}, {local.hour:02d}:{local.minute:02d}"

    def when(self, value: datetime | None) -> str:
        """``{{ value|when }}`` ("1. Dezember 2026, 19:37"), each day's date formatted once."""
        return self._when(self._local(value)) if value is not None else ""

    def moment(self, value: datetime | None) -> tuple[str, str]:
        """``value`` as ``{{ value|date:'c' }}`` and as ``{{ value|when }}`` show it."""
        if value is None:
            return "", ""
        local = self._local(value)
        return local.isoformat(), self._when(local)

    def type_label(self, message_type: str) -> str:
        label = self._types.get(message_type)
        if label is None:
            label = self._types[message_type] = type_label(message_type)
        return label

    def status_words(self, status: str) -> str:
        words = self._statuses.get(status)
        if words is None:
            words = self._statuses[status] = status_words(status)
        return words

    def queue_label(self, queue: str) -> str:
        return self._queues.get(queue, queue)


# --- A message's parts --------------------------------------------------------------------


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


def message_parts(message: Message, *, label: Callable[[str], str] | None = None) -> dict[str, Any]:
    """The parts of ``message`` the thread shows, by kind (``label``: a type's label)."""
    payload = _dict(message.payload)
    content = payload.get(message.type)
    body = _dict(content)
    parts: dict[str, Any] = {
        "kind": message.type,
        "label": (label or type_label)(message.type),
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


def tick(message: Message, *, words: Callable[[str], str] | None = None) -> dict[str, str]:
    """The tick of an outbound message: its sign, its class and its status in words."""
    sign, css = TICKS.get(message.status, ("", ""))  # type: ignore[call-overload]
    return {"sign": sign, "css": css, "words": (words or status_words)(message.status)}


# --- The list -------------------------------------------------------------------------------


@dataclass(slots=True)
class ListRow:
    """One conversation of the list, as ``inbox/jinja2/inbox/_list_rows.html`` shows it."""

    pk: int
    href: str  # the conversation's page, with the list's filters
    current: bool  # the conversation open beside the list
    name: str
    you: bool  # the last message is ours
    preview: str  # the last message's text (or what it is), "—" when there is none
    when: str
    unread: str  # "3 unread", "" when all are read
    queue: str
    queue_label: str
    window_open: bool
    channel: str
    assignee: str | None
    team: str | None
    tags: list[str]


def _preview(message: Message | LastMessage | None, display: Display) -> str:
    """The list's line for the last message (``SafeString`` where a translation holds
    the customer's emoji, which is escaped first, as ``{% blocktranslate %}`` does)."""
    if message is None:
        return "—"
    if message.type == MessageType.REACTION:
        if message.text:
            reacted = _("Reacted %(emoji)s") % {"emoji": conditional_escape(message.text)}
            return mark_safe(reacted)  # noqa: S308 - a translation, the emoji escaped
        return _("Took a reaction back")
    if message.text:
        return truncated(message.text, LIST_PREVIEW_CHARS)
    return display.type_label(message.type)


def unread_text(count: int) -> SafeString:
    """``{% blocktranslate count n=count %}{{ n }} unread…`` in Python: the same msgid."""
    n = conditional_escape(str(formats.localize(count)))
    return mark_safe(ngettext("%(n)s unread", "%(n)s unread", count) % {"n": n})  # noqa: S308


def list_words() -> dict[str, str]:
    """The words of every list row, in the page's language."""
    return {"you": _("You:"), "window_open": _("Window open")}


def list_rows(
    rows: Iterable[ListEntry],
    *,
    display: Display,
    href: Callable[[int], str],
    query: str = "",
    current: Conversation | None = None,
    now: datetime | None = None,
) -> list[ListRow]:
    """The list's rows (``selectors.conversation_list_page``'s entries)."""
    now = now or timezone.now()
    suffix = f"?{query}" if query else ""
    current_pk = current.pk if current is not None else None
    shown = []
    for row in rows:
        message = row.last_message
        shown.append(
            ListRow(
                pk=row.pk,
                href=f"{href(row.pk)}{suffix}",
                current=row.pk == current_pk,
                name=row.contact_name,
                you=message is not None and not message.is_inbound,
                preview=_preview(message, display),
                when=display.when(row.last_message_at),
                unread=unread_text(row.unread_count) if row.unread_count else "",
                queue=row.queue,
                queue_label=display.queue_label(row.queue),
                window_open=row.window_open(now),
                channel=row.channel,
                assignee=row.assignee,
                team=row.team,
                tags=row.tag_names,
            )
        )
    return shown


# --- The thread -----------------------------------------------------------------------------


@dataclass(slots=True)
class Bubble:
    """One message or note of the thread, as ``inbox/jinja2/inbox/_items.html`` shows it."""

    item: ThreadItem
    iso: str  # the time, for <time datetime>
    when: str
    message: Message | None = None
    parts: dict[str, Any] = field(default_factory=dict)
    inbound: bool = False
    quote: str | None = None  # the message replied to, in short (None: not on the page)
    tick: dict[str, str] = field(default_factory=dict)
    author: str = ""  # the member who sent it
    reason: str = ""  # why it failed
    send_state: str = ""  # where sending a queued message stands


def bubble_words() -> dict[str, str]:
    """The words of every message of the thread, in the page's language."""
    return {"from_customer": _("From the customer"), "from_us": _("From us")}


def bubbles(items: Iterable[ThreadItem], *, display: Display) -> list[Bubble]:
    """The thread's items (``selectors.thread_read``) with what each shows worked out."""
    shown = []
    for item in items:
        iso, when = display.moment(item.at)
        m = item.message
        if m is None:
            shown.append(Bubble(item=item, iso=iso, when=when))
            continue
        quote = None
        if item.context is not None:
            quote = (
                truncated(item.context.text, QUOTE_CHARS)
                if item.context.text
                else display.type_label(item.context.type)
            )
        inbound = m.is_inbound
        send_state = ""
        if not inbound and m.status == MessageStatus.QUEUED:
            send_state = str(_dict(_dict(m.payload).get("send")).get("state") or "")
        shown.append(
            Bubble(
                item=item,
                iso=iso,
                when=when,
                message=m,
                parts=message_parts(m, label=display.type_label),
                inbound=inbound,
                quote=quote,
                tick={} if inbound else tick(m, words=display.status_words),
                author=m.author.user.get_full_name() if m.author is not None else "",
                reason=failure_reason(m.error_code, m.error_title)
                if m.status == MessageStatus.FAILED
                else "",
                send_state=send_state,
            )
        )
    return shown


def reply_choices(shown: Iterable[Bubble]) -> list[tuple[int, str]]:
    """The customer's texts on the page, in short, that a reply may quote (the
    composer's "In reply to" choices)."""
    return [
        (b.message.pk, truncated(b.message.text, REPLY_TO_CHARS))
        for b in shown
        if b.inbound and b.message is not None and b.message.text
    ]

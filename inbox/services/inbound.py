"""Customers' messages into threads, and Meta's statuses onto our messages.

Both are webhook handlers' services (``inbox/events.py``): idempotent, order-tolerant,
and written in batches, with a fixed number of queries whatever the batch's size.

An inbound message is stored once (unique per Meta message id: a redelivery or a replay
writes nothing and counts nothing again). It joins a thread when its number is a
channel of ours (a ``PhoneNumber`` row) and it was sent after the channel's account was
connected (``WhatsAppAccount.connected_at``, less :data:`CONNECTED_GRACE`: Meta's
timestamps are whole seconds and its clock is not ours); any other message keeps its
row, outside every thread, and shows nowhere (the inbox shows what came after
connecting, as HubSpot's does). In a thread:

1. the contact: by business-scoped user id when the webhook has one, else by phone in
   E.164 (also a contact's mobile, and the other form of a Mexican or Brazilian number,
   ``inbox.phones``), else a new contact; its WhatsApp profile name is kept current;
2. the conversation: the open one (New or Pending) of that contact on that channel, else
   a new one in New; a customer's message in Pending moves it back to New;
3. the conversation's unread count, last inbound time (the 24-hour window), last
   message and change marks follow;
4. media messages get their file fetched in the background (``services.media``);
   reactions point at their message (``context_wamid``); a changed-number system
   message moves the contact to the new number; unsupported types are kept as they
   came; keywords record consent (``inbox.consent``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import F, Q
from django.utils import timezone

from accounts.tenancy import require_tenant
from inbox import phones, tasks
from inbox.consent import Keywords
from inbox.models import (
    MEDIA_TYPES,
    ConsentChange,
    ConsentSource,
    ConsentState,
    Contact,
    Conversation,
    Direction,
    InboxSettings,
    Media,
    Message,
    MessageStatus,
    MessageStatusEvent,
    Queue,
)
from inbox.search_words import words_added_sql, words_text
from inbox.services import integrations
from senders.models import PhoneNumber
from waba_portal.graph import webhooks as wh

CONNECTED_GRACE = timedelta(minutes=10)
BATCH_SIZE = 500
CONSENT_TYPES = ("text", "button")


@dataclass
class _Placed:
    """An inbound message that joins a thread, with its contact and conversation."""

    event: wh.InboundMessage
    channel: PhoneNumber
    contact: Contact
    conversation: Conversation | None = None
    message_pk: int | None = None


def messages_store_inbound(*, events: Sequence[wh.InboundMessage]) -> int:
    """Store inbound messages once each and put them into threads; returns new messages."""
    if not events:
        return 0
    tenant = require_tenant()
    by_id: dict[str, wh.InboundMessage] = {}
    for e in events:
        by_id.setdefault(e.message_id, e)
    known = set(Message.objects.filter(wamid__in=list(by_id)).values_list("wamid", flat=True))
    fresh = sorted(
        (e for wamid, e in by_id.items() if wamid not in known),
        key=lambda e: (e.timestamp or timezone.now(), e.message_id),
    )
    if not fresh:
        return 0
    channels = {
        p.phone_number_id: p
        for p in PhoneNumber.objects.filter(
            phone_number_id__in={e.phone_number_id for e in fresh if e.phone_number_id}
        ).select_related("waba")
    }
    in_threads = [e for e in fresh if _joins_a_thread(e, channels)]
    placed = _contacts_place(in_threads, channels)
    _conversations_place(placed)
    by_wamid = {p.event.message_id: p for p in placed}

    Message.objects.bulk_create(
        [_message_row(tenant, e, by_wamid.get(e.message_id)) for e in fresh],
        ignore_conflicts=True,  # another worker may store the same message meanwhile
        batch_size=BATCH_SIZE,
    )
    if placed:
        pks = dict(Message.objects.filter(wamid__in=list(by_wamid)).values_list("wamid", "pk"))
        for p in placed:
            p.message_pk = pks.get(p.event.message_id)
        _media_queue(tenant, placed)
        _consent_from_keywords(tenant, placed)
        _conversations_update(placed)
        wanted = integrations.wanted_event_types()
        if "message.received" in wanted:
            for p in placed:
                integrations.emit(tenant, "message.received", _received_data(p))
    return len(fresh)


def _joins_a_thread(e: wh.InboundMessage, channels: dict[str, PhoneNumber]) -> bool:
    channel = channels.get(e.phone_number_id or "")
    if channel is None:
        return False
    connected = channel.waba.connected_at
    return not (connected and e.timestamp and e.timestamp < connected - CONNECTED_GRACE)


def _sender_phone(e: wh.InboundMessage) -> str:
    return phones.from_wa_id(e.from_ or e.contact_wa_id)


def _contacts_place(
    events: list[wh.InboundMessage], channels: dict[str, PhoneNumber]
) -> list[_Placed]:
    """Each event's contact: found (BSUID, phone, mobile) or made; changes applied."""
    if not events:
        return []
    wanted_phones: set[str] = set()
    wanted_bsuids: set[str] = set()
    for e in events:
        wanted_phones.update(phones.equivalents(_sender_phone(e)))
        if e.user_id:
            wanted_bsuids.add(e.user_id)
        if e.system and e.system.new_wa_id:
            wanted_phones.update(phones.equivalents(phones.from_wa_id(e.system.new_wa_id)))
        if e.system and e.system.new_user_id:
            wanted_bsuids.add(e.system.new_user_id)
    found = list(
        Contact.objects.filter(
            Q(bsuid__in=wanted_bsuids) | Q(phone__in=wanted_phones) | Q(mobile__in=wanted_phones)
        )
    )
    book = _Book(found)
    made: list[Contact] = []
    changed: dict[int, Contact] = {}
    result: list[_Placed] = []
    for e in events:
        contact = book.find(bsuid=e.user_id, phone=_sender_phone(e))
        if contact is None:
            contact = Contact(
                tenant=require_tenant(),
                wa_id=(e.from_ or e.contact_wa_id or "")[:32],
                phone=_sender_phone(e),
                bsuid=e.user_id,
                username=((e.contact.username if e.contact else "") or "")[:64],
                profile_name=(e.contact_name or "")[:255],
                created_at=e.timestamp or timezone.now(),
            )
            made.append(contact)
            book.add(contact)
        elif _contact_refresh(contact, e, book) and contact.pk:
            changed[contact.pk] = contact
        result.append(_Placed(event=e, channel=channels[e.phone_number_id or ""], contact=contact))
    if made:
        Contact.objects.bulk_create(made, ignore_conflicts=True, batch_size=BATCH_SIZE)
        # Ids are not returned with ignore_conflicts: read them (and any contact another
        # worker made meanwhile, which is then used instead).
        again = Contact.objects.filter(
            Q(bsuid__in=[c.bsuid for c in made if c.bsuid])
            | Q(phone__in=[c.phone for c in made if c.phone])
        )
        stored = _Book(list(again))
        for contact in made:
            twin = stored.find(bsuid=contact.bsuid, phone=contact.phone)
            if twin is not None:
                contact.pk = twin.pk
                contact._state.adding = False
        result = [p for p in result if p.contact.pk is not None]
    if changed:
        Contact.objects.bulk_update(
            list(changed.values()),
            ["wa_id", "phone", "bsuid", "username", "profile_name", "updated_at"],
            batch_size=BATCH_SIZE,
        )
    return result


class _Book:
    """Contacts by BSUID, phone and mobile, for matching a batch's senders in memory."""

    def __init__(self, contacts: list[Contact]) -> None:
        self.by_bsuid: dict[str, Contact] = {}
        self.by_phone: dict[str, Contact] = {}
        self.by_mobile: dict[str, Contact] = {}
        for contact in contacts:
            self.add(contact)

    def add(self, contact: Contact) -> None:
        if contact.bsuid:
            self.by_bsuid[contact.bsuid] = contact
        if contact.phone:
            self.by_phone[contact.phone] = contact
        if contact.mobile:
            self.by_mobile.setdefault(contact.mobile, contact)

    def forget_phone(self, contact: Contact) -> None:
        if contact.phone and self.by_phone.get(contact.phone) is contact:
            del self.by_phone[contact.phone]

    def find(self, *, bsuid: str | None, phone: str) -> Contact | None:
        if bsuid and bsuid in self.by_bsuid:
            return self.by_bsuid[bsuid]
        forms = phones.equivalents(phone)
        for index in (self.by_phone, self.by_mobile):
            for form in forms:
                if form in index:
                    return index[form]
        return None


def _contact_refresh(contact: Contact, e: wh.InboundMessage, book: _Book) -> bool:
    """Bring ``contact`` up to date with what ``e`` says of the sender; True if changed."""
    before = (contact.wa_id, contact.phone, contact.bsuid, contact.username, contact.profile_name)
    if e.contact_name and e.contact_name[:255] != contact.profile_name:
        contact.profile_name = e.contact_name[:255]
    if e.contact and e.contact.username and e.contact.username[:64] != contact.username:
        contact.username = e.contact.username[:64]
    if e.user_id and not contact.bsuid and e.user_id not in book.by_bsuid:
        contact.bsuid = e.user_id
        book.add(contact)
    sender_phone = _sender_phone(e)
    if sender_phone and not contact.phone and not book.find(bsuid=None, phone=sender_phone):
        contact.phone, contact.wa_id = sender_phone, (e.from_ or e.contact_wa_id or "")[:32]
        book.add(contact)
    if e.type == "system" and e.system and e.system.type == "user_changed_number":
        _number_change(contact, e.system, book)
    after = (contact.wa_id, contact.phone, contact.bsuid, contact.username, contact.profile_name)
    if before == after:
        return False
    contact.updated_at = timezone.now()
    return True


def _number_change(contact: Contact, system: wh.SystemChange, book: _Book) -> None:
    """The contact's new number (and new BSUID) from a ``user_changed_number`` message.

    A number (or BSUID) another contact already holds stays theirs: the contact keeps
    its old one, and the system message in the thread says what happened.
    """
    new_phone = phones.from_wa_id(system.new_wa_id)
    holder = book.find(bsuid=None, phone=new_phone) if new_phone else None
    if new_phone and (holder is None or holder is contact):
        book.forget_phone(contact)
        contact.phone, contact.wa_id = new_phone, phones.digits(new_phone)[:32]
        book.add(contact)
    new_bsuid = system.new_user_id
    if new_bsuid and book.by_bsuid.get(new_bsuid) in (None, contact):
        if contact.bsuid and book.by_bsuid.get(contact.bsuid) is contact:
            del book.by_bsuid[contact.bsuid]
        contact.bsuid = new_bsuid
        book.add(contact)


def _conversations_place(placed: list[_Placed]) -> None:
    """Each placed message's open conversation: the one there is, else a new one in New."""
    if not placed:
        return
    pairs = {(p.channel.pk, p.contact.pk) for p in placed}

    def read() -> dict[tuple[int, int], Conversation]:
        rows = (
            Conversation.objects.filter(
                channel_id__in={c for c, _k in pairs}, contact_id__in={k for _c, k in pairs}
            )
            .exclude(queue=Queue.RESOLVED)
            .only("channel_id", "contact_id")  # which one it is: not its words, nor the rest
        )
        return {(c.channel_id, c.contact_id): c for c in rows}

    open_ones = read()
    missing: dict[tuple[int, int], Conversation] = {}
    for p in placed:
        key = (p.channel.pk, p.contact.pk)
        if key in open_ones or key in missing:
            continue
        when = p.event.timestamp or timezone.now()
        missing[key] = Conversation(
            tenant=require_tenant(),
            channel=p.channel,
            contact=p.contact,
            queue=Queue.NEW,
            last_inbound_at=when,
            last_message_at=when,
            last_activity_at=when,
            created_at=when,
        )
    if missing:
        # The one-open constraint turns a conversation another worker opened meanwhile
        # into a conflict: it is read back and used.
        Conversation.objects.bulk_create(
            list(missing.values()), ignore_conflicts=True, batch_size=BATCH_SIZE
        )
        open_ones = read()
    for p in placed:
        p.conversation = open_ones.get((p.channel.pk, p.contact.pk))


def _text(e: wh.InboundMessage) -> str:
    """The message's text as stored: a reaction's is its emoji."""
    return (e.reaction_emoji if e.type == "reaction" else e.text) or ""


def _message_row(tenant: Any, e: wh.InboundMessage, placed: _Placed | None) -> Message:
    context = e.reaction_message_id if e.type == "reaction" else (e.context.id if e.context else "")
    return Message(
        tenant=tenant,
        conversation=placed.conversation if placed else None,
        wamid=e.message_id,
        direction=Direction.INBOUND,
        phone_number_id=e.phone_number_id or "",
        wa_id=e.from_ or "",  # no number: a user known only by their BSUID
        bsuid=e.user_id,
        contact_name=(e.contact_name or "")[:255],
        type=e.type[:32],
        text=_text(e),
        payload=e.raw,
        context_wamid=(context or "")[:160],
        status=MessageStatus.RECEIVED,
        status_rank=0,
        meta_timestamp=e.timestamp,
    )


def _media_queue(tenant: Any, placed: list[_Placed]) -> None:
    rows = [
        Media(
            tenant=tenant,
            message_id=p.message_pk,
            media_id=(p.event.media.id or "")[:64] if p.event.media else "",
            mime_type=((p.event.media.mime_type if p.event.media else "") or "")[:128],
            sha256=((p.event.media.sha256 if p.event.media else "") or "")[:128],
            filename=((p.event.media.filename if p.event.media else "") or "")[:255],
        )
        for p in placed
        if p.event.type in MEDIA_TYPES and p.message_pk is not None
    ]
    if not rows:
        return
    Media.objects.bulk_create(rows, ignore_conflicts=True, batch_size=BATCH_SIZE)
    for row in rows:
        tasks.media_fetch_task.delay_on_commit(tenant.pk, row.message_id)


def _consent_from_keywords(tenant: Any, placed: list[_Placed]) -> None:
    candidates = [p for p in placed if p.event.type in CONSENT_TYPES and p.event.text]
    if not candidates:
        return
    settings = InboxSettings.objects.filter().first()
    keywords = Keywords.of(
        extra_in=settings.opt_in_keywords if settings else (),
        extra_out=settings.opt_out_keywords if settings else (),
    )
    history: list[ConsentChange] = []
    latest: dict[int, tuple[datetime, ConsentState, Contact]] = {}
    for p in candidates:
        state = keywords.state_for(p.event.text)
        if state is None or p.contact.pk is None:
            continue
        when = p.event.timestamp or timezone.now()
        history.append(
            ConsentChange(
                tenant=tenant,
                contact=p.contact,
                state=state,
                source=ConsentSource.KEYWORD,
                keyword=(p.event.text or "").strip()[:64],
                message_id=p.message_pk,
                occurred_at=when,
            )
        )
        if p.contact.pk not in latest or when >= latest[p.contact.pk][0]:
            latest[p.contact.pk] = (when, state, p.contact)
    if not history:
        return
    ConsentChange.objects.bulk_create(history, batch_size=BATCH_SIZE)
    changed = []
    for when, latest_state, contact in latest.values():
        if contact.consent_at is None or when >= contact.consent_at:
            contact.consent = latest_state
            contact.consent_source = ConsentSource.KEYWORD
            contact.consent_at = when
            changed.append(contact)
    if changed:
        Contact.objects.bulk_update(
            changed, ["consent", "consent_source", "consent_at"], batch_size=BATCH_SIZE
        )


# The batch's conversations moved in one statement, each by its own figures (a VALUES
# list joined on the id): Django's bulk_update writes a CASE over every conversation for
# every column, whose expressions cost seconds of Python for a batch of thousands. The
# window and the last message only move forward, whatever order batches commit in.
_CONVERSATIONS_MOVE = """
WITH batch(id, inbound, at, message_id, words) AS (VALUES {rows})
UPDATE inbox_conversation SET
    unread_count = inbox_conversation.unread_count + batch.inbound,
    last_inbound_at = {greatest}(COALESCE(inbox_conversation.last_inbound_at, batch.at), batch.at),
    last_message_id = CASE
        WHEN inbox_conversation.last_message_id IS NULL
          OR inbox_conversation.last_message_at <= batch.at THEN batch.message_id
        ELSE inbox_conversation.last_message_id END,
    last_message_at = {greatest}(COALESCE(inbox_conversation.last_message_at, batch.at), batch.at),
    last_activity_at = %s,
    queue = CASE WHEN inbox_conversation.queue = %s THEN %s ELSE inbox_conversation.queue END,
    version = inbox_conversation.version + 1,
    changed_at = %s{words}
FROM batch
WHERE inbox_conversation.id = batch.id AND inbox_conversation.tenant_id = %s
"""


@dataclass(frozen=True)
class _Move:
    """What a batch's inbound messages do to one conversation."""

    conversation_id: int
    inbound: int  # messages: the unread count goes up by as many
    at: datetime  # the newest one's time
    message_id: int  # the newest one
    words: str  # their texts and the contact's names, for the search (PostgreSQL)


def _conversations_update(placed: list[_Placed]) -> None:
    """Unread counts, times, last message, queue (Pending back to New), change marks and
    search words of the batch's conversations: one UPDATE per ``BATCH_SIZE`` of them."""
    now = timezone.now()
    grouped: dict[int, list[_Placed]] = defaultdict(list)
    for p in placed:
        if p.conversation is not None and p.message_pk is not None:
            grouped[p.conversation.pk].append(p)
    moves = []
    for pk in sorted(grouped):  # in id order: concurrent batches lock rows in one order
        items = grouped[pk]
        newest = max(items, key=lambda p: (p.event.timestamp or now, p.message_pk or 0))
        contact = items[0].contact
        moves.append(
            _Move(
                conversation_id=pk,
                inbound=len(items),
                at=newest.event.timestamp or now,
                message_id=newest.message_pk,  # type: ignore[arg-type]
                words=words_text(
                    [_text(p.event) for p in items], names=(contact.name, contact.profile_name)
                ),
            )
        )
    for start in range(0, len(moves), BATCH_SIZE):
        _conversations_move(moves[start : start + BATCH_SIZE], now=now)


def _conversations_move(
    moves: list[_Move], *, now: datetime, using: str = DEFAULT_DB_ALIAS
) -> None:
    connection = connections[using]
    postgresql = connection.vendor == "postgresql"
    adapt = connection.ops.adapt_datetimefield_value
    sql = _CONVERSATIONS_MOVE.format(
        rows=", ".join(["(%s, %s, %s, %s, %s)"] * len(moves)),
        greatest="GREATEST" if postgresql else "MAX",  # SQLite's two-argument max()
        words=f",\n    search_words = {words_added_sql('batch.words')}" if postgresql else "",
    )
    params: list[Any] = []
    for m in moves:
        params += [m.conversation_id, m.inbound, adapt(m.at), m.message_id, m.words]
    params += [adapt(now), Queue.PENDING.value, Queue.NEW.value, adapt(now), require_tenant().pk]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _received_data(p: _Placed) -> dict[str, Any]:
    return {
        "message": {
            "id": p.message_pk,
            "wamid": p.event.message_id,
            "type": p.event.type,
            "text": p.event.text or "",
            "timestamp": p.event.timestamp,
        },
        "conversation": p.conversation.pk if p.conversation else None,
        "contact": {"id": p.contact.pk, "phone": p.contact.phone, "name": p.contact.display_name},
        "channel": {"id": p.channel.pk, "phone_number_id": p.channel.phone_number_id},
    }


# --- Statuses -------------------------------------------------------------------------------


def message_statuses_apply(*, events: Sequence[wh.MessageStatus]) -> None:
    """Record status reports and move each message's status forward, never back.

    Every report is kept once per (message, status). A message we have no row for
    (sent before it was connected here, or reported before our own row was written)
    gets one, so that its history is complete. The message's status is then set to
    the highest rank reported, with a single UPDATE per status that only touches rows
    whose rank is lower, so concurrent or reordered reports converge. The threads of
    the messages that moved get their change marks (the agents' screens show the ticks).
    """
    if not events:
        return
    tenant = require_tenant()
    wanted = integrations.wanted_event_types()
    seen: set[tuple[str, str]] = set()
    if "message.status" in wanted:
        seen = set(
            MessageStatusEvent.objects.filter(wamid__in=[e.message_id for e in events]).values_list(
                "wamid", "status"
            )
        )
    MessageStatusEvent.objects.bulk_create(
        [
            MessageStatusEvent(
                tenant=tenant,
                wamid=e.message_id,
                status=e.status[:16],
                rank=max(wh.status_rank(e.status), 0),  # -1: a status Meta added since
                recipient_id=e.recipient_id or "",
                meta_timestamp=e.timestamp,
                errors=[err.raw for err in e.errors],
                pricing=e.raw.get("pricing") or {},
                conversation_id=(e.conversation.id or "") if e.conversation else "",
            )
            for e in events
        ],
        ignore_conflicts=True,
        batch_size=BATCH_SIZE,
    )
    best: dict[str, wh.MessageStatus] = {}
    for e in events:
        current = best.get(e.message_id)
        if current is None or wh.status_rank(e.status) > wh.status_rank(current.status):
            best[e.message_id] = e
    # Our own outbound messages have their rows already: one read finds the few that
    # do not, rather than an INSERT … ON CONFLICT attempted for every report.
    known = set(Message.objects.filter(wamid__in=list(best)).values_list("wamid", flat=True))
    Message.objects.bulk_create(
        [
            Message(
                tenant=tenant,
                wamid=e.message_id,
                direction=Direction.OUTBOUND,
                phone_number_id=e.phone_number_id or "",
                wa_id=e.recipient_id or "",
                type="unknown",
                status=MessageStatus.QUEUED,
                status_rank=wh.status_rank("queued"),
            )
            for wamid, e in best.items()
            if wamid not in known
        ],
        ignore_conflicts=True,  # another worker may write the same one meanwhile
        batch_size=BATCH_SIZE,
    )
    by_status: dict[str, list[str]] = defaultdict(list)
    for wamid, e in best.items():
        if e.status != "failed":
            by_status[e.status].append(wamid)
    now = timezone.now()
    moved = 0
    for status, wamids in by_status.items():
        rank = wh.status_rank(status)
        moved += Message.objects.filter(wamid__in=wamids, status_rank__lt=rank).update(
            status=status[:16], status_rank=rank, status_updated_at=now
        )
    for wamid, e in best.items():
        if e.status == "failed":
            error = e.errors[0] if e.errors else None
            moved += Message.objects.filter(
                Q(wamid=wamid), Q(status_rank__lt=wh.status_rank("failed"))
            ).update(
                status=MessageStatus.FAILED,
                status_rank=wh.status_rank("failed"),
                status_updated_at=now,
                error_code=error.code if error else None,
                error_title=((error.title or error.message or "") if error else "")[:255],
                error_details=(error.details or "") if error else "",
            )
    if moved and known:
        Conversation.objects.filter(
            pk__in=Message.objects.filter(wamid__in=list(known), conversation__isnull=False).values(
                "conversation_id"
            )
        ).update(version=F("version") + 1, changed_at=now)
    if "message.status" in wanted:
        for e in events:
            if (e.message_id, e.status[:16]) not in seen:
                integrations.emit(tenant, "message.status", _status_data(e))


def _status_data(e: wh.MessageStatus) -> dict[str, Any]:
    error = e.errors[0] if e.errors else None
    return {
        "wamid": e.message_id,
        "status": e.status,
        "timestamp": e.timestamp,
        "recipient": e.recipient_id or "",
        "error": {"code": error.code, "title": error.title or error.message or ""}
        if error
        else None,
    }

"""Reads of the inbox: the conversation list and its filters, threads, contacts, media,
the change marks the screens poll, and the access helpers.

Access: owners and admins see every channel; an agent sees the conversations of the
channels they have a role on (``senders.selectors.phones_visible_to``). A conversation,
a media file or a contact's conversation on a channel the member cannot see answers
``NotFound``, as another workspace's does. Contacts belong to the workspace: every member
finds them, with the conversations of the channels they see.

Search: PostgreSQL's full-text search (the ``simple`` configuration: no stemming, any
language), word prefixes matched ("pack" finds "package"), over each conversation's
words: its contact's names and its messages' texts (``inbox.search_words``, a GIN index
of conversations: migration 0008); digits also match contacts' numbers (trigram
indexes, 0008). One condition on the list's own query, with the filters; a page is
looked for among the newest conversations first (``conversation_list_page``). SQLite,
the local demo, matches each word with ``LIKE`` instead.
"""

from __future__ import annotations

import contextvars
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from django.contrib.postgres.search import SearchQuery, SearchVector
from django.db import connection
from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.models import MANAGER_ROLES, Membership, Team, person_name
from accounts.tenancy import require_tenant, unscoped
from inbox import phones
from inbox.models import (
    OPEN_QUEUES,
    WINDOW,
    ConsentChange,
    ConsentState,
    Contact,
    Conversation,
    ConversationTag,
    Direction,
    Media,
    Message,
    MessageType,
    Note,
    Queue,
    contact_display_name,
    window_is_open,
)
from inbox.search_words import SEARCH_CONFIG
from senders.models import ChannelRole, ChannelSettings, PhoneNumber, number_label
from senders.selectors import (
    ChannelFacts,
    channel_access_for,
    channel_access_table,
    channel_facts,
    channel_for_phone,
    phone_channel_role,
    phones_visible_to,
    visible_phone_ids,
)
from waba_portal import statements
from waba_portal.choices import choice_label
from waba_portal.errors import get_or_not_found
from waba_portal.guards import parse_id

SEARCH_MAX_WORDS = 8
PAGE_SIZE = 50
SEARCH_CONTACTS_LISTED = 1000  # contacts found by number, passed on as a list
SEARCH_WINDOW = 1000  # the newest conversations a search looks through first
SEARCH_WINDOW_MAX = 4000  # and at most, when the first shows matches but not a page
SEARCH_IDS = 5000  # then the ids of at most this many matches, read as a list
TAG_IDS_LISTED = 5000  # a tag's conversations read as a list, up to this many
THREAD_PAGE = 40  # a thread page: the latest messages, "Earlier messages" for the rest

ASSIGNEE_ANYONE, ASSIGNEE_ME, ASSIGNEE_NOBODY = "anyone", "me", "unassigned"
QUEUE_OPEN, QUEUE_ALL = "open", "all"
WINDOW_OPEN, WINDOW_CLOSED = "open", "closed"


# --- Visibility ----------------------------------------------------------------------------


_memo: contextvars.ContextVar[dict[Any, Any] | None] = contextvars.ContextVar(
    "inbox_request_memo", default=None
)


@contextmanager
def request_memo() -> Iterator[None]:
    """Within the block, remember each member's channel roles and visible numbers once
    read (a page asks several times: its list, thread, side panel and composer). For
    one request's reads; outside a block every call reads afresh."""
    token = _memo.set({})
    try:
        yield
    finally:
        _memo.reset(token)


def _remembered(key: tuple[Any, ...], read: Callable[[], Any]) -> Any:
    memo = _memo.get()
    if memo is None:
        return read()
    if key not in memo:
        memo[key] = read()
    return memo[key]


def _channel(phone: PhoneNumber) -> ChannelSettings:
    return _remembered(  # type: ignore[no-any-return]
        ("channel", phone.pk), lambda: channel_for_phone(phone=phone)
    )


def _facts(phone: PhoneNumber) -> ChannelFacts:
    """What decides the roles on the number's channel, read once: a page that shows the
    member's role and the members who may be assigned asks twice."""
    return _remembered(  # type: ignore[no-any-return]
        ("facts", phone.pk), lambda: channel_facts(_channel(phone))
    )


def _visible_phone_ids(membership: Any) -> list[int]:
    return _remembered(  # type: ignore[no-any-return]
        ("phones", id(membership)),
        lambda: visible_phone_ids(membership),
    )


@dataclass(frozen=True, slots=True)
class ChannelChoice:
    """A number as the list's filter and the empty inbox name it."""

    pk: int
    number: str
    connected_at: datetime | None  # its account's connection

    def __str__(self) -> str:
        return self.number


def channels_listed(membership: Any) -> list[ChannelChoice]:
    """The member's numbers as the list's filter and the empty inbox name them: each
    number and when its account was connected (not the account's other columns, its
    token among them). Every page of the inbox asks: compiled once per set of numbers
    (``waba_portal.statements``)."""
    ids = None
    if membership.role not in MANAGER_ROLES:
        ids = tuple(sorted(_visible_phone_ids(membership)))
        if not ids:
            return []

    def build() -> QuerySet[PhoneNumber, tuple[Any, ...]]:
        phones = (
            PhoneNumber.objects.all() if ids is None else PhoneNumber.objects.filter(pk__in=ids)
        )
        return phones.order_by("display_phone_number").values_list(
            "pk", "display_phone_number", "phone_number_id", "waba__connected_at"
        )

    return [
        ChannelChoice(pk, number_label(display, phone_number_id), connected_at)
        for pk, display, phone_number_id, connected_at in statements.rows(
            ("channels_listed", ids), build
        )
    ]


def channel_role(membership: Any, phone: PhoneNumber) -> ChannelRole | None:
    """The member's role on the number's channel: owners, admins and API keys (which act
    as admins) supervise every channel; the others as ``senders.selectors`` rules."""
    if membership.role in MANAGER_ROLES:
        return ChannelRole.SUPERVISOR
    if _memo.get() is None:
        return phone_channel_role(membership, phone)
    return _remembered(  # type: ignore[no-any-return]
        ("role", id(membership), phone.pk),
        lambda: channel_access_for(membership, _channel(phone), facts=_facts(phone)).role,
    )


def conversations_visible(membership: Any) -> QuerySet[Conversation]:
    rows = Conversation.objects.all()
    if membership.role in MANAGER_ROLES:
        return rows
    if _memo.get() is not None:  # the numbers read once, then a plain list for the planner
        return rows.filter(channel_id__in=_visible_phone_ids(membership))
    return rows.filter(channel__in=phones_visible_to(membership).values("pk"))


def conversation_access(*, membership: Any, conversation_pk: object) -> Conversation:
    """A conversation the member may see, with its contact and channel; else NotFound.
    (Not the channel's WABA: a wide row, with its token, that a page does not show; a
    send that needs it reads it.)"""
    rows = (
        conversations_visible(membership)
        .select_related("contact", "channel", "assignee__user", "team")
        .defer("search_words")
    )
    return get_or_not_found(rows, pk=conversation_pk)


def media_access(*, membership: Any, media_pk: object) -> Media:
    """A media file of a conversation the member may see; else NotFound."""
    visible = conversations_visible(membership).values("pk")
    rows = Media.objects.filter(message__conversation__in=visible).select_related("message")
    return get_or_not_found(rows, pk=media_pk)


def contact_access(*, contact_pk: object) -> Contact:
    return get_or_not_found(Contact.objects.all(), pk=contact_pk)


# --- The list and its filters -----------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    """The list's filters, read from a query string (values that do not fit are dropped)."""

    queue: str = QUEUE_OPEN
    channel: int | None = None
    assignee: str = ASSIGNEE_ANYONE
    team: int | None = None
    tag: str = ""
    window: str = ""
    q: str = ""

    @classmethod
    def of(cls, query: Mapping[str, Any]) -> Filters:
        def text(name: str, limit: int) -> str:
            return " ".join(str(query.get(name) or "").split())[:limit]

        queue = text("queue", 16) or QUEUE_OPEN
        assignee = text("assignee", 16) or ASSIGNEE_ANYONE
        window = text("window", 8)
        return cls(
            queue=queue if queue in (QUEUE_OPEN, QUEUE_ALL, *Queue.values) else QUEUE_OPEN,
            channel=parse_id(query.get("channel")),
            assignee=assignee
            if assignee in (ASSIGNEE_ANYONE, ASSIGNEE_ME, ASSIGNEE_NOBODY)
            else ASSIGNEE_ANYONE,
            team=parse_id(query.get("team")),
            tag=text("tag", 50).lower(),
            window=window if window in (WINDOW_OPEN, WINDOW_CLOSED) else "",
            q=text("q", 100),
        )

    def query(self, **changes: Any) -> dict[str, str]:
        """The filters as query string values (defaults left out), with ``changes``."""
        values = {
            "queue": self.queue,
            "channel": self.channel,
            "assignee": self.assignee,
            "team": self.team,
            "tag": self.tag,
            "window": self.window,
            "q": self.q,
            **changes,
        }
        defaults = {"queue": QUEUE_OPEN, "assignee": ASSIGNEE_ANYONE}
        return {
            k: str(v) for k, v in values.items() if v not in (None, "") and defaults.get(k) != v
        }

    @property
    def narrowed(self) -> bool:
        return bool(self.query())


def _tsquery(text: str) -> str:
    """A prefix query of the words of ``text`` (letters and digits only: never syntax)."""
    words = re.findall(r"\w+", text.casefold())[:SEARCH_MAX_WORDS]
    return " & ".join(f"{w}:*" for w in words)


def _query(tsquery: str) -> SearchQuery:
    return SearchQuery(tsquery, search_type="raw", config=SEARCH_CONFIG)


def name_matches(contacts: QuerySet[Contact], tsquery: str) -> QuerySet[Contact]:
    """``contacts`` whose name or WhatsApp profile name match (the GIN index of 0007)."""
    vector = SearchVector("name", "profile_name", config=SEARCH_CONFIG)
    return contacts.annotate(v=vector).filter(v=_query(tsquery))


def number_q(digits: str) -> Q:
    """A contact's number or mobile holds ``digits`` (the trigram indexes of 0008)."""
    return Q(phone__contains=digits) | Q(mobile__contains=digits)


def _contacts_numbered(digits: str) -> list[int] | QuerySet[Any]:
    """The contacts whose number or mobile holds ``digits``: their ids as a list, which
    lets the planner read conversations by contact through its index (beside the words'
    index), or as a subquery when more than ``SEARCH_CONTACTS_LISTED`` match."""
    found = Contact.objects.filter(number_q(digits)).values_list("pk", flat=True)
    ids = list(found[: SEARCH_CONTACTS_LISTED + 1])
    return ids if len(ids) <= SEARCH_CONTACTS_LISTED else found


def _tagged(name: str) -> list[int] | QuerySet[Any]:
    """The conversations tagged ``name``: their ids as a list (read from the index alone),
    or a subquery when more than ``TAG_IDS_LISTED`` are. With a list the planner starts
    from those conversations; with a subquery it walks the newest conversations and
    looks each one's tags up, which reads every conversation of the other filters when
    none of them has the tag (a tag used on another number: 80-140 ms at 100,000)."""
    found = ConversationTag.objects.filter(name=name).values_list("conversation_id", flat=True)
    if connection.vendor != "postgresql":  # the local demo's few conversations
        return found
    ids = list(found.order_by()[: TAG_IDS_LISTED + 1])
    return ids if len(ids) <= TAG_IDS_LISTED else found


def search_condition(text: str) -> Q | None:
    """Conversations whose messages, contact name or contact number match ``text``."""
    text = text.strip()
    if not text:
        return None
    digits = phones.search_digits(text)
    if connection.vendor == "postgresql":
        tsquery = _tsquery(text)
        condition = Q(pk__in=[])
        if tsquery:  # the words of the contact's names and of the messages
            condition |= Q(search_words=_query(tsquery))
        if digits:
            condition |= Q(contact_id__in=_contacts_numbered(digits))
        return condition
    # SQLite: every word in a message of the conversation or in the contact's names.
    condition = Q()
    for word in re.findall(r"\w+", text)[:SEARCH_MAX_WORDS]:
        texts = Message.objects.filter(text__icontains=word, conversation__isnull=False)
        condition &= (
            Q(pk__in=texts.values("conversation_id"))
            | Q(contact__name__icontains=word)
            | Q(contact__profile_name__icontains=word)
        )
    if not condition:
        condition = Q(pk__in=[])  # nothing but punctuation: nothing matches
    if digits:
        # The numbers of the workspace's contacts looked at once (a subquery), not on
        # each conversation's joined contact row.
        condition |= Q(contact_id__in=Contact.objects.filter(number_q(digits)).values("pk"))
    return condition


def conversation_list(
    *, membership: Any, filters: Filters, now: datetime | None = None
) -> QuerySet[Conversation]:
    """The conversations the member sees that pass ``filters``, newest first."""
    now = now or timezone.now()
    rows = conversations_visible(membership)
    if filters.queue == QUEUE_OPEN:
        rows = rows.filter(queue__in=OPEN_QUEUES)
    elif filters.queue != QUEUE_ALL:
        rows = rows.filter(queue=filters.queue)
    if filters.channel:
        rows = rows.filter(channel_id=filters.channel)
    if filters.assignee == ASSIGNEE_ME:
        rows = rows.filter(assignee_id=getattr(membership, "pk", None))
    elif filters.assignee == ASSIGNEE_NOBODY:
        rows = rows.filter(assignee__isnull=True)
    if filters.team:
        rows = rows.filter(team_id=filters.team)
    if filters.tag:
        rows = rows.filter(pk__in=_tagged(filters.tag))
    if filters.window == WINDOW_OPEN:
        rows = rows.filter(last_inbound_at__gt=now - WINDOW)
    elif filters.window == WINDOW_CLOSED:
        rows = rows.filter(Q(last_inbound_at__lte=now - WINDOW) | Q(last_inbound_at__isnull=True))
    condition = search_condition(filters.q)
    if condition is not None:
        rows = rows.filter(condition)
    return (
        rows.select_related("contact", "channel", "assignee__user", "team", "last_message")
        .defer("search_words")
        .prefetch_related("tags")
        .order_by("-last_message_at", "-id")
    )


def conversation_list_page(
    *, membership: Any, filters: Filters, offset: int = 0, size: int = PAGE_SIZE
) -> tuple[list[ListEntry], bool]:
    """A page of ``conversation_list`` (as ``conversation_page``), a search's in steps.

    A search first looks through the newest ``SEARCH_WINDOW`` conversations that pass
    the other filters: a common word fills the page there. (The planner cannot tell a
    common word from a rare one when it is a prefix: its estimate is a fixed guess, and
    it would read every conversation a common one is in.) When the window holds every
    row, or a page and one more, its answer is the answer: a match outside it is older
    than all of it. When it found matches but too few, a window as much wider as they
    say is tried, if that is at most ``SEARCH_WINDOW_MAX``. Otherwise the words are rare:
    the ids of every match are read through the indexes in no order (up to
    ``SEARCH_IDS``; the planner, guessing again, would walk the whole list newest first
    looking for them), then the page of those. A window costs two queries (its matches,
    whether it held every row), the rest two. Every way gives the same rows."""
    rows = conversation_list(membership=membership, filters=filters)
    if filters.q and connection.vendor == "postgresql":
        others = conversation_list(membership=membership, filters=replace(filters, q=""))
        newest = others.values("pk")
        wanted, width = offset + size + 1, SEARCH_WINDOW
        while True:
            page = _page_rows(rows.filter(pk__in=newest[:width]), offset, size)
            every_row = not newest[width - 1 : width].exists()  # asked always: a fixed count
            if len(page) > size or every_row:
                return _with_tag_names(page[:size]), len(page) > size
            # The matches found say how much wider a window holds the page (twice that,
            # to be sure); one wider than SEARCH_WINDOW_MAX costs more than the indexes.
            wider = width * wanted * 2 // max(len(page), 1)
            if not page or width >= SEARCH_WINDOW_MAX or wider > SEARCH_WINDOW_MAX:
                break
            width = wider
        matching = list(rows.order_by().values_list("pk", flat=True)[: SEARCH_IDS + 1])
        if len(matching) <= SEARCH_IDS:
            rows = others.filter(pk__in=matching)
        return conversation_page(rows, offset=offset, size=size)
    key = _page_key(membership, filters, offset, size)
    return conversation_page(rows, offset=offset, size=size, key=key)


def _page_key(membership: Any, filters: Filters, offset: int, size: int) -> tuple[Any, ...] | None:
    """What a page of the list is built from, when that is all (``waba_portal.statements``
    compiles it once): the member, the numbers they see, the filters and the page. Not
    for a search, a tag (the tag's conversations are read first) or the window (its
    bound is the time of the request), nor outside a ``request_memo`` block."""
    if filters.q or filters.tag or filters.window or _memo.get() is None:
        return None
    manager = membership.role in MANAGER_ROLES
    seen = None if manager else tuple(_visible_phone_ids(membership))
    member = getattr(membership, "pk", None)
    return ("conversation_page", member, membership.role, seen, filters, offset, size)


@dataclass(slots=True)
class LastMessage:
    """What the list shows of a conversation's last message."""

    type: str
    text: str
    is_inbound: bool


@dataclass(slots=True)
class ListEntry:
    """One conversation of the list as read for it: plain values of its six tables (model
    instances of them took 4 ms a page to build, more than the query's own work)."""

    pk: int
    queue: str
    unread_count: int
    last_message_at: datetime | None
    last_inbound_at: datetime | None
    contact_name: str
    channel: str  # the number, as people read it
    assignee: str | None  # the member's name
    team: str | None
    last_message: LastMessage | None
    tag_names: list[str] = field(default_factory=list)

    def window_open(self, now: datetime) -> bool:
        return window_is_open(self.last_inbound_at, now)


# What a row of the list shows (``display.list_rows``): the page reads these columns of
# its seven tables, not the hundred or so of every column.
LIST_ROW_FIELDS = (
    "pk",
    "queue",
    "unread_count",
    "last_message_at",
    "last_inbound_at",
    "contact__name",
    "contact__profile_name",
    "contact__phone",
    "contact__username",
    "contact__bsuid",
    "channel__display_phone_number",
    "channel__phone_number_id",
    "assignee_id",
    "assignee__user__full_name",
    "assignee__user__email",
    "team_id",
    "team__name",
    "last_message_id",
    "last_message__type",
    "last_message__text",
    "last_message__direction",
)


def _list_entry(values: tuple[Any, ...]) -> ListEntry:
    (pk, queue, unread, last_at, inbound_at, name, profile_name, phone, username, bsuid) = values[
        :10
    ]
    (display_phone, phone_number_id, assignee_id, full_name, email, team_id, team) = values[10:17]
    (message_id, message_type, text, direction) = values[17:]
    return ListEntry(
        pk=pk,
        queue=queue,
        unread_count=unread,
        last_message_at=last_at,
        last_inbound_at=inbound_at,
        contact_name=contact_display_name(name, profile_name, phone, username, bsuid),
        channel=number_label(display_phone, phone_number_id),
        assignee=person_name(full_name, email) if assignee_id is not None else None,
        team=team if team_id is not None else None,
        last_message=LastMessage(message_type, text, direction == Direction.INBOUND)
        if message_id is not None
        else None,
    )


def _page_rows(
    rows: QuerySet[Conversation], offset: int, size: int, key: tuple[Any, ...] | None = None
) -> list[ListEntry]:
    def page() -> QuerySet[Conversation, tuple[Any, ...]]:
        found = rows.prefetch_related(None).values_list(*LIST_ROW_FIELDS)
        return found[offset : offset + size + 1]

    found = page() if key is None else statements.rows(key, page)
    return [_list_entry(values) for values in found]


def conversation_page(
    rows: QuerySet[Conversation],
    *,
    offset: int = 0,
    size: int = PAGE_SIZE,
    key: tuple[Any, ...] | None = None,
) -> tuple[list[ListEntry], bool]:
    """One page of ``rows`` and whether there are more (no COUNT over the whole list).
    ``key``: all the page's query is built from, to compile it once (``_page_key``).

    Each row gets its tags' names as ``tag_names``, in order, read in one query for the
    page: a prefetch builds a queryset per row, which costs more than the query."""
    page = _page_rows(rows, offset, size, key)
    return _with_tag_names(page[:size]), len(page) > size


def _with_tag_names(shown: list[ListEntry]) -> list[ListEntry]:
    names: dict[int, list[str]] = {}
    tags = ConversationTag.objects.filter(conversation_id__in=[row.pk for row in shown])
    for conversation_id, name in tags.order_by("name").values_list("conversation_id", "name"):
        names.setdefault(conversation_id, []).append(name)
    for row in shown:
        row.tag_names = names.get(row.pk, [])
    return shown


TAG_CHOICES = 200

# The workspace's distinct tag names in order, by skipping from one name to the next in
# the (tenant, name) index: a few hundred index probes, where DISTINCT reads every tag
# of every conversation (tens of thousands).
_TAG_NAMES_SQL = """
WITH RECURSIVE names(name) AS (
    (SELECT name FROM inbox_conversationtag WHERE tenant_id = %(tenant)s
     ORDER BY name LIMIT 1)
    UNION ALL
    SELECT (SELECT t.name FROM inbox_conversationtag t
            WHERE t.tenant_id = %(tenant)s AND t.name > names.name ORDER BY t.name LIMIT 1)
    FROM names WHERE names.name IS NOT NULL
)
SELECT name FROM names WHERE name IS NOT NULL LIMIT %(limit)s
"""


def tag_names() -> list[str]:
    """The workspace's tag names, in order (the first ``TAG_CHOICES``)."""
    if connection.vendor != "postgresql":
        rows = ConversationTag.objects.order_by("name").values_list("name", flat=True)
        return list(rows.distinct()[:TAG_CHOICES])
    with connection.cursor() as cursor:
        cursor.execute(_TAG_NAMES_SQL, {"tenant": require_tenant().pk, "limit": TAG_CHOICES})
        return [name for (name,) in cursor.fetchall()]


def team_list() -> QuerySet[Team]:
    return Team.objects.order_by("name")


@dataclass(frozen=True, slots=True)
class TeamChoice:
    pk: int
    name: str


def teams_listed() -> list[TeamChoice]:
    """``team_list``'s ids and names, read once within a ``request_memo`` block (a page's
    filters and side panel both show it), the statement compiled once."""

    def read() -> list[TeamChoice]:
        found = statements.rows(("teams_listed",), lambda: team_list().values_list("pk", "name"))
        return [TeamChoice(pk, name) for pk, name in found]

    return _remembered(("teams",), read)  # type: ignore[no-any-return]


# --- Change marks (the screens' polls) ----------------------------------------------------------


def conversations_changed_at() -> datetime | None:
    """When any conversation of the workspace last changed: one indexed query (every
    page and poll of the list asks: compiled once, ``waba_portal.statements``)."""
    found = statements.rows(
        ("conversations_changed_at",),
        lambda: Conversation.objects.order_by("-changed_at").values_list("changed_at")[:1],
    )
    return found[0][0] if found else None


def conversation_mark(*, conversation_pk: int) -> tuple[int, datetime | None] | None:
    """(version, last inbound time) of one conversation of the workspace: one query by
    primary key. It tells no content, so the channel rule is left to the thread's
    rendering (a poll that finds a change renders through ``conversation_access``)."""
    found = statements.rows(
        ("conversation_mark",),
        lambda pk: Conversation.objects.filter(pk=pk).values_list("version", "last_inbound_at"),
        (conversation_pk,),
    )
    return (int(found[0][0]), found[0][1]) if found else None


def tag_names_of(*, conversation_pk: int) -> list[str]:
    """The conversation's tag names, in order."""
    found = statements.rows(
        ("tag_names_of",),
        lambda pk: (
            ConversationTag.objects.filter(conversation_id=pk).order_by("name").values_list("name")
        ),
        (conversation_pk,),
    )
    return [name for (name,) in found]


# --- A thread -----------------------------------------------------------------------------------


@dataclass
class Reaction:
    emoji: str
    at: datetime | None


@dataclass
class ThreadItem:
    """A message or a note of the thread, in time order."""

    at: datetime
    message: Message | None = None
    note: Note | None = None
    media: Media | None = None
    context: Message | None = None  # the message replied to (or reacted to)
    reactions: list[Reaction] = field(default_factory=list)

    @property
    def is_note(self) -> bool:
        return self.note is not None


@dataclass
class Thread:
    items: list[ThreadItem]
    earlier: int | None  # the message id to read earlier ones before, if there are any


def thread_read(
    *, conversation: Conversation, before: int | None = None, size: int = THREAD_PAGE
) -> Thread:
    """The thread's last ``size`` messages (before message ``before``), with the notes of
    their time, each message's file, the message it replies to and its reactions."""
    rows = conversation.messages.all()
    until: datetime | None = None
    if before:
        anchor = rows.filter(pk=before).values_list("meta_timestamp", "pk").first()
        if anchor and anchor[0] is not None:
            until = anchor[0]
            rows = rows.filter(
                Q(meta_timestamp__lt=anchor[0]) | Q(meta_timestamp=anchor[0], pk__lt=anchor[1])
            )
    newest_first = list(
        rows.select_related("author__user").order_by("-meta_timestamp", "-id")[: size + 1]
    )
    earlier = newest_first[size - 1].pk if len(newest_first) > size else None
    messages = list(reversed(newest_first[:size]))
    files = {f.message_id: f for f in _files_of([m.pk for m in messages])}
    by_wamid = {m.wamid: m for m in messages}
    reactions: dict[str, list[Reaction]] = {}
    shown: list[Message] = []
    for m in messages:
        if m.type == MessageType.REACTION and m.context_wamid in by_wamid:
            reactions.setdefault(m.context_wamid, []).append(Reaction(m.text, m.meta_timestamp))
        else:
            shown.append(m)
    wanted = {m.context_wamid for m in shown if m.context_wamid} - set(by_wamid)
    contexts = dict(by_wamid)
    if wanted:
        contexts.update({m.wamid: m for m in Message.objects.filter(wamid__in=list(wanted))})
    items = [
        ThreadItem(
            at=m.meta_timestamp or m.created_at,
            message=m,
            media=files.get(m.pk),
            context=contexts.get(m.context_wamid) if m.context_wamid else None,
            reactions=_latest_reaction(reactions.get(m.wamid, [])),
        )
        for m in shown
    ]
    # The notes of the same stretch of time: from the page's first message (all before
    # it on the first page), up to the message the next page starts with.
    notes = conversation.notes.select_related("author__user")
    if earlier is not None and messages:
        notes = notes.filter(created_at__gte=messages[0].meta_timestamp or messages[0].created_at)
    if until is not None:
        notes = notes.filter(created_at__lt=until)
    return Thread(items=_with_notes(items, list(notes)), earlier=earlier)


def _files_of(message_ids: list[int]) -> list[Media]:
    """The files of a page of messages, in one query (a prefetch builds a queryset per
    message), compiled once per number of messages (their ids its arguments)."""
    if not message_ids:
        return []
    return statements.instances(
        ("thread_files",),
        Media,
        lambda *ids: Media.objects.filter(message_id__in=ids),
        tuple(message_ids),
    )


def _with_notes(items: list[ThreadItem], notes: list[Note]) -> list[ThreadItem]:
    """The notes between the messages, each before the first message that reached us after
    it (our own clock for both: Meta's timestamps are whole seconds and its clock)."""
    merged: list[ThreadItem] = []
    pending = sorted(notes, key=lambda n: (n.created_at, n.pk))
    for item in items:
        received = item.message.created_at if item.message is not None else item.at
        while pending and pending[0].created_at < received:
            note = pending.pop(0)
            merged.append(ThreadItem(at=note.created_at, note=note))
        merged.append(item)
    merged += [ThreadItem(at=n.created_at, note=n) for n in pending]
    return merged


def _latest_reaction(found: list[Reaction]) -> list[Reaction]:
    """The contact's reaction now: the latest one (an empty emoji takes it back). ``found``
    is in the thread's order (time, then arrival)."""
    if not found:
        return []
    latest = found[-1]
    return [latest] if latest.emoji else []


# --- The contact panel, contacts ---------------------------------------------------------------


def consent_history(*, contact: Contact, limit: int = 20) -> list[ConsentChange]:
    return list(ConsentChange.objects.filter(contact=contact).select_related("actor__user")[:limit])


@dataclass(frozen=True, slots=True)
class ConsentLine:
    """A change of a contact's consent as the pages say it (``inbox/_consent_line.html``)."""

    state: str
    source: str
    keyword: str
    actor_name: str  # the member who recorded it, "" when none did
    actor_label: str  # an API key's name
    note: str
    occurred_at: datetime

    def get_state_display(self) -> str:
        return choice_label(ConsentState, self.state)


def consent_lines(*, contact: Contact, limit: int = 20) -> list[ConsentLine]:
    """The contact's latest consent changes, newest first (the panel beside every thread
    shows three: one statement per length, ``waba_portal.statements``)."""
    found = statements.rows(
        ("consent_lines", limit),
        lambda pk: ConsentChange.objects.filter(contact_id=pk).values_list(
            "state",
            "source",
            "keyword",
            "actor_id",
            "actor__user__full_name",
            "actor__user__email",
            "actor_label",
            "note",
            "occurred_at",
        )[:limit],
        (contact.pk,),
    )
    return [_consent_line(*row) for row in found]


def _consent_line(
    state: str,
    source: str,
    keyword: str,
    actor_id: int | None,
    full_name: str,
    email: str,
    actor_label: str,
    note: str,
    occurred_at: datetime,
) -> ConsentLine:
    actor_name = person_name(full_name, email) if actor_id is not None else ""
    return ConsentLine(state, source, keyword, actor_name, actor_label, note, occurred_at)


@dataclass(frozen=True, slots=True)
class OtherConversation:
    """A conversation of the contact as the contact panel and page list it."""

    pk: int
    channel: str  # the number, as people read it
    queue: str
    last_message_at: datetime | None

    def get_queue_display(self) -> str:
        return choice_label(Queue, self.queue)


def contact_conversations(
    *, contact: Contact, membership: Any, exclude: Conversation | None = None
) -> list[OtherConversation]:
    """The contact's conversations the member sees (but ``exclude``), newest first, as
    the contact panel lists them: each one's number, queue and last message time. One
    statement per member (``waba_portal.statements``), the contact and the conversation
    left out its arguments."""
    manager = membership.role in MANAGER_ROLES
    member = None if manager else (membership.tenant_id, membership.pk, membership.role)

    def build(contact_pk: int, excluded: int) -> QuerySet[Conversation, tuple[Any, ...]]:
        rows = Conversation.objects.all()
        if member is not None:  # the member's numbers, in the same query
            tenant_id, pk, role = member
            seen = phones_visible_to(Membership(pk=pk, tenant_id=tenant_id, role=role))
            rows = rows.filter(channel__in=seen.values("pk"))
        rows = rows.filter(contact_id=contact_pk).exclude(pk=excluded)
        return rows.order_by("-last_message_at").values_list(
            "pk",
            "channel__display_phone_number",
            "channel__phone_number_id",
            "queue",
            "last_message_at",
        )[:20]

    excluded = exclude.pk if exclude is not None else 0  # no conversation has id 0
    found = statements.rows(("contact_conversations", member), build, (contact.pk, excluded))
    return [
        OtherConversation(pk, number_label(display, phone_number_id), queue, last_at)
        for pk, display, phone_number_id, queue, last_at in found
    ]


def contact_list(*, q: str = "", consent: str = "") -> QuerySet[Contact]:
    rows = Contact.objects.all()
    text = q.strip()[:100]
    if text:
        condition = Q(name__icontains=text) | Q(profile_name__icontains=text)
        if connection.vendor == "postgresql" and _tsquery(text):
            condition = Q(pk__in=name_matches(Contact.objects.all(), _tsquery(text)).values("pk"))
        digits = phones.search_digits(text)
        if digits:
            condition |= Q(phone__contains=digits) | Q(mobile__contains=digits)
        rows = rows.filter(condition)
    if consent:
        rows = rows.filter(consent=consent)
    return rows.order_by("-created_at", "-id")


# --- Assignment choices ---------------------------------------------------------------------------


def assignable_members(*, conversation: Conversation) -> list[Membership]:
    """The members who see the conversation's channel (they may be assigned it)."""
    channel = _channel(conversation.channel)
    if channel.pk is None:  # no channel row yet: the defaults give every member access
        return list(Membership.objects.select_related("user").order_by("user__email"))
    table = channel_access_table(channel=channel, facts=_facts(conversation.channel))
    return [a.membership for a in table if a.role is not None]


def channel_settings_of(*, phone: PhoneNumber) -> ChannelSettings:
    return _channel(phone)


# --- Across workspaces (the beat) --------------------------------------------------------------


def auto_resolve_tenant_ids(*, idle_before: datetime) -> list[int]:
    """Workspaces with a conversation in New or Pending idle since before ``idle_before``."""
    with unscoped():
        return sorted(
            set(
                Conversation.objects.filter(queue__in=OPEN_QUEUES, last_activity_at__lt=idle_before)
                .values_list("tenant_id", flat=True)
                .distinct()
            )
        )

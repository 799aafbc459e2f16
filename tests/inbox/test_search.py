"""The inbox's search: message text, contacts' names and numbers, with the list's filters,
the channel rules and the workspace's walls.

On PostgreSQL a search is one condition on the list's query: the conversation's words
(``inbox.search_words``) or a contact found by name or number, those contacts passed as
a list of ids, or as a subquery when many match (``SEARCH_CONTACTS_LISTED``); a page is
looked for first among the newest conversations (``SEARCH_WINDOW``). The ``way``
fixture runs each test each way and the answers must be the same. SQLite, the
local demo, matches with ``LIKE``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client

from accounts.models import Membership
from accounts.tenancy import tenant_scope
from inbox import selectors
from inbox.models import Contact, Conversation, Queue
from inbox.search_words import WORDS_BYTES, WORDS_MAX
from inbox.services import contacts, outbound
from senders.models import ChannelMember, ChannelRole, ChannelSettings, PhoneNumber
from tests.factories import PhoneNumberFactory, World, team

from .conftest import Customer
from .threads import thread

pytestmark = pytest.mark.django_db

POSTGRES = connection.vendor == "postgresql"


@pytest.fixture
def phone(world: World) -> PhoneNumber:
    return PhoneNumberFactory(waba__tenant=world.tenant, display_phone_number="+1 555-0100")


@pytest.fixture(params=["listed", "subquery", "narrow", "no ids"])
def way(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """``listed``: the contacts found by number passed on as ids, and the first window
    holds every row; ``subquery``: as if too many contacts matched for a list;
    ``narrow``: a window of 2 (widened up to 8), so that most pages come from the ids of
    the matches; ``no ids``: as ``narrow``, with more matches than ids are read, so the
    page comes from the plain query."""
    if request.param == "subquery":
        monkeypatch.setattr(selectors, "SEARCH_CONTACTS_LISTED", 0)
    if request.param in ("narrow", "no ids"):
        monkeypatch.setattr(selectors, "SEARCH_WINDOW", 2)
        monkeypatch.setattr(selectors, "SEARCH_WINDOW_MAX", 8)
    if request.param == "no ids":
        monkeypatch.setattr(selectors, "SEARCH_IDS", 0)
    yield request.param


def client_of(m: Membership) -> Client:
    c = Client()
    c.force_login(m.user)
    return c


def listed(c: Client, query: str, tenant: str = "acme") -> list[str]:
    response = c.get(f"/t/{tenant}/inbox/{query}")
    assert response.status_code == 200
    return re.findall(r'conversation-name">([^<]*)<', response.content.decode())


def channel_closed(phone: PhoneNumber) -> ChannelSettings:
    with tenant_scope(phone.tenant):
        row, _created = ChannelSettings.objects.update_or_create(
            phone_number=phone,
            defaults={"name": f"Channel {phone.pk}", "all_users": False, "all_teams": False},
        )
        return row


def test_text_names_and_numbers_are_found_with_and_without_plus(
    world: World, phone: PhoneNumber, way: str
) -> None:
    erika = thread(phone, name="Erika Muster", texts=("Wo ist mein Paket?", "Danke"))
    lupe = thread(phone, name="Lupe Fernández", texts=("Hola",))
    thread(phone, name="Someone else", texts=("Nothing to see",))
    with tenant_scope(world.tenant):
        contacts.contact_update(
            actor=world.owner,
            contact=Contact.objects.get(pk=lupe.contact_id),
            name="Guadalupe",
            mobile="+5215512345678",
        )
    c = client_of(world.owner)
    assert listed(c, "?q=paket") == ["Erika Muster"]
    assert listed(c, "?q=PAK") == ["Erika Muster"]  # word prefixes, any case
    assert listed(c, "?q=ist+paket") == ["Erika Muster"]  # every word
    assert listed(c, "?q=paket+danke") == ["Erika Muster"]  # ... in any of its messages
    assert listed(c, "?q=paket+hola") == []  # ... of one conversation
    assert listed(c, "?q=fern") == ["Guadalupe"]  # the profile name
    assert listed(c, "?q=guadalupe+fern") == ["Guadalupe"]  # both names
    assert listed(c, "?q=muster+erika") == ["Erika Muster"]
    number = erika.contact.phone  # "+4917…"
    assert listed(c, f"?q={number[-7:]}") == ["Erika Muster"]  # digits anywhere
    assert listed(c, f"?q=%2B{number[1:]}") == ["Erika Muster"]  # with "+"
    assert listed(c, f"?q={number[1:]}") == ["Erika Muster"]  # without
    spaced = f"{number[:3]} {number[3:7]} {number[7:]}".replace("+", "%2B").replace(" ", "+")
    assert listed(c, f"?q={spaced}") == ["Erika Muster"]  # as people write it
    assert listed(c, "?q=5512345678") == ["Guadalupe"]  # the mobile
    assert listed(c, "?q=nonexistent") == []
    assert listed(c, "?q=%27%20OR%201%3D1%20--%20%26%7C%21") == []  # syntax is never syntax


def test_another_workspace_never_shows(world: World, phone: PhoneNumber, way: str) -> None:
    other_phone = PhoneNumberFactory(
        waba__tenant=world.other_tenant, display_phone_number="+1 555-0199"
    )
    mine = thread(phone, name="Paula Acme", texts=("parcel late",))
    theirs = thread(other_phone, name="Paula Globex", texts=("parcel late",))
    with tenant_scope(world.other_tenant):  # the same number in both workspaces
        Contact.objects.filter(pk=theirs.contact_id).update(phone=mine.contact.phone)
    c = client_of(world.owner)
    for q in ("parcel", "paula", mine.contact.phone[-8:], "globex"):
        assert "Paula Globex" not in listed(c, f"?q={q}&queue=all"), q
    assert listed(c, "?q=parcel") == ["Paula Acme"]
    assert listed(c, f"?q={mine.contact.phone[-8:]}") == ["Paula Acme"]
    globex = client_of(world.other_owner)
    assert listed(globex, "?q=parcel", tenant="globex") == ["Paula Globex"]
    assert listed(globex, "?q=acme", tenant="globex") == []


def test_filters_and_channel_access_apply_to_a_search(
    world: World, phone: PhoneNumber, way: str
) -> None:
    other_phone = PhoneNumberFactory(waba=phone.waba)
    closed_phone = PhoneNumberFactory(waba=phone.waba)
    channel_closed(closed_phone)
    support = team(world.tenant, "Support")
    thread(phone, name="New mine", texts=("refund please",), assignee=world.agent, tags=("vip",))
    thread(phone, name="Pending support", texts=("refund",), queue=Queue.PENDING, team=support)
    thread(phone, name="Resolved", texts=("refund done",), queue=Queue.RESOLVED)
    thread(other_phone, name="Other line", texts=("refund?",), last_inbound=timedelta(hours=30))
    thread(closed_phone, name="Closed line", texts=("refund!",))
    thread(phone, name="No match", texts=("hello",), tags=("vip",))
    owner, agent = client_of(world.owner), client_of(world.agent)
    open_ones = ["Closed line", "New mine", "Other line", "Pending support"]
    assert sorted(listed(owner, "?q=refund")) == open_ones
    assert sorted(listed(agent, "?q=refund")) == [o for o in open_ones if o != "Closed line"]
    assert len(listed(owner, "?q=refund&queue=all")) == 5
    assert listed(owner, "?q=refund&queue=resolved") == ["Resolved"]
    assert listed(owner, f"?q=refund&channel={other_phone.pk}") == ["Other line"]
    assert listed(agent, f"?q=refund&channel={closed_phone.pk}") == []
    assert listed(agent, "?q=refund&assignee=me") == ["New mine"]
    assert listed(owner, f"?q=refund&team={support.pk}") == ["Pending support"]
    assert listed(owner, "?q=refund&tag=vip") == ["New mine"]
    assert listed(owner, "?q=refund&window=closed") == ["Other line"]
    assert sorted(listed(owner, "?q=refund&window=open")) == [
        "Closed line",
        "New mine",
        "Pending support",
    ]


def test_pages_of_a_search_are_newest_first_and_the_same_either_way(
    world: World, phone: PhoneNumber, way: str
) -> None:
    """Matches by text, by name and by number, among rows that do not match, over pages."""
    made = []
    for i in range(24):
        kind = i % 4
        made.append(
            thread(
                phone,
                name=f"Tamara {i}" if kind == 1 else f"Other {i}",
                texts=("where is my parcel",) if kind == 0 else ("hello",),
                last_inbound=timedelta(minutes=100 - i),
            )
        )
    with tenant_scope(world.tenant):
        for conversation in made[2::4]:
            Contact.objects.filter(pk=conversation.contact_id).update(mobile="+4369912345")
        member = world.owner
        for q, expected in (
            ("parcel", made[0::4]),
            ("tamara", made[1::4]),
            ("69912345", made[2::4]),
        ):
            newest = [row.pk for row in reversed(expected)]
            filters = selectors.Filters.of({"q": q})
            first, more = selectors.conversation_list_page(
                membership=member, filters=filters, size=4
            )
            assert [row.pk for row in first] == newest[:4], q
            assert more
            rest, more = selectors.conversation_list_page(
                membership=member, filters=filters, offset=4, size=4
            )
            assert [row.pk for row in rest] == newest[4:], q
            assert not more
            assert all(hasattr(row, "tag_names") for row in first + rest)


def test_an_agent_on_one_channel_searches_only_it(
    world: World, phone: PhoneNumber, way: str
) -> None:
    channel = channel_closed(phone)
    other = PhoneNumberFactory(waba=phone.waba)
    channel_closed(other)
    with tenant_scope(world.tenant):
        ChannelMember.objects.create(
            channel=channel, membership=world.agent, role=ChannelRole.CONTRIBUTOR
        )
    thread(phone, name="Visible", texts=("invoice",))
    hidden = thread(other, name="Hidden", texts=("invoice",))
    c = client_of(world.agent)
    assert listed(c, "?q=invoice") == ["Visible"]
    assert listed(c, f"?q={hidden.contact.phone}".replace("+", "%2B")) == []
    assert listed(c, "?q=hidden") == []
    with tenant_scope(world.tenant):
        assert Conversation.objects.filter(channel=other).count() == 1


def test_a_new_message_and_our_reply_are_found_at_once(
    world: World, customer: Customer, way: str
) -> None:
    """The words grow as the services store messages: no refresh in between."""
    customer.says(**{"from": "4915112345678"}, name="Erika", text="Wo bleibt die Lieferung?")
    c = client_of(world.owner)
    assert listed(c, "?q=lieferung") == ["Erika"]
    assert listed(c, "?q=gutschein") == []
    customer.says(**{"from": "4915112345678"}, name="Erika", text="Und der Gutschein?")
    assert listed(c, "?q=gutschein") == ["Erika"]
    assert listed(c, "?q=lieferung") == ["Erika"]  # the earlier words stay
    with tenant_scope(world.tenant):
        conversation = Conversation.objects.get()
        outbound.reply_text(actor=world.owner, conversation=conversation, text="Ihr Rabattcode")
    assert listed(c, "?q=rabattcode") == ["Erika"]
    assert listed(c, "?q=lieferung+gutschein") == ["Erika"]  # words of two messages


@pytest.mark.skipif(not POSTGRES, reason="PostgreSQL's search words")
def test_the_words_are_the_lexemes_of_every_message_and_refresh_gives_the_same(
    world: World, phone: PhoneNumber
) -> None:
    from inbox.search_words import words_refresh

    row = thread(phone, texts=("Paket PAKET Lieferung", "", "ok"), outbound=(("Danke!", "sent"),))
    with tenant_scope(world.tenant):
        words = Conversation.objects.values_list("search_words", flat=True).get(pk=row.pk)
        # The contact's names and every text, each word once, no positions.
        assert words == "'ana' 'danke' 'lieferung' 'lima' 'ok' 'paket'"
        Conversation.objects.filter(pk=row.pk).update(search_words=None)
        words_refresh([row.pk])
        again = Conversation.objects.values_list("search_words", flat=True).get(pk=row.pk)
    assert again == words


def test_a_renamed_contact_is_found_by_the_new_name_only(
    world: World, phone: PhoneNumber, way: str
) -> None:
    row = thread(phone, name="Erika Muster", texts=("Hallo",))
    c = client_of(world.owner)
    with tenant_scope(world.tenant):
        contact = Contact.objects.get(pk=row.contact_id)
        contacts.contact_update(actor=world.owner, contact=contact, name="Frau Schmidt")
    assert listed(c, "?q=schmidt") == ["Frau Schmidt"]
    assert listed(c, "?q=frau+hallo") == ["Frau Schmidt"]  # a name and a text together
    assert listed(c, "?q=muster") == ["Frau Schmidt"]  # WhatsApp's profile name stays
    with tenant_scope(world.tenant):
        contact = Contact.objects.get(pk=row.contact_id)
        contacts.contact_update(actor=world.owner, contact=contact, name="Erika")
    assert listed(c, "?q=schmidt") == []
    assert listed(c, "?q=erika") == ["Erika"]


def _many_words(count: int, *, start: int = 0, pad: int = 0) -> str:
    """``count`` distinct words of 12 letters (and ``pad`` more)."""
    return " ".join(f"wort{'x' * pad}{i:08d}" for i in range(start, start + count))


@pytest.mark.skipif(not POSTGRES, reason="PostgreSQL's search words")
@pytest.mark.parametrize(
    ("pad", "texts", "kept"),
    [
        (0, 120, WORDS_MAX),  # 120,000 words of 12 letters, 1.6 MB: the number binds
        (28, 30, WORDS_BYTES // (40 + 4)),  # 30,000 of 40, 1.3 MB: the bytes bind
    ],
    ids=["words", "bytes"],
)
def test_a_conversation_of_more_words_than_a_tsvector_holds_can_still_be_renamed(
    world: World, phone: PhoneNumber, pad: int, texts: int, kept: int
) -> None:
    """Its texts hold more distinct words than a tsvector takes (PostgreSQL refuses one
    over 1 MB): the refresh keeps the earliest that fit, and renaming the contact works."""
    row = thread(
        phone,
        name="Erika Muster",
        texts=tuple(_many_words(1_000, start=i * 1_000, pad=pad) for i in range(texts)),
    )
    c = client_of(world.owner)
    with tenant_scope(world.tenant):
        contact = Contact.objects.get(pk=row.contact_id)
        contacts.contact_update(actor=world.owner, contact=contact, name="Frau Schmidt")
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT length(search_words) FROM inbox_conversation WHERE id = %s", [row.pk]
            )
            words = cursor.fetchone()[0]
    assert words == kept + 4  # and frau, schmidt, erika, muster
    assert listed(c, "?q=schmidt") == ["Frau Schmidt"]
    first, last = (f"wort{'x' * pad}{i:08d}" for i in (kept - 1, kept))
    assert listed(c, f"?q={first}") == ["Frau Schmidt"]  # the earliest words stay
    assert listed(c, f"?q={last}") == []  # the next one did not fit


@pytest.mark.skipif(not POSTGRES, reason="PostgreSQL's search words")
def test_a_message_to_a_conversation_whose_words_are_full_is_stored_without_its_words(
    world: World, phone: PhoneNumber
) -> None:
    """Words are added while they fit: a conversation near the 1 MB a tsvector holds
    takes new messages, and their new words are not added (``||`` of tsvectors does not
    check the size, and a tsvector's word offsets end at 1 MB)."""
    row = thread(phone, name="Erika", texts=("Hallo",))
    with tenant_scope(world.tenant), connection.cursor() as cursor:
        # 43,600 words of 20 letters: under WORDS_MAX, 8 bytes short of what a tsvector holds.
        cursor.execute(
            "UPDATE inbox_conversation SET search_words = strip(to_tsvector('simple',"
            " (SELECT string_agg('langeswort' || lpad(g::text, 10, '0'), ' ')"
            " FROM generate_series(1, 43600) g))) WHERE id = %s",
            [row.pk],
        )
        conversation = Conversation.objects.get(pk=row.pk)
        outbound.reply_text(actor=world.owner, conversation=conversation, text=_many_words(300))
        cursor.execute(
            "SELECT length(search_words) FROM inbox_conversation WHERE id = %s", [row.pk]
        )
        assert cursor.fetchone()[0] == 43_600
        assert conversation.messages.filter(text__startswith="wort00000000").exists()

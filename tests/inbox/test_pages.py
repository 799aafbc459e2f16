"""The agents' screen: the list and its filters, search, the thread, the actions, polling,
the channel rules, a second workspace, contacts and the consent keywords."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import AuditEvent, Membership, User
from accounts.tenancy import tenant_scope
from inbox.models import (
    ConsentChange,
    ConsentState,
    Contact,
    Conversation,
    InboxSettings,
    MessageStatus,
    Note,
    Queue,
)
from inbox.services import inbound
from senders.models import ChannelMember, ChannelRole, ChannelSettings, ChannelTeam, PhoneNumber
from tests.factories import PhoneNumberFactory, World, member, team
from waba_portal.graph import webhooks as W
from waba_portal.webhooks import samples

from .threads import thread

pytestmark = pytest.mark.django_db

HX = {"HX-Request": "true"}


@pytest.fixture
def phone(world: World) -> PhoneNumber:
    return PhoneNumberFactory(waba__tenant=world.tenant, display_phone_number="+1 555-0100")


def client_of(m: Membership) -> Client:
    c = Client()
    c.force_login(m.user)
    return c


def names(page: str) -> list[str]:
    return re.findall(r'conversation-name">([^<]*)<', page)


def listed(c: Client, query: str = "") -> list[str]:
    response = c.get(f"/t/acme/inbox/{query}")
    assert response.status_code == 200
    return sorted(names(response.content.decode()))


def channel_row(phone: PhoneNumber, **fields: Any) -> ChannelSettings:
    with tenant_scope(phone.tenant):
        row, _created = ChannelSettings.objects.update_or_create(
            phone_number=phone, defaults={"name": f"Channel {phone.pk}", **fields}
        )
        return row


# --- The list ------------------------------------------------------------------------------


def test_the_list_filters_by_queue_channel_assignee_team_tag_and_window(
    world: World, phone: PhoneNumber
) -> None:
    other_phone = PhoneNumberFactory(waba=phone.waba)
    support = team(world.tenant, "Support")
    thread(phone, name="New and mine", assignee=world.owner, tags=("vip",))
    thread(phone, name="Pending for support", queue=Queue.PENDING, team=support)
    thread(phone, name="Resolved", queue=Queue.RESOLVED)
    thread(other_phone, name="Other channel, window closed", last_inbound=timedelta(hours=30))
    c = client_of(world.owner)
    open_ones = ["New and mine", "Other channel, window closed", "Pending for support"]
    assert listed(c) == open_ones  # open: New and Pending
    assert listed(c, "?queue=resolved") == ["Resolved"]
    assert len(listed(c, "?queue=all")) == 4
    assert listed(c, "?queue=pending") == ["Pending for support"]
    assert listed(c, f"?channel={other_phone.pk}") == ["Other channel, window closed"]
    assert listed(c, "?assignee=me") == ["New and mine"]
    assert listed(c, "?assignee=unassigned") == [open_ones[1], open_ones[2]]
    assert listed(c, f"?team={support.pk}") == ["Pending for support"]
    assert listed(c, "?tag=vip") == ["New and mine"]
    assert listed(c, "?window=closed") == ["Other channel, window closed"]
    assert listed(c, "?window=open") == ["New and mine", "Pending for support"]
    assert listed(c, "?queue=bogus&assignee=everyone&window=x") == open_ones  # ignored
    page = c.get("/t/acme/inbox/?tag=nothing").content.decode()
    assert "No conversation matches these filters." in page


def test_unread_badges_and_reading_a_thread_clears_them(world: World, phone: PhoneNumber) -> None:
    conversation = thread(phone, name="Two waiting", texts=("one", "two"))
    c = client_of(world.agent)
    assert "2 unread" in c.get("/t/acme/inbox/").content.decode()
    assert c.get(f"/t/acme/inbox/c/{conversation.pk}/").status_code == 200
    assert "unread" not in c.get("/t/acme/inbox/").content.decode().split("conversation-list")[1]
    with tenant_scope(world.tenant):
        assert Conversation.objects.get(pk=conversation.pk).unread_count == 0


def test_the_list_takes_the_same_queries_for_5_and_40_conversations(
    world: World, phone: PhoneNumber
) -> None:
    c = client_of(world.owner)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert c.get("/t/acme/inbox/").status_code == 200
        return len(queries)

    for i in range(5):
        thread(phone, name=f"c{i}", tags=("a", "b"), assignee=world.agent)
    few = count()
    # Rows whose text falls back on other columns (the list reads only the columns it
    # shows): contacts known by number or business-scoped id only, an assignee without a
    # name, a number without a display number.
    bare = PhoneNumberFactory(waba=phone.waba, display_phone_number="")
    with tenant_scope(world.tenant):
        User.objects.filter(pk=world.admin.user_id).update(full_name="")
        hidden = [
            Contact.objects.create(wa_id="", phone="", bsuid=f"US.{i}", profile_name="")
            for i in range(5)
        ]
    for i in range(30):
        thread(bare if i % 2 else phone, name="", tags=("a",), assignee=world.admin)
    for contact in hidden:
        thread(phone, contact=contact, texts=("hi",))
    page = c.get("/t/acme/inbox/").content.decode()
    assert "US.0" in page and world.admin.user.email in page and bare.phone_number_id in page
    assert count() == few


def test_the_inbox_pages_never_read_an_account_token(world: World, phone: PhoneNumber) -> None:
    """The list, its filters and a thread name the numbers; the WhatsApp account's token
    (read only by what sends) is not among the columns they read."""
    conversation = thread(phone, name="Token free", texts=("hello",))
    for who in (world.owner, world.agent):
        c = client_of(who)
        for url in (
            "/t/acme/inbox/",
            f"/t/acme/inbox/c/{conversation.pk}/",
            "/t/acme/inbox/?q=hel",
        ):
            with CaptureQueriesContext(connection) as queries:
                assert c.get(url).status_code == 200
            assert queries.captured_queries
            assert not [q["sql"] for q in queries.captured_queries if "access_token" in q["sql"]]


# --- Search ---------------------------------------------------------------------------------


def test_search_finds_message_text_names_and_numbers(world: World, phone: PhoneNumber) -> None:
    parcel = thread(phone, name="Erika", texts=("Wo ist mein Paket?",))
    lupe = thread(phone, name="Lupe Fernández", texts=("Hola",))
    thread(phone, name="Someone else", texts=("Nothing to see",))
    c = client_of(world.owner)
    assert listed(c, "?q=paket") == ["Erika"]
    assert listed(c, "?q=pak") == ["Erika"]  # word prefixes
    assert listed(c, "?q=fern") == ["Lupe Fernández"]
    digits = lupe.contact.phone[-6:]
    assert listed(c, f"?q={digits}") == ["Lupe Fernández"]
    assert listed(c, "?q=%2B" + parcel.contact.phone[1:]) == ["Erika"]
    assert listed(c, "?q=nonexistent") == []
    assert listed(c, "?q=%27%20OR%201%3D1%20--%20%26%7C%21") == []  # syntax is never syntax


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's full-text search")
def test_the_search_expressions_are_the_gin_indexes(world: World, phone: PhoneNumber) -> None:
    from django.contrib.postgres.search import SearchQuery

    from accounts.tenancy import unscoped
    from inbox import selectors
    from inbox.models import Conversation

    thread(phone, texts=("Paket",))
    words = SearchQuery("paket:*", search_type="raw", config="simple")
    plans = {}
    with unscoped(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        for name, rows in (
            ("conversation_search_words", Conversation.objects.filter(search_words=words)),
            ("inbox_contact_name_search", selectors.name_matches(Contact.objects.all(), "ana:*")),
            ("inbox_contact_phone_digits", Contact.objects.filter(selectors.number_q("1511234"))),
            ("inbox_contact_mobile_digits", Contact.objects.filter(selectors.number_q("1511234"))),
        ):
            sql, params = rows.values("pk").query.sql_with_params()
            cursor.execute("EXPLAIN " + sql, params)
            plans[name] = "\n".join(row[0] for row in cursor.fetchall())
    for name, plan in plans.items():
        assert f"Bitmap Index Scan on {name}" in plan, plan


# --- Polling --------------------------------------------------------------------------------

MIDDLEWARE_TABLES = ("django_session", "accounts_user", "accounts_membership", "accounts_tenant")


def inbox_queries(queries: CaptureQueriesContext) -> list[str]:
    """The request's queries but the session's, the user's and the membership's."""
    return [
        q["sql"]
        for q in queries.captured_queries
        if not any(f'"{table}"' in q["sql"].split(" WHERE ")[0] for table in MIDDLEWARE_TABLES)
    ]


def test_an_idle_list_poll_answers_204_or_304_with_one_indexed_query(
    world: World, phone: PhoneNumber
) -> None:
    thread(phone, name="Idle")
    c = client_of(world.agent)
    with time_machine.travel(timezone.now() + timedelta(seconds=30)):
        first = c.get("/t/acme/inbox/poll/", headers=HX)
        assert first.status_code == 200 and "Idle" in first.content.decode()
        stamp = re.search(r"since=(\d+)", first.content.decode())
        assert stamp
        etag = first["ETag"]
        with CaptureQueriesContext(connection) as queries:
            idle = c.get(f"/t/acme/inbox/poll/?since={stamp[1]}", headers=HX)
        assert (idle.status_code, idle.content) == (204, b"")
        (query,) = inbox_queries(queries)
        assert 'FROM "inbox_conversation"' in query and "ORDER BY" in query and "LIMIT 1" in query
        conditional = c.get("/t/acme/inbox/poll/", headers={"If-None-Match": etag})
        assert conditional.status_code == 304


def test_the_list_poll_shows_a_change_and_keeps_showing_it_while_it_settles(
    world: World, phone: PhoneNumber
) -> None:
    conversation = thread(phone, name="Before")
    c = client_of(world.agent)
    later = timezone.now() + timedelta(seconds=30)
    with time_machine.travel(later):
        stamp = re.search(r"since=(\d+)", c.get("/t/acme/inbox/poll/").content.decode())
        assert stamp
        with tenant_scope(world.tenant):
            Contact.objects.filter(pk=conversation.contact_id).update(profile_name="After")
            Conversation.objects.filter(pk=conversation.pk).update(changed_at=timezone.now())
        seen = c.get(f"/t/acme/inbox/poll/?since={stamp[1]}", headers=HX)
        assert seen.status_code == 200 and "After" in seen.content.decode()
        new_stamp = re.search(r"since=(\d+)", seen.content.decode())
        assert new_stamp and new_stamp[1] != stamp[1]
        # Within the settle time the same mark still renders: a transaction that
        # committed late with an older time is not missed.
        assert c.get(f"/t/acme/inbox/poll/?since={new_stamp[1]}", headers=HX).status_code == 200
    with time_machine.travel(later + timedelta(seconds=30)):
        assert c.get(f"/t/acme/inbox/poll/?since={new_stamp[1]}", headers=HX).status_code == 204


@pytest.mark.parametrize("listed_up_to", [5000, 1])
def test_a_tag_filters_alike_as_a_list_of_ids_or_a_subquery(
    world: World, phone: PhoneNumber, listed_up_to: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A tag's conversations are read first, as a list of ids, unless there are more than
    ``TAG_IDS_LISTED`` (then a subquery): the same answers either way, another number's
    tag and another workspace's included."""
    from inbox import selectors

    monkeypatch.setattr(selectors, "TAG_IDS_LISTED", listed_up_to)
    other_phone = PhoneNumberFactory(waba__tenant=world.tenant, display_phone_number="+1 555-0199")
    thread(phone, name="Tagged one", tags=("b2b",))
    thread(phone, name="Tagged two", tags=("b2b", "vip"))
    thread(phone, name="Untagged")
    thread(other_phone, name="Other number", tags=("wholesale",))
    globex_phone = PhoneNumberFactory(waba__tenant=world.other_tenant)
    thread(globex_phone, name="Globex tagged", tags=("b2b",))
    c = client_of(world.owner)
    with CaptureQueriesContext(connection) as queries:
        assert listed(c, "?tag=b2b") == ["Tagged one", "Tagged two"]
    as_list = any(
        " IN (" in q["sql"] and "inbox_conversationtag" not in q["sql"]
        for q in queries.captured_queries
        if '"inbox_contact"' in q["sql"]
    )
    # (SQLite, the local demo, always asks with the subquery: its lists are short.)
    assert as_list is (listed_up_to > 1 and connection.vendor == "postgresql")
    assert listed(c, f"?tag=wholesale&channel={phone.pk}") == []
    assert listed(c, f"?tag=wholesale&channel={other_phone.pk}") == ["Other number"]


def test_a_fragment_reads_no_navigation_and_the_page_reads_it_once(
    world: World, phone: PhoneNumber
) -> None:
    """The tenant switcher and the unread count are the page's navigation: a list poll
    that renders the list reads neither; the page reads each once."""
    thread(phone, name="Erika")
    c = client_of(world.agent)

    def tables(path: str, **kwargs: Any) -> list[str]:
        with CaptureQueriesContext(connection) as queries:
            assert c.get(path, **kwargs).status_code == 200
        return [q["sql"] for q in queries.captured_queries]

    navigation = ('"accounts_notification"', 'AS "tenant__slug"')  # the count, the switcher
    fragment = tables("/t/acme/inbox/poll/", headers=HX)
    assert [sql for sql in fragment if any(n in sql for n in navigation)] == []
    page = tables("/t/acme/inbox/")
    assert [sum(n in sql for sql in page) for n in navigation] == [1, 1]


def _reply(conversation: Conversation, wamid: str) -> None:
    from inbox.models import Direction, Message

    with tenant_scope(conversation.tenant):
        Message.objects.create(
            conversation=conversation,
            wamid=wamid,
            direction=Direction.OUTBOUND,
            phone_number_id=conversation.channel.phone_number_id,
            wa_id=conversation.contact.wa_id,
            type="text",
            text="On its way!",
            status=MessageStatus.SENT,
            meta_timestamp=timezone.now(),
        )


def test_the_thread_poll_is_one_query_when_idle_and_shows_messages_and_ticks(
    world: World, phone: PhoneNumber
) -> None:
    conversation = thread(phone, name="Polled", texts=("first",))
    c = client_of(world.agent)
    page = c.get(f"/t/acme/inbox/c/{conversation.pk}/").content.decode()
    poll = re.search(r'hx-get="(/t/acme/inbox/c/\d+/poll/\?since=\d+&amp;w=1)"', page)
    assert poll, "the thread polls"
    url = poll[1].replace("&amp;", "&")
    with CaptureQueriesContext(connection) as queries:
        idle = c.get(url, headers=HX)
    assert (idle.status_code, idle.content) == (204, b"")
    (query,) = inbox_queries(queries)
    assert 'FROM "inbox_conversation"' in query and '"inbox_conversation"."id" =' in query

    # A customer's message arrives: the next poll shows it.
    value = samples.inbound_text(
        phone_number_id=phone.phone_number_id, from_=conversation.contact.wa_id, text="second!"
    )
    events = W.parse_payload(
        samples.envelope((phone.waba.waba_id, [samples.change("messages", value)]))
    )
    with tenant_scope(world.tenant):
        inbound.messages_store_inbound(
            events=[e for e in events if isinstance(e, W.InboundMessage)]
        )
    shown = c.get(url, headers=HX)
    assert shown.status_code == 200 and "second!" in shown.content.decode()

    # Our reply's tick moves: the poll after the status shows it read.
    wamid = samples.wamid()
    _reply(conversation, wamid)
    status = samples.status(phone_number_id=phone.phone_number_id, msg_id=wamid, status="read")
    events = W.parse_payload(
        samples.envelope((phone.waba.waba_id, [samples.change("messages", status)]))
    )
    page = shown.content.decode()
    url = re.search(r'hx-get="([^"]+/poll/[^"]+)"', page)[1].replace("&amp;", "&")  # type: ignore[index]
    with tenant_scope(world.tenant):
        inbound.message_statuses_apply(events=[e for e in events if isinstance(e, W.MessageStatus)])
    ticked = c.get(url, headers=HX).content.decode()
    assert "tick-read" in ticked and "On its way!" in ticked


def test_the_thread_poll_renders_when_the_window_closes(world: World, phone: PhoneNumber) -> None:
    conversation = thread(phone, last_inbound=timedelta(hours=23, minutes=59))
    c = client_of(world.agent)
    page = c.get(f"/t/acme/inbox/c/{conversation.pk}/").content.decode()
    assert "Window open: 0 h 0 min left" in page or "Window open: 0 h 1 min left" in page
    url = re.search(r'hx-get="([^"]+/c/\d+/poll/[^"]+)"', page)[1].replace("&amp;", "&")  # type: ignore[index]
    assert c.get(url, headers=HX).status_code == 204
    with time_machine.travel(timezone.now() + timedelta(minutes=5)):
        closed = c.get(url, headers=HX)
    assert closed.status_code == 200
    assert "Window closed: only templates can be sent" in closed.content.decode()


def test_the_window_says_how_long_it_is_open(world: World, phone: PhoneNumber) -> None:
    conversation = thread(phone, last_inbound=timedelta(minutes=50))
    page = client_of(world.agent).get(f"/t/acme/inbox/c/{conversation.pk}/").content.decode()
    assert "Window open: 23 h 10 min left" in page or "Window open: 23 h 9 min left" in page
    assert 'id="composer"' in page and "data-window-closes=" in page


# --- Actions ----------------------------------------------------------------------------------


def test_assign_move_tag_and_note_in_place(world: World, phone: PhoneNumber) -> None:
    support = team(world.tenant, "Support", world.agent)
    conversation = thread(phone, name="Worked on")
    base = f"/t/acme/inbox/c/{conversation.pk}"
    c = client_of(world.agent)

    answer = c.post(f"{base}/assign/", {"assignee": "me", "team": support.pk}, headers=HX)
    html = answer.content.decode()
    assert answer.status_code == 200
    assert 'id="conversation-side"' in html and 'hx-swap-oob="true"' in html
    assert "Assigned to" in html
    answer = c.post(f"{base}/move/", {"queue": "pending"}, headers=HX)
    assert "Moved to Pending." in answer.content.decode()
    c.post(f"{base}/tags/", {"tag": "  Refund   Asked "}, headers=HX)
    c.post(f"{base}/notes/", {"body": "Called her back <b>today</b>."}, headers=HX)
    with tenant_scope(world.tenant):
        row = Conversation.objects.get(pk=conversation.pk)
        assert (row.assignee_id, row.team_id, row.queue) == (world.agent.pk, support.pk, "pending")
        assert list(row.tags.values_list("name", flat=True)) == ["refund asked"]
        note = Note.objects.get()
        assert (note.author_id, note.body) == (world.agent.pk, "Called her back <b>today</b>.")
        actions = sorted(AuditEvent.objects.values_list("action", flat=True))
    assert actions == ["conversation.assigned", "conversation.moved", "conversation.tagged"]
    page = c.get(f"{base}/").content.decode()
    assert "Internal note, not sent to the customer" in page
    assert "Called her back &lt;b&gt;today&lt;/b&gt;." in page
    c.post(f"{base}/tags/remove/", {"tag": "refund asked"}, headers=HX)
    c.post(f"{base}/move/", {"queue": "resolved"})
    with tenant_scope(world.tenant):
        row = Conversation.objects.get(pk=conversation.pk)
        assert (row.queue, row.resolved_at is not None, row.tags.count()) == ("resolved", True, 0)


def test_refusals_are_said_beside_their_field(world: World, phone: PhoneNumber) -> None:
    conversation = thread(phone)
    base = f"/t/acme/inbox/c/{conversation.pk}"
    c = client_of(world.owner)
    empty_note = c.post(f"{base}/notes/", {"body": "   "}, headers=HX)
    assert empty_note.status_code == 400 and "Write the note first." in empty_note.content.decode()
    long_tag = c.post(f"{base}/tags/", {"tag": "x" * 51}, headers=HX)
    assert "at most 50 characters" in long_tag.content.decode()
    stranger = c.post(f"{base}/assign/", {"assignee": world.other_owner.pk}, headers=HX)
    assert "Choose a member of this workspace." in stranger.content.decode()
    bad_queue = c.post(f"{base}/move/", {"queue": "archived"})
    assert bad_queue.status_code == 302
    assert "Choose New, Pending or Resolved." in c.get(bad_queue["Location"]).content.decode()


def test_reopening_when_another_conversation_is_open_is_a_conflict(
    world: World, phone: PhoneNumber
) -> None:
    old = thread(phone, queue=Queue.RESOLVED)
    thread(phone, contact=old.contact)  # the contact wrote again: a new open one
    c = client_of(world.owner)
    answer = c.post(f"/t/acme/inbox/c/{old.pk}/move/", {"queue": "new"}, follow=True)
    assert "another open conversation on this channel" in answer.content.decode()
    with tenant_scope(world.tenant):
        assert Conversation.objects.get(pk=old.pk).queue == Queue.RESOLVED


# --- Channel rules ---------------------------------------------------------------------------


def test_a_viewer_moves_tags_and_notes_but_does_not_assign(
    world: World, phone: PhoneNumber
) -> None:
    channel = channel_row(phone, all_users=False, all_teams=False)
    with tenant_scope(world.tenant):
        ChannelMember.objects.create(
            channel=channel, membership=world.agent, role=ChannelRole.VIEWER
        )
    conversation = thread(phone)
    base = f"/t/acme/inbox/c/{conversation.pk}"
    c = client_of(world.agent)
    page = c.get(f"{base}/").content.decode()
    assert 'id="assign-form"' not in page
    assert "You are a viewer of this channel" in page
    assert c.post(f"{base}/assign/", {"assignee": "me"}).status_code == 403
    assert c.post(f"{base}/move/", {"queue": "pending"}).status_code == 302
    assert c.post(f"{base}/tags/", {"tag": "seen"}).status_code == 302
    assert c.post(f"{base}/notes/", {"body": "fine"}).status_code == 302
    with tenant_scope(world.tenant):
        row = Conversation.objects.get(pk=conversation.pk)
        assert (row.queue, row.assignee_id, row.tags.count(), row.notes.count()) == (
            "pending",
            None,
            1,
            1,
        )


def test_agents_see_only_the_channels_they_have_access_to(world: World, phone: PhoneNumber) -> None:
    closed_phone = PhoneNumberFactory(waba=phone.waba)
    channel = channel_row(closed_phone, all_users=False, all_teams=False)
    hidden = thread(closed_phone, name="Hidden")
    thread(phone, name="Open to all")
    c = client_of(world.agent)
    assert listed(c, "?queue=all") == ["Open to all"]
    for path in ("", "poll/", "assign/", "move/", "notes/", "tags/"):
        method = c.get if path in ("", "poll/") else c.post
        assert method(f"/t/acme/inbox/c/{hidden.pk}/{path}").status_code == 404, path
    assert c.get(f"/t/acme/inbox/media/{hidden.pk}/").status_code == 404
    # A team with access opens it.
    support = team(world.tenant, "Support", world.agent)
    with tenant_scope(world.tenant):
        ChannelTeam.objects.create(channel=channel, team=support)
    assert listed(c, "?queue=all") == ["Hidden", "Open to all"]
    assert c.get(f"/t/acme/inbox/c/{hidden.pk}/").status_code == 200
    # Owners and admins see every channel.
    assert listed(client_of(world.admin), "?queue=all") == ["Hidden", "Open to all"]
    # Assigning someone who cannot see the channel is refused with the reason.
    outsider = member(world.tenant)
    answer = client_of(world.owner).post(
        f"/t/acme/inbox/c/{hidden.pk}/assign/", {"assignee": outsider.pk}, headers=HX
    )
    assert "has no access to the channel" in answer.content.decode()


def test_the_empty_inbox_and_the_channel_filter_name_only_the_numbers_one_sees(
    world: World, phone: PhoneNumber
) -> None:
    closed_phone = PhoneNumberFactory(waba=phone.waba, display_phone_number="+1 555-0199")
    channel_row(closed_phone, all_users=False, all_teams=False)
    agent_page = client_of(world.agent).get("/t/acme/inbox/").content.decode()
    owner_page = client_of(world.owner).get("/t/acme/inbox/").content.decode()
    assert "+1 555-0100: messages since" in agent_page
    assert "+1 555-0199" not in agent_page
    assert "+1 555-0100: messages since" in owner_page
    assert "+1 555-0199: messages since" in owner_page
    assert f'<option value="{closed_phone.pk}">+1 555-0199</option>' in owner_page
    assert f'<option value="{phone.pk}">+1 555-0100</option>' in agent_page
    # An agent on no channel at all: the page says so, with no number.
    channel_row(phone, all_users=False, all_teams=False)
    nothing = client_of(world.agent).get("/t/acme/inbox/").content.decode()
    assert "messages since" not in nothing and "+1 555-01" not in nothing


def test_the_contacts_other_conversations_are_those_on_channels_one_sees(
    world: World, phone: PhoneNumber
) -> None:
    closed_phone = PhoneNumberFactory(waba=phone.waba, display_phone_number="+1 555-0199")
    channel_row(closed_phone, all_users=False, all_teams=False)
    current = thread(phone, name="Erika")
    older = thread(phone, contact=current.contact, queue=Queue.RESOLVED)
    hidden = thread(closed_phone, contact=current.contact)
    link = '/t/acme/inbox/c/{}/"'

    def shown(m: Membership, path: str) -> set[int]:
        page = client_of(m).get(path).content.decode()
        return {c.pk for c in (current, older, hidden) if link.format(c.pk) in page}

    side = f"/t/acme/inbox/c/{current.pk}/"
    contact = f"/t/acme/inbox/contacts/{current.contact_id}/"
    # The panel beside a thread leaves the open one out (the list links it, not the panel).
    assert "+1 555-0100, Resolved," in client_of(world.agent).get(side).content.decode()
    assert shown(world.agent, contact) == {current.pk, older.pk}
    assert shown(world.owner, contact) == {current.pk, older.pk, hidden.pk}
    owner_side = client_of(world.owner).get(side).content.decode()
    assert "+1 555-0199, New," in owner_side and "+1 555-0100, Resolved," in owner_side
    agent_side = client_of(world.agent).get(side).content.decode()
    assert "+1 555-0199" not in agent_side


def test_another_workspace_finds_nothing(world: World, phone: PhoneNumber) -> None:
    conversation = thread(phone, name="Acme's")
    globex = client_of(world.other_owner)
    assert globex.get(f"/t/acme/inbox/c/{conversation.pk}/").status_code == 404
    assert globex.get(f"/t/globex/inbox/c/{conversation.pk}/").status_code == 404
    assert globex.get(f"/t/globex/inbox/c/{conversation.pk}/poll/?since=1&w=1").status_code == 404
    assert (
        globex.post(f"/t/globex/inbox/c/{conversation.pk}/move/", {"queue": "resolved"}).status_code
        == 404
    )
    assert globex.get(f"/t/globex/inbox/contacts/{conversation.contact_id}/").status_code == 404
    assert "Acme&#x27;s" not in globex.get("/t/globex/inbox/?queue=all").content.decode()
    assert (
        "Acme"
        not in globex.get("/t/globex/inbox/?q=acme").content.decode().split("conversation-list")[1]
    )


def test_html_and_scripts_in_names_and_bodies_are_shown_as_text(
    world: World, phone: PhoneNumber
) -> None:
    conversation = thread(
        phone,
        name="<script>alert('name')</script>",
        texts=('<img src=x onerror="alert(1)">', "</article><script>alert(2)</script>"),
    )
    c = client_of(world.owner)
    for path in (
        f"/t/acme/inbox/c/{conversation.pk}/",
        "/t/acme/inbox/",
        "/t/acme/inbox/contacts/",
    ):
        page = c.get(path).content.decode()
        assert "<script>alert" not in page, path
        assert "&lt;script&gt;alert(" in page, path
    page = c.get(f"/t/acme/inbox/c/{conversation.pk}/").content.decode()
    assert "<img src=x" not in page
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in page


def test_a_failed_reply_says_why(world: World, phone: PhoneNumber) -> None:
    conversation = thread(phone, outbound=(("Late reply", MessageStatus.FAILED),))
    page = client_of(world.owner).get(f"/t/acme/inbox/c/{conversation.pk}/").content.decode()
    assert "Not delivered:" in page and "only a template can be sent" in page
    assert "(code 131047)" in page


# --- Contacts ---------------------------------------------------------------------------------


def test_contacts_list_search_add_edit_and_consent(world: World, phone: PhoneNumber) -> None:
    conversation = thread(phone, name="Erika Muster")
    c = client_of(world.agent)
    assert "Erika Muster" in c.get("/t/acme/inbox/contacts/?q=erika").content.decode()
    assert "Erika Muster" not in c.get("/t/acme/inbox/contacts/?q=zzz").content.decode()

    bad = c.post("/t/acme/inbox/contacts/", {"phone": "not a number"})
    assert bad.status_code == 400 and "is not a phone number" in bad.content.decode()
    taken = c.post("/t/acme/inbox/contacts/", {"phone": conversation.contact.phone})
    assert "is already the number of the contact Erika Muster" in taken.content.decode()
    made = c.post("/t/acme/inbox/contacts/", {"phone": "0049 30 1234567", "name": "Büro"})
    assert made.status_code == 302
    with tenant_scope(world.tenant):
        office = Contact.objects.get(name="Büro")
    assert office.phone == "+49301234567"

    url = f"/t/acme/inbox/contacts/{conversation.contact_id}/"
    assert c.post(url, {"name": "Erika (VIP)", "mobile": "+49 176 1234 5678"}).status_code == 302
    c.post(f"{url}consent/", {"state": "opted_in", "note": "On the phone"})
    page = c.get(url).content.decode()
    assert "Erika (VIP)" in page and "+4917612345678" in page
    assert "recorded by" in page and "On the phone" in page
    recorded = f"<strong>{ConsentState.OPTED_IN.label}</strong>"
    by = f"recorded by {world.agent.user.get_full_name()} — On the phone"
    assert recorded in page and by in page
    beside = c.get(f"/t/acme/inbox/c/{conversation.pk}/").content.decode()
    assert recorded in beside and by in beside  # the contact panel's last changes
    with tenant_scope(world.tenant):
        contact = Contact.objects.get(pk=conversation.contact_id)
        change = ConsentChange.objects.get()
    assert (contact.consent, contact.consent_source) == (ConsentState.OPTED_IN, "agent")
    assert (change.actor_id, change.source) == (world.agent.pk, "agent")
    assert c.post(f"{url}consent/", {"state": "maybe"}).status_code == 302
    with tenant_scope(world.tenant):
        assert ConsentChange.objects.count() == 1


def test_consent_keywords_are_the_managers_to_change(world: World) -> None:
    owner, agent = client_of(world.owner), client_of(world.agent)
    both = owner.post("/t/acme/inbox/settings/", {"opt_in": "Ja", "opt_out": "ja, stopp"})
    assert both.status_code == 400 and "cannot both opt in and opt out" in both.content.decode()
    saved = owner.post("/t/acme/inbox/settings/", {"opt_in": "Ja\nДа", "opt_out": "Stopp, СТОП"})
    assert saved.status_code == 302
    with tenant_scope(world.tenant):
        row = InboxSettings.objects.get()
    assert (row.opt_in_keywords, row.opt_out_keywords) == (["Ja", "Да"], ["Stopp", "СТОП"])
    page = agent.get("/t/acme/inbox/settings/").content.decode()
    assert "Stopp" in page and "Owners and admins change the keywords." in page
    assert agent.post("/t/acme/inbox/settings/", {"opt_in": "x"}).status_code == 403


def test_the_nav_leads_to_the_inbox(world: World) -> None:
    page = client_of(world.agent).get("/t/acme/").content.decode()
    assert 'href="/t/acme/inbox/"' in page and 'id="nav-inbox"' in page


@pytest.mark.parametrize("role", [ChannelRole.CONTRIBUTOR, ChannelRole.SUPERVISOR])
def test_contributors_and_supervisors_assign(
    world: World, phone: PhoneNumber, role: ChannelRole
) -> None:
    channel = channel_row(phone, all_users=False, all_teams=False)
    with tenant_scope(world.tenant):
        ChannelMember.objects.create(channel=channel, membership=world.agent, role=role)
    conversation = thread(phone)
    c = client_of(world.agent)
    assert 'id="assign-form"' in c.get(f"/t/acme/inbox/c/{conversation.pk}/").content.decode()
    assert (
        c.post(f"/t/acme/inbox/c/{conversation.pk}/assign/", {"assignee": "me"}).status_code == 302
    )
    with tenant_scope(world.tenant):
        assert Conversation.objects.get(pk=conversation.pk).assignee_id == world.agent.pk


def test_integrators_get_the_inboxs_events(world: World, phone: PhoneNumber) -> None:
    from tests.factories import event_subscription_for
    from waba_portal.events.models import Event

    event_subscription_for(world.tenant, events=["conversation.assigned", "message.received"])
    conversation = thread(phone)
    client_of(world.owner).post(f"/t/acme/inbox/c/{conversation.pk}/assign/", {"assignee": "me"})
    value = samples.inbound_text(phone_number_id=phone.phone_number_id, from_="4915100000077")
    events = W.parse_payload(
        samples.envelope((phone.waba.waba_id, [samples.change("messages", value)]))
    )
    with tenant_scope(world.tenant):
        inbound.messages_store_inbound(
            events=[e for e in events if isinstance(e, W.InboundMessage)]
        )
        kinds = sorted(Event.objects.values_list("type", flat=True))
        received = Event.objects.get(type="message.received").data
    assert kinds == ["conversation.assigned", "message.received"]
    assert received["contact"]["phone"] == "+4915100000077" and received["conversation"]


def test_phones_are_shown_in_international_format() -> None:
    from inbox.templatetags.inbox_tags import phone_international

    assert phone_international("+4915112345678") == "+49 1511 2345678"
    assert phone_international("") == ""
    assert phone_international("not a number") == "not a number"

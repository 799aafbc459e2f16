"""Every page and API list of the inbox takes a fixed number of queries, whatever its size.

Each page is asked with 3 rows and with 30 (conversations listed, messages in the thread,
contacts, a contact's conversations), as an owner and as an agent, whose lists go
through the channel roles (a number open to them, one that is not). The counts are the
same for both sizes and equal to the numbers written here: a new query per row is an
N+1, a new query per page a change to look at. A second workspace holds rows of its own
that no page shows. Speed itself is measured in ``bench/inbox_scale.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import Membership
from accounts.tenancy import tenant_scope
from inbox.models import (
    Contact,
    Conversation,
    Direction,
    Media,
    Message,
    MessageStatus,
    Note,
    Queue,
)
from senders.models import ChannelMember, ChannelRole, ChannelSettings
from tests.factories import PhoneNumberFactory, World, team

from .threads import thread

pytestmark = pytest.mark.django_db

# Queries per request, the session's, the user's and the membership's included. An
# agent's pages read their channel roles (which numbers they see, their role on the
# thread's); a search first reads the ids of the newest conversations it looks through
# (``selectors.conversation_list_page``; digits would add the contacts they find); a
# tag filter first reads the tag's conversations (``selectors._tagged``).
QUERIES = {
    "owner": {
        "list": 11,
        "filtered": 12,
        "search": 12,
        "thread": 25,
        "contacts": 6,
        "contact": 8,
        "api conversations": 5,
        "api messages": 6,
        "api contacts": 4,
    },
    "agent": {
        "list": 12,
        "filtered": 13,
        "search": 13,
        "thread": 26,
        "contacts": 6,
        "contact": 8,
        "api conversations": 5,
        "api messages": 6,
        "api contacts": 4,
    },
}


def _message(
    conversation: Conversation,
    direction: str,
    text: str,
    at: Any,
    status: str = MessageStatus.RECEIVED,
    type: str = "text",
    **fields: Any,
) -> Message:
    return Message.objects.create(
        conversation=conversation,
        wamid=f"wamid.q{conversation.pk}.{Message.objects.count()}",
        direction=direction,
        phone_number_id=conversation.channel.phone_number_id,
        wa_id=conversation.contact.wa_id,
        type=type,
        text=text,
        payload={"type": type, type: {"body": text}},
        status=status,
        error_code=131047 if status == MessageStatus.FAILED else None,
        meta_timestamp=at,
        **fields,
    )


class Inbox:
    """A workspace's inbox grown in steps: conversations on a number the agent may see
    (tagged, assigned to the member asking, with a team), one long thread, contacts,
    and one contact with many conversations."""

    def __init__(self, world: World, member: Membership) -> None:
        self.world = world
        self.member = member
        tenant = world.tenant
        self.phone = PhoneNumberFactory(waba__tenant=tenant, display_phone_number="+1 555-0100")
        self.closed = PhoneNumberFactory(waba=self.phone.waba, display_phone_number="+1 555-0199")
        with tenant_scope(tenant):
            open_channel = ChannelSettings.objects.create(
                phone_number=self.phone, name="Open", all_users=False, all_teams=False
            )
            ChannelSettings.objects.create(
                phone_number=self.closed, name="Closed", all_users=False, all_teams=False
            )
            ChannelMember.objects.create(
                channel=open_channel, membership=world.agent, role=ChannelRole.CONTRIBUTOR
            )
        self.team = team(tenant, "Support", world.agent)
        self.long = thread(self.phone, name="Long thread", texts=())
        self.regular = thread(self.phone, name="Regular", texts=("Hello",))
        self.conversations = 2
        self.messages = 0
        other = PhoneNumberFactory(waba__tenant=world.other_tenant)
        for _ in range(3):  # another workspace's rows, which no page of this one shows
            thread(other, name="Elsewhere parcel", texts=("where is my parcel",), tags=("vip",))

    def grow(self, size: int) -> None:
        """Up to ``size`` listed conversations, thread messages and contacts."""
        while self.conversations < size:
            self.conversations += 1
            thread(
                self.phone,
                name=f"Customer {self.conversations}",
                texts=("Hello", "where is my parcel"),
                outbound=(("On its way", MessageStatus.DELIVERED),),
                assignee=self.member,
                team=self.team,
                tags=("vip", f"t{self.conversations % 4}"),
            )
            # Hidden from the agent: a conversation on the number they have no role on.
            thread(self.closed, name=f"Closed {self.conversations}", texts=("parcel",))
            # The regular customer's earlier conversations (resolved ones).
            thread(
                self.phone,
                contact=self.regular.contact,
                queue=Queue.RESOLVED,
                texts=("parcel again",),
            )
        with tenant_scope(self.world.tenant):
            while self.messages < size:
                self.messages += 1
                self._thread_message(self.messages)

    def _thread_message(self, i: int) -> None:
        at = timezone.now() - timedelta(minutes=100 - i)
        conversation = self.long
        if i % 3 == 1:
            m = _message(conversation, Direction.INBOUND, f"question {i} about my parcel", at)
            self.last_inbound = m
        elif i % 3 == 2:
            m = _message(
                conversation,
                Direction.OUTBOUND,
                f"answer {i}",
                at,
                MessageStatus.FAILED if i % 2 else MessageStatus.READ,
                author=self.world.agent,
                context_wamid=self.last_inbound.wamid,
            )
        else:
            m = _message(conversation, Direction.INBOUND, "", at, type="image")
            Media.objects.create(message=m, media_id=f"media-{i}", mime_type="image/jpeg")
            _message(
                conversation,
                Direction.INBOUND,
                "👍",
                at + timedelta(seconds=1),
                type="reaction",
                context_wamid=m.wamid,
            )
        Note.objects.create(
            conversation=conversation,
            author=self.world.owner,
            body=f"note {i}",
            created_at=at + timedelta(seconds=2),
        )
        Conversation.objects.filter(pk=conversation.pk).update(
            last_message=m, last_message_at=at, last_inbound_at=at
        )
        Contact.objects.create(phone=f"+4930{i:08d}", wa_id=f"4930{i:08d}", name=f"Added {i}")

    def urls(self) -> dict[str, str]:
        page, api = "/t/acme/inbox", "/api/v1/t/acme"
        return {
            "list": f"{page}/",
            "filtered": f"{page}/?queue=new&assignee=me&channel={self.phone.pk}&tag=vip",
            "search": f"{page}/?q=parcel",
            "thread": f"{page}/c/{self.long.pk}/",
            "contacts": f"{page}/contacts/",
            "contact": f"{page}/contacts/{self.regular.contact_id}/",
            "api conversations": f"{api}/conversations/?limit=50",
            "api messages": f"{api}/conversations/{self.long.pk}/messages/?limit=50",
            "api contacts": f"{api}/contacts/?limit=50",
        }


def _counts(
    client: Client, urls: dict[str, str], expected: dict[str, int], assert_num: Callable[..., Any]
) -> dict[str, bytes]:
    pages = {}
    for name, url in urls.items():
        assert client.get(url).status_code == 200, url  # the session's first reads aside
        with assert_num(expected[name]):
            response = client.get(url)
        assert response.status_code == 200, url
        pages[name] = response.content
    return pages


@pytest.mark.parametrize("role", ["owner", "agent"])
def test_every_page_takes_the_same_queries_for_3_rows_and_for_30(
    world: World, role: str, django_assert_num_queries: Callable[..., Any]
) -> None:
    member = world.by_role(role)
    inbox = Inbox(world, member)
    client = Client()
    client.force_login(member.user)
    inbox.grow(3)
    few = _counts(client, inbox.urls(), QUERIES[role], django_assert_num_queries)
    inbox.grow(30)
    many = _counts(client, inbox.urls(), QUERIES[role], django_assert_num_queries)

    # The pages did grow: 30 of each where there were 3.
    assert many["list"].count(b"conversation-name") > few["list"].count(b"conversation-name")
    assert many["filtered"].count(b"#vip") == 28 > few["filtered"].count(b"#vip")  # 2 untagged
    assert b"Elsewhere" not in many["search"]  # the other workspace's rows stay there
    assert many["thread"].count(b'class="bubble ') > few["thread"].count(b'class="bubble ')
    assert many["thread"].count(b"thread-note") >= 30
    assert (b"Closed " in many["list"]) is (role == "owner")  # the agent has no role there
    assert many["contacts"].count(b"<tr>") > few["contacts"].count(b"<tr>")

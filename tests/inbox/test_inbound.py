"""A customer's message through the webhook pipeline into a thread: contacts, conversations,
every message type, reactions, changed numbers, consent keywords, statuses, and a fixed
number of queries per batch."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.tenancy import tenant_scope
from inbox.models import (
    ConsentChange,
    ConsentState,
    Contact,
    Conversation,
    Direction,
    InboxSettings,
    Media,
    Message,
    MessageStatus,
    Queue,
)
from inbox.services import inbound
from tests.factories import World, claim
from tests.fixtures_senders import Connected
from waba_portal.graph import webhooks as W
from waba_portal.mock_meta.state import bsuid
from waba_portal.webhooks import samples
from waba_portal.webhooks import services as pipeline
from waba_portal.webhooks.models import WebhookDelivery

from .conftest import Customer, Deliver

pytestmark = pytest.mark.django_db

ERIKA = "4915112345678"


def conversations_of(world: World) -> list[Conversation]:
    with tenant_scope(world.tenant):
        return list(Conversation.objects.select_related("contact").order_by("pk"))


def thread_page(world: World, conversation: Conversation) -> str:
    client = Client()
    client.force_login(world.owner.user)
    response = client.get(f"/t/acme/inbox/c/{conversation.pk}/")
    assert response.status_code == 200
    return response.content.decode()


# --- Threads ------------------------------------------------------------------------------


def test_a_customers_message_opens_a_thread_in_new(
    world: World, customer: Customer, channel: Connected
) -> None:
    sent = customer.says(**{"from": ERIKA}, name="Erika Muster", text="Hallo, wo ist mein Paket?")
    (conversation,) = conversations_of(world)
    contact = conversation.contact
    assert (contact.phone, contact.wa_id, contact.profile_name) == (
        "+4915112345678",
        ERIKA,
        "Erika Muster",
    )
    assert contact.bsuid == bsuid(channel.business_id, ERIKA)
    assert conversation.channel_id == channel.phone.pk
    assert (conversation.queue, conversation.unread_count) == (Queue.NEW, 1)
    with tenant_scope(world.tenant):
        message = Message.objects.get(wamid=sent["message_id"])
    assert message.conversation_id == conversation.pk
    assert conversation.last_message_id == message.pk
    assert conversation.last_inbound_at == message.meta_timestamp
    assert "Hallo, wo ist mein Paket?" in thread_page(world, conversation)


def test_the_open_thread_is_reused_and_a_resolved_one_is_not(
    world: World, customer: Customer
) -> None:
    customer.says(**{"from": ERIKA}, text="first")
    customer.says(**{"from": ERIKA}, text="second")
    (first,) = conversations_of(world)
    assert first.unread_count == 2
    with tenant_scope(world.tenant):
        Conversation.objects.filter(pk=first.pk).update(queue=Queue.PENDING)
    customer.says(**{"from": ERIKA}, text="third: back to New")
    (again,) = conversations_of(world)
    assert (again.pk, again.queue, again.unread_count) == (first.pk, Queue.NEW, 3)

    with tenant_scope(world.tenant):
        Conversation.objects.filter(pk=first.pk).update(queue=Queue.RESOLVED)
    customer.says(**{"from": ERIKA}, text="a new question")
    old, new = conversations_of(world)
    assert old.pk == first.pk and old.queue == Queue.RESOLVED
    assert (new.queue, new.unread_count, new.contact_id) == (Queue.NEW, 1, first.contact_id)
    with tenant_scope(world.tenant):
        assert list(new.messages.values_list("text", flat=True)) == ["a new question"]


def test_a_contact_is_matched_by_normalized_phone_and_mobile(
    world: World, customer: Customer
) -> None:
    with tenant_scope(world.tenant):
        by_phone = Contact.objects.create(phone="+4915112345678", name="Erika (from the CRM)")
        by_mobile = Contact.objects.create(phone="+4930123456", mobile="+4917699990000")
        mexican = Contact.objects.create(phone="+525512345678", name="Lupe")
    customer.says(**{"from": ERIKA}, text="by phone")
    customer.says(**{"from": "4917699990000"}, text="by mobile")
    customer.says(**{"from": "5215512345678"}, text="WhatsApp's form of a Mexican number")
    found = {c.contact_id: c for c in conversations_of(world)}
    assert set(found) == {by_phone.pk, by_mobile.pk, mexican.pk}
    with tenant_scope(world.tenant):
        assert Contact.objects.count() == 3
        erika = Contact.objects.get(pk=by_phone.pk)
    assert (erika.name, erika.profile_name) == ("Erika (from the CRM)", "Customer")


def test_a_user_who_keeps_the_number_is_known_by_the_bsuid(
    world: World, customer: Customer, channel: Connected
) -> None:
    spec: dict[str, Any] = {"from": "16505552000", "username": "private.person", "hide_wa_id": True}
    customer.says(**spec, text="no number")
    customer.says(**spec, text="still me")
    (conversation,) = conversations_of(world)
    contact = conversation.contact
    assert (contact.phone, contact.username) == ("", "private.person")
    assert contact.bsuid == bsuid(channel.business_id, "16505552000")
    assert conversation.unread_count == 2
    assert "private.person" in thread_page(world, conversation)


def test_a_redelivery_or_a_replay_counts_nothing_twice(world: World, customer: Customer) -> None:
    customer.says(**{"from": ERIKA}, text="once", deliver=False)
    (body,) = customer.payloads()
    for _ in range(3):
        pipeline.delivery_store(body=samples.dumps({**body, "again": True}))
        pipeline.deliveries_process()
    stored = list(WebhookDelivery.objects.values_list("pk", flat=True))
    pipeline.deliveries_process(force=True, delivery_ids=stored)
    (conversation,) = conversations_of(world)
    assert conversation.unread_count == 1
    with tenant_scope(world.tenant):
        assert Message.objects.filter(direction=Direction.INBOUND).count() == 1


def test_only_messages_after_the_channel_was_connected_join_a_thread(
    world: World, channel: Connected, deliver: Deliver
) -> None:
    now = timezone.now()
    old = int((now - timedelta(days=3)).timestamp())
    value = samples.inbound_text(phone_number_id=channel.phone_number_id, text="history", ts=old)
    deliver(samples.envelope((channel.waba_id, [samples.change("messages", value)])))
    with tenant_scope(world.tenant):
        message = Message.objects.get(text="history")
        assert message.conversation_id is None  # kept, in no thread
        assert not Contact.objects.exists()
    client = Client()
    client.force_login(world.owner.user)
    page = client.get("/t/acme/inbox/").content.decode()
    assert "No conversations yet" in page
    assert "Only messages received after a number was connected appear" in page


def test_a_number_we_hold_no_row_for_keeps_its_messages_outside_threads(
    world: World, deliver: Deliver
) -> None:
    claim(world.tenant, "111000000000009", "211000000000009")
    value = samples.inbound_text(phone_number_id="211000000000009", text="no channel row")
    deliver(samples.envelope(("111000000000009", [samples.change("messages", value)])))
    with tenant_scope(world.tenant):
        assert Message.objects.get(text="no channel row").conversation_id is None
        assert not Conversation.objects.exists()


# --- Every type, shown ---------------------------------------------------------------------

SHOWN = {
    "text": ("text", {"body": "Plain <b>text</b>"}, "Plain &lt;b&gt;text&lt;/b&gt;"),
    "image": ("image", {"caption": "A photo of the parcel"}, "A photo of the parcel"),
    "audio": ("audio", {"voice": True}, "downloading from WhatsApp"),
    "video": ("video", {"caption": "unboxing"}, "unboxing"),
    "document": ("document", {"filename": "invoice.pdf"}, "downloading from WhatsApp"),
    "sticker": ("sticker", {}, "downloading from WhatsApp"),
    "location": ("location", None, "Brandenburg Gate"),
    "contacts": ("contacts", None, "Jane Doe"),
    "interactive": ("interactive", None, "Chose"),
    "button": ("button", None, "Tapped the quick reply"),
    "order": ("order", None, "sku-1"),
    "unsupported": ("unsupported", None, "does not pass on to businesses"),
}


@pytest.mark.parametrize("kind", sorted(SHOWN))
def test_every_inbound_type_is_stored_and_shown(
    world: World, customer: Customer, kind: str
) -> None:
    mtype, body, shown = SHOWN[kind]
    spec: dict[str, Any] = {"from": ERIKA, "type": mtype}
    if body is not None:
        spec[mtype] = body
    sent = customer.says(**spec)
    (conversation,) = conversations_of(world)
    with tenant_scope(world.tenant):
        message = Message.objects.get(wamid=sent["message_id"])
        media = Media.objects.filter(message=message).first()
    assert (message.type, message.conversation_id) == (mtype, conversation.pk)
    assert message.payload["type"] == mtype  # Meta's object kept as it came
    if mtype in ("image", "audio", "video", "document", "sticker"):
        assert media is not None and media.media_id == sent["message"][mtype]["id"]
    else:
        assert media is None
    assert shown in thread_page(world, conversation)


def test_a_type_meta_adds_later_is_kept_and_shown_as_unsupported(
    world: World, channel: Connected, deliver: Deliver
) -> None:
    value = samples.inbound_text(phone_number_id=channel.phone_number_id, from_=ERIKA)
    value["messages"][0].update({"type": "poll_vote", "poll_vote": {"option": 2}})
    del value["messages"][0]["text"]
    deliver(samples.envelope((channel.waba_id, [samples.change("messages", value)])))
    (conversation,) = conversations_of(world)
    with tenant_scope(world.tenant):
        (message,) = Message.objects.all()
    assert (message.type, message.payload["poll_vote"]) == ("poll_vote", {"option": 2})
    assert "does not pass on to businesses" in thread_page(world, conversation)


def test_reactions_attach_to_their_message(world: World, customer: Customer) -> None:
    target = customer.says(**{"from": ERIKA}, text="Is it shipped?")
    customer.says(
        **{"from": ERIKA},
        type="reaction",
        reaction={"message_id": target["message_id"], "emoji": "\U0001f44d"},
    )
    (conversation,) = conversations_of(world)
    with tenant_scope(world.tenant):
        target_row = Message.objects.get(wamid=target["message_id"])
        reaction = Message.objects.get(type="reaction")
    assert (reaction.context_wamid, reaction.text) == (target["message_id"], "\U0001f44d")
    page = thread_page(world, conversation)
    bubble = page.split(f'id="m-{target_row.pk}"', 1)[1].split("</article>", 1)[0]
    assert "\U0001f44d" in bubble
    assert f'id="m-{reaction.pk}"' not in page  # not a bubble of its own
    # The customer takes it back: an empty emoji.
    customer.says(
        **{"from": ERIKA},
        type="reaction",
        reaction={"message_id": target["message_id"], "emoji": ""},
    )
    page = thread_page(world, conversation)
    bubble = page.split(f'id="m-{target_row.pk}"', 1)[1].split("</article>", 1)[0]
    assert "\U0001f44d" not in bubble


def test_a_changed_number_moves_the_contact(world: World, customer: Customer) -> None:
    customer.says(**{"from": ERIKA}, text="old number")
    customer.says(**{"from": ERIKA}, type="system", new_wa_id="4915199990000")
    (conversation,) = conversations_of(world)
    assert conversation.contact.phone == "+4915199990000"
    customer.says(**{"from": "4915199990000"}, text="from my new phone")
    (same,) = conversations_of(world)
    assert (same.pk, same.unread_count) == (conversation.pk, 3)
    assert "changed from" in thread_page(world, conversation)


# --- Consent ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "state"),
    [
        ("STOP", ConsentState.OPTED_OUT),
        (" s.t.o.p! ", ConsentState.OPTED_OUT),
        ("Unsubscribe", ConsentState.OPTED_OUT),
        ("yes", ConsentState.OPTED_IN),
        ("Start.", ConsentState.OPTED_IN),
        ("SUBSCRIBE", ConsentState.OPTED_IN),
        ("please stop", ConsentState.UNKNOWN),
        ("yes please", ConsentState.UNKNOWN),
    ],
)
def test_consent_keywords_ignore_case_spacing_and_punctuation(
    world: World, customer: Customer, text: str, state: str
) -> None:
    sent = customer.says(**{"from": ERIKA}, text=text)
    (conversation,) = conversations_of(world)
    contact = conversation.contact
    assert contact.consent == state
    with tenant_scope(world.tenant):
        history = list(ConsentChange.objects.filter(contact=contact))
    if state == ConsentState.UNKNOWN:
        assert history == []
        return
    (change,) = history
    assert (change.state, change.source, change.keyword) == (state, "keyword", text.strip())
    assert change.message.wamid == sent["message_id"]  # type: ignore[union-attr]
    assert contact.consent_at == change.occurred_at


def test_a_workspaces_own_keywords_count_and_the_latest_keyword_wins(
    world: World, channel: Connected, deliver: Deliver
) -> None:
    with tenant_scope(world.tenant):
        InboxSettings.objects.create(opt_in_keywords=["Ja"], opt_out_keywords=["СТОП", "abmelden"])
    now = int(timezone.now().timestamp())
    pid = channel.phone_number_id

    def says(text: str, ts: int) -> dict[str, Any]:
        return samples.change(
            "messages", samples.inbound_text(phone_number_id=pid, from_=ERIKA, text=text, ts=ts)
        )

    # Out of order: the opt-out at now+20 arrives first; the older opt-in must not win.
    deliver(samples.envelope((channel.waba_id, [says("Стоп!", now + 20)])))
    deliver(samples.envelope((channel.waba_id, [says("JA", now + 10)])))
    (conversation,) = conversations_of(world)
    assert conversation.contact.consent == ConsentState.OPTED_OUT
    deliver(samples.envelope((channel.waba_id, [says("ja", now + 30), says("ABMELDEN", now + 40)])))
    (conversation,) = conversations_of(world)
    assert conversation.contact.consent == ConsentState.OPTED_OUT
    with tenant_scope(world.tenant):
        kept = list(ConsentChange.objects.order_by("occurred_at").values_list("state", "keyword"))
    assert kept == [
        ("opted_in", "JA"),
        ("opted_out", "Стоп!"),
        ("opted_in", "ja"),
        ("opted_out", "ABMELDEN"),
    ]


# --- Statuses ---------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(3))
def test_statuses_in_any_order_end_in_the_same_tick_and_mark_the_thread(
    world: World, customer: Customer, channel: Connected, deliver: Deliver, seed: int
) -> None:
    customer.says(**{"from": ERIKA}, text="hello")
    (conversation,) = conversations_of(world)
    ids = [samples.wamid() for _ in range(3)]
    with tenant_scope(world.tenant):
        for wamid in ids:
            Message.objects.create(
                conversation=conversation,
                wamid=wamid,
                direction=Direction.OUTBOUND,
                phone_number_id=channel.phone_number_id,
                wa_id=ERIKA,
                type="text",
                text="our reply",
                status=MessageStatus.QUEUED,
                meta_timestamp=timezone.now(),
            )
    plan = {ids[0]: ["sent", "delivered", "read"], ids[1]: ["sent", "failed"], ids[2]: ["sent"]}
    values = [
        samples.status(phone_number_id=channel.phone_number_id, msg_id=m, status=s, recipient=ERIKA)
        for m, statuses in plan.items()
        for s in statuses
    ]
    random.Random(seed).shuffle(values)
    for value in values:
        deliver(samples.envelope((channel.waba_id, [samples.change("messages", value)])))
    with tenant_scope(world.tenant):
        state = dict(Message.objects.filter(wamid__in=ids).values_list("wamid", "status"))
        after = Conversation.objects.get(pk=conversation.pk)
    assert state == {ids[0]: "read", ids[1]: "failed", ids[2]: "sent"}
    assert after.version > conversation.version
    page = thread_page(world, conversation)
    assert "Not delivered:" in page and "the customer may not have WhatsApp" in page
    assert "(code 131026)" in page


# --- Throughput: a fixed number of queries per batch ------------------------------------------


def _batch(channel: Connected, n: int, *, start: int) -> list[W.InboundMessage]:
    values = []
    for i in range(n):
        sender = f"49151{start + i:08d}"
        value = samples.inbound_text(phone_number_id=channel.phone_number_id, from_=sender)
        if i % 3 == 1:  # some media, some keywords: every step of the batch runs
            message = value["messages"][0]
            message.update(
                {"type": "image", "image": {"id": f"7{start + i}", "mime_type": "image/jpeg"}}
            )
            del message["text"]
        elif i % 3 == 2:
            value["messages"][0]["text"]["body"] = "STOP"
        values.append(samples.change("messages", value))
    payload = samples.envelope((channel.waba_id, values))
    return [e for e in W.parse_payload(payload) if isinstance(e, W.InboundMessage)]


def _queries(world: World, events: list[W.InboundMessage]) -> int:
    with tenant_scope(world.tenant), CaptureQueriesContext(connection) as queries:
        assert inbound.messages_store_inbound(events=events) == len(events)
    return len(queries)


def test_a_batch_of_new_senders_takes_the_same_queries_whatever_its_size(
    world: World, channel: Connected
) -> None:
    small = _queries(world, _batch(channel, 3, start=1000))
    large = _queries(world, _batch(channel, 60, start=2000))
    assert small == large <= 16
    # Known senders: nothing to create, fewer statements, still the same for any size.
    again_small = _queries(world, _again(channel, 3, 1000))
    again_large = _queries(world, _again(channel, 60, 2000))
    assert again_small == again_large < small
    with tenant_scope(world.tenant):
        assert Conversation.objects.count() == 63
        assert Conversation.objects.filter(unread_count=2).count() == 63


def _again(channel: Connected, n: int, start: int) -> list[W.InboundMessage]:
    values = [
        samples.change(
            "messages",
            samples.inbound_text(
                phone_number_id=channel.phone_number_id, from_=f"49151{start + i:08d}"
            ),
        )
        for i in range(n)
    ]
    payload = samples.envelope((channel.waba_id, values))
    return [e for e in W.parse_payload(payload) if isinstance(e, W.InboundMessage)]

"""Writing to a contact first: the primary sender by default, another when chosen, the
contact added when unknown, the open conversation reused, the channel's rules, the page
and the API (a template to a phone), and a second workspace."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.tenancy import tenant_scope
from inbox.models import Contact, Conversation, Queue
from inbox.services import conversation_start
from senders.models import ChannelMember, ChannelRole, ChannelSettings, PhoneNumber
from tests.factories import PhoneNumberFactory, World
from tests.fixtures_senders import Connected
from waba_portal.errors import Invalid

from .conftest import Customer
from .test_outbound import ERIKA, approved_template, client_of, sends

pytestmark = pytest.mark.django_db


def start(world: World, to: str, **kwargs: Any) -> Conversation:
    with tenant_scope(world.tenant):
        return conversation_start.conversation_start(actor=world.owner, to=to, **kwargs)


def test_a_new_contact_gets_a_pending_conversation_on_the_primary_sender_assigned_to_the_starter(
    world: World, channel: Connected
) -> None:
    row = start(world, "+49 151 12345678")
    assert row.channel_id == channel.phone.pk and channel.phone.is_primary
    assert row.queue == Queue.PENDING and row.assignee_id == world.owner.pk
    assert row.contact.phone == "+4915112345678" and row.contact.wa_id == ERIKA
    assert not row.window_open()
    again = start(world, "0049 151 12345678")
    assert again.pk == row.pk
    with tenant_scope(world.tenant):
        assert Contact.objects.count() == 1 and Conversation.objects.count() == 1


def test_an_existing_contact_and_their_open_conversation_are_reused(
    world: World, channel: Connected, customer: Customer
) -> None:
    customer.says(**{"from": ERIKA}, text="Hallo")
    with tenant_scope(world.tenant):
        wrote = Conversation.objects.get()
    row = start(world, "+4915112345678")
    assert row.pk == wrote.pk and row.queue == Queue.NEW and row.window_open()


def test_another_number_can_be_chosen_and_a_bad_choice_or_phone_is_refused(
    world: World, channel: Connected
) -> None:
    with tenant_scope(world.tenant):
        second = PhoneNumberFactory(
            tenant=world.tenant, waba=channel.waba, display_phone_number="+49 30 2222222"
        )
    row = start(world, "+4915112345678", channel_pk=second.pk)
    assert row.channel_id == second.pk
    with pytest.raises(Invalid) as bad_phone:
        start(world, "hello")
    assert bad_phone.value.field == "to"
    with tenant_scope(world.other_tenant):
        foreign = PhoneNumber.objects.first()
    with pytest.raises(Invalid) as foreign_channel:
        start(world, "+4915112345678", channel_pk=foreign.pk if foreign else 999_999)
    assert foreign_channel.value.field == "channel"
    with tenant_scope(world.tenant):
        PhoneNumber.objects.update(is_primary=False)
    with pytest.raises(Invalid) as no_primary:
        start(world, "+4915199999999")
    assert no_primary.value.field == "channel"


def test_a_viewer_may_not_start_on_the_channel(world: World, channel: Connected) -> None:
    with tenant_scope(world.tenant):
        settings_row, _ = ChannelSettings.objects.get_or_create(phone_number=channel.phone)
        settings_row.all_users = False
        settings_row.all_teams = False
        settings_row.save()
        ChannelMember.objects.create(
            channel=settings_row, membership=world.agent, role=ChannelRole.VIEWER
        )
        assert conversation_start.sending_numbers(world.agent) == []
        with pytest.raises(Invalid):
            conversation_start.conversation_start(actor=world.agent, to="+4915112345678")
    page = client_of(world.agent).get("/t/acme/inbox/new/").content.decode()
    assert 'id="start-no-numbers"' in page


def test_the_page_opens_the_thread_with_the_template_picker(
    world: World, channel: Connected
) -> None:
    c = client_of(world.owner)
    page = c.get("/t/acme/inbox/new/").content.decode()
    assert "(primary sender)" in page and 'id="start-form"' in page
    refused = c.post("/t/acme/inbox/new/", {"to": "12", "channel": str(channel.phone.pk)})
    assert refused.status_code == 400 and "international format" in refused.content.decode()
    answer = c.post("/t/acme/inbox/new/", {"to": "+4915112345678", "channel": ""})
    with tenant_scope(world.tenant):
        row = Conversation.objects.get()
    assert answer.status_code == 302 and answer["Location"].endswith(f"/inbox/c/{row.pk}/")
    thread = c.get(answer["Location"]).content.decode()
    assert "The customer has not written yet" in thread
    assert client_of(world.other_owner).get("/t/acme/inbox/new/").status_code == 404


def test_the_api_sends_a_template_to_a_phone_and_refuses_a_text_to_a_stranger(
    world: World,
    channel: Connected,
    mock_meta: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    template = approved_template(channel, mock_meta)
    c = client_of(world.owner)
    text = c.post(
        "/api/v1/t/acme/messages/",
        {"to": "+4915112345678", "text": "Hallo"},
        content_type="application/json",
    )
    assert text.status_code == 400
    assert text.json()["error"]["code"] == "window_closed"
    with tenant_scope(world.tenant):
        assert not Contact.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        answer = c.post(
            "/api/v1/t/acme/messages/",
            {"to": "+4915112345678", "template": template.pk, "parameters": {"body": ["E", "1"]}},
            content_type="application/json",
            headers={"Idempotency-Key": "first-order-note"},
        )
    assert answer.status_code == 201, answer.content
    (request,) = sends(mock_meta)
    assert request["body"]["to"] == ERIKA and request["body"]["type"] == "template"
    replay = c.post(
        "/api/v1/t/acme/messages/",
        {"to": "+4915112345678", "template": template.pk, "parameters": {"body": ["E", "1"]}},
        content_type="application/json",
        headers={"Idempotency-Key": "first-order-note"},
    )
    assert replay.status_code == 201 and replay.headers["Idempotent-Replayed"] == "true"
    assert len(sends(mock_meta)) == 1
    stranger = client_of(world.other_owner).post(
        "/api/v1/t/globex/messages/",
        {"to": "+4915112345678", "template": template.pk, "channel": channel.phone.pk},
        content_type="application/json",
    )
    assert stranger.status_code == 400
    assert stranger.json()["error"]["details"]["fields"].keys() >= {"channel"}

"""The inbox's REST API: conversations with the inbox's filters and actions, messages,
notes, contacts with their consent; the same rules and error bodies as the pages."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from accounts.tenancy import tenant_scope
from inbox.models import Contact, Conversation, Media, MessageStatus, Queue
from senders.models import ChannelSettings, PhoneNumber
from tests.api.support import error_of, key_client, post_json, session_client
from tests.factories import PhoneNumberFactory, World, api_key_for, team

from .threads import thread

pytestmark = pytest.mark.django_db

API = "/api/v1/t/acme"


@pytest.fixture
def phone(world: World) -> PhoneNumber:
    return PhoneNumberFactory(waba__tenant=world.tenant)


def patch_json(client: Client, path: str, body: Any) -> Any:
    return client.patch(path, json.dumps(body), content_type="application/json")


def test_conversations_list_with_the_inboxs_filters_and_pages(
    world: World, phone: PhoneNumber
) -> None:
    mine = thread(phone, name="Mine", assignee=world.agent, tags=("vip",), texts=("Paket da?",))
    thread(phone, name="Pending", queue=Queue.PENDING)
    thread(phone, name="Resolved", queue=Queue.RESOLVED)
    client = session_client(world.agent)

    def names(query: dict[str, Any]) -> list[str]:
        answer = client.get(f"{API}/conversations/", query)
        assert answer.status_code == 200, answer.content
        return [c["contact"]["profile_name"] for c in answer.json()["results"]]

    assert names({}) == ["Pending", "Mine"]  # open ones, newest first
    assert names({"queue": "all"}) == ["Resolved", "Pending", "Mine"]
    assert names({"assignee": "me"}) == ["Mine"]
    assert names({"tag": "vip", "window": "open"}) == ["Mine"]
    assert names({"q": "paket"}) == ["Mine"]
    first = client.get(f"{API}/conversations/", {"limit": 1}).json()
    assert len(first["results"]) == 1 and first["next"]
    assert [c["id"] for c in client.get(first["next"]).json()["results"]] == [mine.pk]
    row = client.get(f"{API}/conversations/{mine.pk}/").json()
    assert row["assignee"]["email"] == "agent@acme.test" and row["tags"] == ["vip"]
    assert row["window_open"] is True and row["channel"]["id"] == phone.pk
    bad = client.get(f"{API}/conversations/", {"queue": "archived", "team": "x"})
    assert bad.status_code == 400
    assert set(error_of(bad)["details"]["fields"]) == {"queue", "team"}


def test_assign_move_tag_and_note_through_the_api(world: World, phone: PhoneNumber) -> None:
    support = team(world.tenant, "Support")
    conversation = thread(phone)
    base = f"{API}/conversations/{conversation.pk}"
    client = session_client(world.agent)
    assigned = post_json(client, f"{base}/assign/", {"assignee": "me", "team": support.pk})
    assert assigned.status_code == 200, assigned.content
    assert (assigned.json()["assignee"]["id"], assigned.json()["team"]["name"]) == (
        world.agent.pk,
        "Support",
    )
    moved = post_json(client, f"{base}/move/", {"queue": "pending"})
    assert moved.json()["queue"] == "pending"
    tagged = post_json(client, f"{base}/tags/", {"add": ["Refund", "vip"], "remove": ["none"]})
    assert tagged.json()["tags"] == ["refund", "vip"]
    note = post_json(client, f"{base}/notes/", {"body": "Called back."}, HTTP_IDEMPOTENCY_KEY="n-1")
    again = post_json(
        client, f"{base}/notes/", {"body": "Called back."}, HTTP_IDEMPOTENCY_KEY="n-1"
    )
    assert note.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    notes = client.get(f"{base}/notes/").json()["results"]
    assert [(n["body"], n["author"]["id"]) for n in notes] == [("Called back.", world.agent.pk)]
    unassigned = post_json(client, f"{base}/assign/", {"assignee": None, "team": None})
    assert unassigned.json()["assignee"] is None

    for body, field in (
        ({"queue": "archived"}, "queue"),
        ({"assignee": world.other_owner.pk}, "assignee"),
        ({"team": 10**12}, "team"),
    ):
        path = f"{base}/move/" if "queue" in body else f"{base}/assign/"
        refused = post_json(client, path, body)
        assert refused.status_code == 400, (body, refused.content)
        details = error_of(refused)["details"]
        assert field in (details.get("fields") or details), details
    empty = post_json(client, f"{base}/notes/", {"body": " "})
    assert error_of(empty)["message"] == "Write the note first."
    not_json = client.post(f"{base}/move/", "[1]", content_type="application/json")
    assert error_of(not_json)["code"] == "malformed_json"


def test_messages_are_listed_newest_first_with_ticks_reasons_and_media(
    world: World, phone: PhoneNumber
) -> None:
    conversation = thread(
        phone, texts=("hi",), outbound=(("ok", MessageStatus.READ), ("late", MessageStatus.FAILED))
    )
    with tenant_scope(world.tenant):
        first = conversation.messages.order_by("pk").first()
        assert first is not None
        Media.objects.create(message=first, media_id="1", mime_type="image/jpeg")
    answer = session_client(world.agent).get(f"{API}/conversations/{conversation.pk}/messages/")
    rows = answer.json()["results"]
    assert [(m["direction"], m["text"], m["status"]) for m in rows] == [
        ("out", "late", "failed"),
        ("out", "ok", "read"),
        ("in", "hi", "received"),
    ]
    assert rows[0]["error"]["code"] == 131047 and "only a template" in rows[0]["error"]["reason"]
    assert rows[2]["media"]["state"] == "pending"


def test_contacts_crud_and_consent(world: World, phone: PhoneNumber) -> None:
    client = session_client(world.agent)
    bad = post_json(client, f"{API}/contacts/", {"phone": "12"})
    assert bad.status_code == 400 and "phone" in error_of(bad)["details"]["fields"]
    made = post_json(client, f"{API}/contacts/", {"phone": "+49 151 1234 5678", "name": "Ana"})
    assert made.status_code == 201, made.content
    contact = made.json()
    assert (contact["phone"], contact["display_name"], contact["consent"]) == (
        "+4915112345678",
        "Ana",
        "unknown",
    )
    twice = post_json(client, f"{API}/contacts/", {"phone": "004915112345678"})
    assert error_of(twice)["code"] == "contact_exists"
    url = f"{API}/contacts/{contact['id']}/"
    assert patch_json(client, url, {"name": "Ana Lima"}).json()["name"] == "Ana Lima"
    found = client.get(f"{API}/contacts/", {"q": "lima"}).json()["results"]
    assert [c["id"] for c in found] == [contact["id"]]
    consent = post_json(client, f"{url}consent/", {"state": "opted_out", "note": "by e-mail"})
    assert consent.status_code == 201 and consent.json()["source"] == "api"
    history = client.get(f"{url}consent/").json()
    assert history["consent"] == "opted_out" and len(history["history"]) == 1
    assert post_json(client, f"{url}consent/", {"state": "maybe"}).status_code == 400
    assert client.get(f"{API}/contacts/", {"consent": "opted_out"}).json()["results"]
    assert client.get(f"{API}/contacts/", {"consent": "x"}).status_code == 400

    thread(phone, contact=Contact(pk=contact["id"], tenant=world.tenant))
    refused = client.delete(url)
    assert refused.status_code == 403 and "Only owners and admins" in error_of(refused)["message"]
    assert session_client(world.owner).delete(url).status_code == 204
    with tenant_scope(world.tenant):
        assert not Contact.objects.exists() and not Conversation.objects.exists()


def test_an_api_key_acts_as_an_admin_within_its_scopes(world: World, phone: PhoneNumber) -> None:
    conversation = thread(phone)
    _key, secret = api_key_for(world.tenant, scopes={"inbox": "write"}, name="CRM")
    client = key_client(secret)
    noted = post_json(client, f"{API}/conversations/{conversation.pk}/notes/", {"body": "From CRM"})
    assert noted.json()["author"] == {"api_key": "CRM"}
    me = post_json(client, f"{API}/conversations/{conversation.pk}/assign/", {"assignee": "me"})
    assert "An API key is no member" in error_of(me)["message"]
    contacts = client.get(f"{API}/contacts/")
    assert contacts.status_code == 403 and error_of(contacts)["code"] == "insufficient_scope"
    _key, reader = api_key_for(world.tenant, scopes={"contacts": "read"})
    consent = post_json(
        key_client(reader),
        f"{API}/contacts/{conversation.contact_id}/consent/",
        {"state": "opted_in"},
    )
    assert consent.status_code == 403


def test_channel_rules_and_other_workspaces(world: World, phone: PhoneNumber) -> None:
    conversation = thread(phone)
    base = f"{API}/conversations/{conversation.pk}"
    with tenant_scope(world.tenant):
        ChannelSettings.objects.create(
            phone_number=phone, name="Closed", all_users=False, all_teams=False
        )
    agent = session_client(world.agent)
    assert agent.get(f"{API}/conversations/").json()["results"] == []
    for path in ("/", "/messages/", "/notes/"):
        assert agent.get(base + path).status_code == 404, path
    assert post_json(agent, f"{base}/move/", {"queue": "resolved"}).status_code == 404
    globex = session_client(world.other_owner)
    assert globex.get(f"/api/v1/t/globex/conversations/{conversation.pk}/").status_code == 404
    assert globex.get(f"/api/v1/t/globex/contacts/{conversation.contact_id}/").status_code == 404
    assert globex.get(f"{base}/").status_code == 404

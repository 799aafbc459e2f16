"""inbox 0005-0007: the messages the webhook pipeline stored before become threads, on
both databases (scratch databases, tests/scratch_databases.py), and nothing is lost."""

from __future__ import annotations

import importlib
from datetime import timedelta
from typing import Any

import pytest
from django.apps.registry import Apps
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from tests.scratch_databases import VENDORS, migrate, scratch_database

pytestmark = pytest.mark.django_db

BEFORE = [("inbox", "0004_message_bsuid"), ("senders", "0005_onboarding_dismissed_at")]
THREADS = ("inbox", "0006_threads_from_messages")
LATEST = ("inbox", "0007_thread_and_search_indexes")


def historical(conn: BaseDatabaseWrapper, *nodes: tuple[str, str]) -> Apps:
    return MigrationExecutor(conn).loader.project_state(list(nodes)).apps


def _seed(conn: BaseDatabaseWrapper) -> dict[str, Any]:
    apps = historical(conn, *BEFORE)
    db = conn.alias
    tenant = apps.get_model("accounts", "Tenant").objects.using(db).create(name="Acme", slug="acme")
    connected = timezone.now() - timedelta(days=10)
    waba = (
        apps.get_model("senders", "WhatsAppAccount")
        .objects.using(db)
        .create(tenant=tenant, waba_id="1001", connected_at=connected)
    )
    phone = (
        apps.get_model("senders", "PhoneNumber")
        .objects.using(db)
        .create(
            tenant=tenant, waba=waba, phone_number_id="2001", display_phone_number="+1 555-0100"
        )
    )
    Message = apps.get_model("inbox", "Message")

    def message(wamid: str, **fields: Any) -> None:
        values = {
            "tenant": tenant,
            "wamid": wamid,
            "direction": "in",
            "phone_number_id": "2001",
            "wa_id": "4915112345678",
            "contact_name": "Erika",
            "type": "text",
            "text": wamid,
            "status": "received",
            "meta_timestamp": connected + timedelta(days=1),
            **fields,
        }
        Message.objects.using(db).create(**values)

    message("erika-1", meta_timestamp=connected + timedelta(days=1))
    message("erika-2", meta_timestamp=connected + timedelta(days=2), contact_name="Erika M.")
    message(
        "erika-bsuid",
        bsuid="DE.1",
        contact_name="Erika M.",
        meta_timestamp=connected + timedelta(days=3),
    )
    message("private", wa_id="", bsuid="US.2", contact_name="")
    message("before-connecting", meta_timestamp=connected - timedelta(days=1))
    message("unknown-number", phone_number_id="2999")
    message("our-status-only", direction="out", type="unknown", status="read", text="")
    return {"tenant": tenant.pk, "phone": phone.pk, "messages": 7}


@pytest.mark.parametrize("chunk", [2000, 2], ids=["one chunk", "chunks of 2"])
@pytest.mark.parametrize("vendor", VENDORS)
def test_stored_messages_join_threads_and_nothing_is_lost(
    vendor: str, chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importlib.import_module(f"inbox.migrations.{THREADS[1]}"), "CHUNK", chunk)
    with scratch_database(vendor) as conn:
        migrate(conn, *BEFORE)
        seeded = _seed(conn)
        migrate(conn, LATEST)
        apps = historical(conn, LATEST)
        db = conn.alias
        Message = apps.get_model("inbox", "Message")
        Contact = apps.get_model("inbox", "Contact")
        Conversation = apps.get_model("inbox", "Conversation")
        assert Message.objects.using(db).count() == seeded["messages"]
        threaded = dict(
            Message.objects.using(db)
            .exclude(conversation=None)
            .values_list("wamid", "conversation_id")
        )
        assert set(threaded) == {"erika-1", "erika-2", "erika-bsuid", "private"}
        outside = Message.objects.using(db).filter(conversation=None)
        assert set(outside.values_list("wamid", flat=True)) == {
            "before-connecting",
            "unknown-number",
            "our-status-only",
        }
        erika = Contact.objects.using(db).get(phone="+4915112345678")
        private = Contact.objects.using(db).get(bsuid="US.2")
        assert (erika.wa_id, erika.profile_name, erika.bsuid) == (
            "4915112345678",
            "Erika M.",
            "DE.1",
        )
        assert (private.phone, private.wa_id) == ("", "")
        assert Contact.objects.using(db).count() == 2
        conversation = Conversation.objects.using(db).get(contact=erika)
        assert (
            threaded["erika-1"] == threaded["erika-2"] == threaded["erika-bsuid"] == conversation.pk
        )
        assert (conversation.queue, conversation.unread_count, conversation.channel_id) == (
            "new",
            3,
            seeded["phone"],
        )
        last = Message.objects.using(db).get(wamid="erika-bsuid")
        assert conversation.last_message_id == last.pk
        assert conversation.last_inbound_at == conversation.last_message_at == last.meta_timestamp

        # Running it again (after going back to before it) changes nothing.
        migrate(conn, ("inbox", "0005_threads"))
        migrate(conn, LATEST)
        assert Contact.objects.using(db).count() == 2
        assert Conversation.objects.using(db).count() == 2
        assert Conversation.objects.using(db).get(contact=erika).unread_count == 3


WORDS = ("inbox", "0008_conversation_search_words")


@pytest.mark.parametrize("vendor", VENDORS)
def test_the_conversations_get_the_words_of_their_contact_and_messages(
    vendor: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.contrib.postgres.search import SearchQuery

    module = importlib.import_module(f"inbox.migrations.{WORDS[1]}")
    monkeypatch.setattr(module, "BATCH", 1)  # a batch per conversation
    with scratch_database(vendor) as conn:
        migrate(conn, *BEFORE)
        _seed(conn)
        migrate(conn, LATEST)
        migrate(conn, WORDS)
        db = conn.alias
        Conversation = historical(conn, WORDS).get_model("inbox", "Conversation")
        rows = Conversation.objects.using(db)
        if vendor != "postgresql":  # the demo's SQLite keeps none: it searches with LIKE
            assert set(rows.values_list("search_words", flat=True)) == {None}
            return

        def found(tsquery: str) -> set[str]:
            query = SearchQuery(tsquery, search_type="raw", config="simple")
            return set(rows.filter(search_words=query).values_list("contact__bsuid", flat=True))

        assert found("bsuid") == {"DE.1"}  # a message's text ("erika-bsuid")
        assert found("erika & m") == {"DE.1"}  # the profile name, "Erika M."
        assert found("private") == {"US.2"}
        assert found("unknown") == set()  # a message outside every thread ("unknown-number")

        # Back to before it and forward again: the same words.
        migrate(conn, LATEST)
        migrate(conn, WORDS)
        assert found("bsuid") == {"DE.1"}

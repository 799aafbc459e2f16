"""An inbound batch moves its conversations in one statement of its own SQL
(``inbox.services.inbound._conversations_move``): the same answers on PostgreSQL and on
SQLite, the local demo's database (scratch databases, tests/scratch_databases.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from accounts.models import Tenant
from accounts.tenancy import tenant_scope
from inbox.models import Contact, Conversation, Message, Queue
from inbox.services.inbound import _conversations_move, _Move
from senders.models import PhoneNumber, WhatsAppAccount
from tests.scratch_databases import VENDORS, migrate, scratch_database

pytestmark = pytest.mark.django_db

LATE = datetime(2026, 12, 1, 18, 30, tzinfo=UTC)
EARLY = LATE - timedelta(hours=5)
NOW = LATE + timedelta(hours=2)


@pytest.mark.parametrize("vendor", VENDORS)
def test_a_batch_moves_each_conversation_by_its_own_figures_and_only_forward(vendor: str) -> None:
    with scratch_database(vendor) as connection:
        migrate(connection)
        db = connection.alias
        tenant = Tenant.objects.using(db).create(name="Demo", slug="demo")
        other = Tenant.objects.using(db).create(name="Other", slug="other")
        with tenant_scope(tenant):
            waba = WhatsAppAccount.objects.using(db).create(waba_id="1001")
            phone = PhoneNumber.objects.using(db).create(
                waba=waba, phone_number_id="2001", display_phone_number="+1 555-0100"
            )

            def conversation(wa_id: str, **fields: object) -> Conversation:
                contact = Contact.objects.using(db).create(wa_id=wa_id, phone=f"+{wa_id}")
                return Conversation.objects.using(db).create(
                    channel=phone, contact=contact, **fields
                )

            def message(conv: Conversation, wamid: str, at: datetime) -> Message:
                return Message.objects.using(db).create(
                    conversation=conv,
                    wamid=wamid,
                    direction="in",
                    phone_number_id="2001",
                    wa_id=conv.contact.wa_id,
                    type="text",
                    text=wamid,
                    status="received",
                    meta_timestamp=at,
                )

            pending = conversation(
                "4915100000001",
                queue=Queue.PENDING,
                unread_count=2,
                last_inbound_at=LATE,
                last_message_at=LATE,
            )
            shown = message(pending, "shown", LATE)
            Conversation.objects.using(db).filter(pk=pending.pk).update(last_message=shown)
            fresh = conversation(
                "4915100000002", last_message_at=EARLY - timedelta(minutes=1)
            )  # no window, no message yet
            late_one, first = (
                message(pending, "late-arrival", EARLY),
                message(fresh, "first", EARLY),
            )

            # A late message (older than the thread's newest) and a first message.
            _conversations_move(
                [
                    _Move(pending.pk, 3, EARLY, late_one.pk, "parcel late"),
                    _Move(fresh.pk, 1, EARLY, first.pk, "hello Erika"),
                ],
                now=NOW,
                using=db,
            )
            rows = Conversation.objects.using(db).in_bulk([pending.pk, fresh.pk])
            moved, started = rows[pending.pk], rows[fresh.pk]
            assert (moved.unread_count, moved.queue, moved.version) == (5, Queue.NEW, 2)
            assert moved.last_inbound_at == LATE  # the window does not move back
            assert (moved.last_message_id, moved.last_message_at) == (shown.pk, LATE)
            assert (moved.last_activity_at, moved.changed_at) == (NOW, NOW)
            assert (started.unread_count, started.queue) == (1, Queue.NEW)
            assert started.last_inbound_at == started.last_message_at == EARLY
            assert started.last_message_id == first.pk

            newest = message(pending, "newest", LATE + timedelta(minutes=1))
            _conversations_move(
                [_Move(pending.pk, 1, LATE + timedelta(minutes=1), newest.pk, "refund")],
                now=NOW,
                using=db,
            )
            moved = Conversation.objects.using(db).get(pk=pending.pk)
            assert moved.unread_count == 6 and moved.version == 3
            assert moved.last_inbound_at == moved.last_message_at == LATE + timedelta(minutes=1)
            assert moved.last_message_id == newest.pk
            if vendor == "postgresql":  # SQLite keeps no search words: it searches with LIKE
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT search_words::text FROM inbox_conversation WHERE id = %s",
                        [pending.pk],
                    )
                    words = cursor.fetchone()[0]
                assert all(f"'{w}'" in words for w in ("parcel", "late", "refund"))

        # Another workspace's statement names its own tenant: these rows do not move.
        with tenant_scope(other):
            _conversations_move(
                [_Move(pending.pk, 10, NOW, newest.pk, "intruder")], now=NOW, using=db
            )
        with tenant_scope(tenant):
            assert Conversation.objects.using(db).get(pk=pending.pk).unread_count == 6

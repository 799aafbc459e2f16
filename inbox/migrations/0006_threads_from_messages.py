"""The messages the webhook pipeline stored before the inbox existed join their threads.

For each workspace, every inbound message on a number the workspace has a row for, and
received since that number's account was connected (the inbox's own rule, with the same
grace for clocks and whole-second timestamps), gets its contact (matched by business-
scoped user id, else by phone, else created) and the one open conversation of that
contact on that number (created in New: auto-resolve later resolves the idle ones with
the channel's own number of days). The conversation's times, unread count and last
message are those of its messages. Nothing is deleted or changed otherwise: messages
outside a thread keep their rows (they have no conversation, as before).

Runs in chunks, each in its own transaction, and can run again: a message that has its
conversation is skipped, contacts and open conversations are found before any is made.
Going back leaves the rows (the previous migration's reversal drops the tables).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import migrations, transaction

CHUNK = 2000
# As inbox.services.inbound.CONNECTED_GRACE.
CONNECTED_GRACE = timedelta(minutes=10)


def _e164(wa_id: str) -> str:
    digits = "".join(ch for ch in wa_id or "" if ch.isdigit())
    return f"+{digits}" if digits else ""


def threads_from_messages(apps: Any, schema_editor: Any) -> None:
    db = schema_editor.connection.alias
    Message = apps.get_model("inbox", "Message")
    Contact = apps.get_model("inbox", "Contact")
    Conversation = apps.get_model("inbox", "Conversation")
    PhoneNumber = apps.get_model("senders", "PhoneNumber")

    waiting = Message.objects.using(db).filter(direction="in", conversation__isnull=True)
    tenant_ids = sorted(set(waiting.values_list("tenant_id", flat=True).distinct()))
    for tenant_id in tenant_ids:
        phones = {
            p.phone_number_id: p
            for p in PhoneNumber.objects.using(db).filter(tenant_id=tenant_id).select_related("waba")
        }
        contacts = list(Contact.objects.using(db).filter(tenant_id=tenant_id))
        by_bsuid = {c.bsuid: c for c in contacts if c.bsuid}
        by_phone = {c.phone: c for c in contacts if c.phone}
        open_conversations = {
            (c.channel_id, c.contact_id): c
            for c in Conversation.objects.using(db)
            .filter(tenant_id=tenant_id)
            .exclude(queue="resolved")
        }
        last_id = 0
        while True:
            chunk = list(
                waiting.filter(tenant_id=tenant_id, pk__gt=last_id).order_by("pk")[:CHUNK]
            )
            if not chunk:
                break
            last_id = chunk[-1].pk
            with transaction.atomic(using=db):
                _chunk_into_threads(
                    db, tenant_id, chunk, phones, by_bsuid, by_phone, open_conversations,
                    Contact, Conversation, Message,
                )


def _chunk_into_threads(  # noqa: PLR0913 - the migration's caches, passed along
    db: str,
    tenant_id: int,
    chunk: list[Any],
    phones: dict[str, Any],
    by_bsuid: dict[str, Any],
    by_phone: dict[str, Any],
    open_conversations: dict[tuple[int, int], Any],
    Contact: Any,
    Conversation: Any,
    Message: Any,
) -> None:
    placed: list[tuple[Any, Any, Any]] = []  # (message, channel, contact)
    new_contacts: dict[str, Any] = {}
    changed_contacts: dict[int, Any] = {}
    for message in chunk:
        channel = phones.get(message.phone_number_id)
        if channel is None:
            continue
        connected = channel.waba.connected_at
        if connected and message.meta_timestamp and message.meta_timestamp < (
            connected - CONNECTED_GRACE
        ):
            continue
        phone = _e164(message.wa_id)
        key = message.bsuid or phone
        if not key:
            continue
        contact = (by_bsuid.get(message.bsuid) if message.bsuid else None) or (
            by_phone.get(phone) if phone else None
        )
        if contact is None:
            contact = Contact(
                tenant_id=tenant_id,
                wa_id=message.wa_id or "",
                phone=phone,
                bsuid=message.bsuid,
                profile_name=(message.contact_name or "")[:255],
                created_at=message.meta_timestamp or message.created_at,
            )
            new_contacts[key] = contact
            if contact.bsuid:
                by_bsuid[contact.bsuid] = contact
            if contact.phone:
                by_phone[contact.phone] = contact
        elif (message.contact_name and contact.profile_name != message.contact_name[:255]) or (
            message.bsuid and not contact.bsuid
        ):
            contact.profile_name = (message.contact_name or contact.profile_name)[:255]
            if message.bsuid and not contact.bsuid:
                contact.bsuid = message.bsuid
                by_bsuid[message.bsuid] = contact
            if contact.pk:
                changed_contacts[contact.pk] = contact
        placed.append((message, channel, contact))
    _bulk_create(db, Contact, list(new_contacts.values()), ("phone", "bsuid"))
    if changed_contacts:
        Contact.objects.using(db).bulk_update(
            list(changed_contacts.values()), ["profile_name", "bsuid"]
        )

    new_conversations: dict[tuple[int, int], Any] = {}
    for _message, channel, contact in placed:
        key = (channel.pk, contact.pk)
        if key not in open_conversations and key not in new_conversations:
            new_conversations[key] = Conversation(
                tenant_id=tenant_id, channel_id=channel.pk, contact_id=contact.pk, queue="new"
            )
    _bulk_create(db, Conversation, list(new_conversations.values()), ("channel_id", "contact_id"))
    open_conversations.update(new_conversations)

    touched: dict[int, Any] = {}
    for message, channel, contact in placed:
        conversation = open_conversations[(channel.pk, contact.pk)]
        when = message.meta_timestamp or message.created_at
        if conversation.last_inbound_at is None or when >= conversation.last_inbound_at:
            conversation.last_inbound_at = when
            conversation.last_message_id = message.pk
        conversation.unread_count += 1
        touched[conversation.pk] = conversation
        message.conversation_id = conversation.pk
    for conversation in touched.values():
        when = conversation.last_inbound_at
        conversation.last_message_at = conversation.last_activity_at = when
        conversation.changed_at = when
        conversation.created_at = min(conversation.created_at, when)
    if touched:
        Conversation.objects.using(db).bulk_update(
            list(touched.values()),
            [
                "last_inbound_at",
                "last_message_at",
                "last_activity_at",
                "last_message",
                "unread_count",
                "changed_at",
                "created_at",
            ],
        )
    if placed:
        Message.objects.using(db).bulk_update([m for m, _c, _k in placed], ["conversation"])


def _bulk_create(db: str, model: Any, rows: list[Any], keys: tuple[str, ...]) -> None:
    """Insert ``rows`` and give each its id (read back by ``keys`` where the database
    does not return ids from a bulk insert)."""
    if not rows:
        return
    model.objects.using(db).bulk_create(rows)
    for row in rows:
        if row.pk is None:
            lookup = {k: getattr(row, k) for k in keys}
            row.pk = (
                model.objects.using(db)
                .filter(tenant_id=row.tenant_id, **lookup)
                .exclude(**({"queue": "resolved"} if hasattr(row, "queue") else {}))
                .values_list("pk", flat=True)
                .first()
            )


class Migration(migrations.Migration):
    atomic = False  # one transaction per chunk (see the docstring)

    dependencies = [("inbox", "0005_threads")]

    operations = [migrations.RunPython(threads_from_messages, migrations.RunPython.noop)]

"""Conversations as the inbox keeps them, made directly (no Meta behind them)."""

from __future__ import annotations

import itertools
import random
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from accounts.models import Membership, Team
from accounts.tenancy import tenant_scope
from inbox.models import (
    Contact,
    Conversation,
    ConversationTag,
    Direction,
    Message,
    MessageStatus,
    Queue,
)
from inbox.search_words import words_refresh
from senders.models import PhoneNumber

_numbers = itertools.count(random.randrange(10**5) * 100)


def thread(
    phone: PhoneNumber,
    *,
    name: str = "Ana Lima",
    texts: tuple[str, ...] = ("Hello",),
    queue: str = Queue.NEW,
    assignee: Membership | None = None,
    team: Team | None = None,
    tags: tuple[str, ...] = (),
    last_inbound: timedelta = timedelta(minutes=5),
    contact: Contact | None = None,
    outbound: tuple[tuple[str, str], ...] = (),
) -> Conversation:
    """A conversation of a new (or the given) contact on ``phone``: the contact's texts,
    the last one ``last_inbound`` ago, then our ``outbound`` (text, status) messages."""
    now = timezone.now()
    with tenant_scope(phone.tenant):
        if contact is None:
            wa_id = f"4917{next(_numbers) % 10**9:09d}"
            contact = Contact.objects.create(wa_id=wa_id, phone=f"+{wa_id}", profile_name=name)
        last_at: datetime = now - last_inbound
        conversation = Conversation.objects.create(
            channel=phone,
            contact=contact,
            queue=queue,
            assignee=assignee,
            team=team,
            last_inbound_at=last_at,
            last_message_at=last_at,
            last_activity_at=last_at,
            unread_count=len(texts),
            resolved_at=now if queue == Queue.RESOLVED else None,
        )
        rows = []
        for i, text in enumerate(texts):
            rows.append(
                _message(
                    conversation,
                    Direction.INBOUND,
                    text,
                    last_at - timedelta(seconds=len(texts) - i),
                )
            )
        for i, (text, status) in enumerate(outbound):
            rows.append(
                _message(
                    conversation,
                    Direction.OUTBOUND,
                    text,
                    last_at + timedelta(seconds=i + 1),
                    status,
                )
            )
        if rows:
            conversation.last_message = rows[-1]
            conversation.last_message_at = rows[-1].meta_timestamp
            conversation.save(update_fields=["last_message", "last_message_at"])
            words_refresh([conversation.pk])  # what the services add as they store messages
        for tag in tags:
            ConversationTag.objects.create(conversation=conversation, name=tag)
    return conversation


def _message(
    conversation: Conversation,
    direction: str,
    text: str,
    when: datetime,
    status: str = MessageStatus.RECEIVED,
    **fields: Any,
) -> Message:
    contact = conversation.contact
    return Message.objects.create(
        conversation=conversation,
        wamid=f"wamid.t{next(_numbers)}",
        direction=direction,
        phone_number_id=conversation.channel.phone_number_id,
        wa_id=contact.wa_id,
        type="text",
        text=text,
        payload={"type": "text", "text": {"body": text}},
        status=status,
        error_code=131047 if status == MessageStatus.FAILED else None,
        meta_timestamp=when,
        **fields,
    )

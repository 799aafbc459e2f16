"""Writing to a contact first: the conversation a send "to a phone number" goes on.

The member (or API key) names the contact by phone and, optionally, the number to send
from; without one the workspace's primary sender is used (DESIGN §2). The contact is
found by phone or mobile in any of its forms, else added; the open conversation of that
contact on that number is reused, else a new one starts in Pending (the business wrote,
the customer has yet to answer), assigned to the member who started it. Nothing is sent
here: outside the 24-hour window the first message is a template, and the composer and
the API send it through ``services.outbound`` as any other reply.
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Membership
from accounts.services.audit import audit_record
from inbox import phones
from inbox.models import OPEN_QUEUES, Contact, Conversation, Queue
from inbox.selectors import channel_role, conversations_visible
from inbox.services.contacts import contact_by_phone, phone_parse
from senders.models import ChannelRole, PhoneNumber
from senders.selectors import phones_visible_to
from waba_portal.errors import Invalid

REPLIER_ROLES = (ChannelRole.CONTRIBUTOR, ChannelRole.SUPERVISOR)


def sending_numbers(actor: Any) -> list[PhoneNumber]:
    """The numbers ``actor`` may write from, the primary sender first."""
    numbers = phones_visible_to(actor).select_related("waba").order_by("-is_primary", "pk")
    return [n for n in numbers if channel_role(actor, n) in REPLIER_ROLES]


def sending_number(actor: Any, channel_pk: object = None) -> PhoneNumber:
    """The chosen number, or the primary sender; a field error when it is not one the
    actor may write from."""
    numbers = sending_numbers(actor)
    if channel_pk not in (None, ""):
        chosen = next((n for n in numbers if str(n.pk) == str(channel_pk)), None)
        if chosen is None:
            raise Invalid(_("Choose one of your WhatsApp numbers to send from."), field="channel")
        return chosen
    primary = next((n for n in numbers if n.is_primary), None)
    if primary is None:
        raise Invalid(
            _("This workspace has no primary sender you may write from: choose the number."),
            field="channel",
        )
    return primary


def _open_conversation(actor: Any, channel: PhoneNumber, contact: Contact) -> Conversation | None:
    return (
        conversations_visible(actor)
        .filter(contact=contact, channel=channel, queue__in=OPEN_QUEUES)
        .select_related("contact", "channel__waba")
        .first()
    )


def conversation_find(*, actor: Any, to: Any, channel_pk: object = None) -> Conversation:
    """The conversation with the contact ``to`` on the chosen (or primary) number: the
    open one, else their latest there; a field error when there is none (a free-form
    message needs the customer to have written)."""
    e164 = phone_parse(to, field="to", required=True)
    channel = sending_number(actor, channel_pk)
    contact = contact_by_phone(e164)
    found = None
    if contact is not None:
        found = (
            conversations_visible(actor)
            .filter(contact=contact, channel=channel)
            .select_related("contact", "channel__waba")
            .order_by(F("last_inbound_at").desc(nulls_last=True), "-pk")
            .first()
        )
    if found is None:
        raise Invalid(
            _(
                "%(phone)s has not written to this number: the first message to them must be "
                "an approved template."
            )
            % {"phone": e164},
            field="to",
            code="window_closed",
        )
    return found


def conversation_start(*, actor: Any, to: Any, channel_pk: object = None) -> Conversation:
    """The open conversation with the contact ``to`` on the chosen (or primary) number;
    the contact and the conversation are made when there are none."""
    e164 = phone_parse(to, field="to", required=True)
    channel = sending_number(actor, channel_pk)
    member = actor if isinstance(actor, Membership) and actor.pk else None
    user = getattr(actor, "user", None)
    for _try in range(2):  # a second try reads what a concurrent start just wrote
        contact = contact_by_phone(e164)
        if contact is not None:
            found = _open_conversation(actor, channel, contact)
            if found is not None:
                return found
        try:
            with transaction.atomic():
                if contact is None:
                    contact = Contact.objects.create(phone=e164, wa_id=phones.digits(e164))
                    audit_record(actor=user, action="contact.created", target=contact)
                now = timezone.now()
                row = Conversation.objects.create(
                    channel=channel,
                    contact=contact,
                    queue=Queue.PENDING,
                    assignee=member,
                    last_message_at=now,
                    last_activity_at=now,
                    created_at=now,
                    changed_at=now,
                )
                audit_record(
                    actor=user,
                    action="conversation.started",
                    target=row,
                    metadata={"contact": contact.display_name, "channel": str(channel)},
                )
        except IntegrityError:
            continue
        return Conversation.objects.select_related("contact", "channel__waba").get(pk=row.pk)
    raise Invalid(_("This contact was just changed by someone else: try again."), field="to")

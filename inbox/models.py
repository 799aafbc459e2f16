"""The shared inbox: contacts, their conversations on each channel, messages and notes.

Messages are unique per (tenant, Meta message id), so a redelivered webhook never
doubles a message. Every status report is kept once per (message, status); the
message's own status is the highest-ranked one seen (sent < delivered < read, failed
terminal), so any order of delivery ends in the same state.

A customer's message opens or continues a thread: the contact (matched by business-
scoped user id, else by normalized phone, also a contact's mobile), and the one open
conversation (New or Pending) of that contact on that channel, a phone number of ours
(at most one open per channel and contact, a constraint). A resolved conversation stays
as it was; the next message starts a new one in New.

Each conversation carries two change marks for the agents' screens, which poll:
``version`` (one more at every change of the conversation or its messages, taken under
the row's lock, so a thread's poll compares one number) and ``changed_at`` (the time of
the last change, for the list's poll: the newest of the workspace's).
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import PurePosixPath
from typing import Any

from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Membership, Team, Tenant
from accounts.tenancy import TenantOwnedModel
from inbox import phones
from senders.models import PhoneNumber

# The customer service window: a customer's message opens it for 24 hours (NOTES §4).
WINDOW = timedelta(hours=24)


class Direction(models.TextChoices):
    INBOUND = "in", _("Inbound")
    OUTBOUND = "out", _("Outbound")


class MessageStatus(models.TextChoices):
    RECEIVED = "received", _("Received")
    QUEUED = "queued", _("Queued")
    SENT = "sent", _("Sent")
    DELIVERED = "delivered", _("Delivered")
    READ = "read", _("Read")
    PLAYED = "played", _("Played")
    DELETED = "deleted", _("Deleted")
    FAILED = "failed", _("Failed")


class MessageType(models.TextChoices):
    """Meta's message types (NOTES §4, §5): inbound ones and what we send.

    ``Message.type`` keeps Meta's string as it came, so a type Meta adds later is kept
    too; the inbox shows any type it does not know as unsupported.
    """

    TEXT = "text", _("Text")
    IMAGE = "image", _("Image")
    AUDIO = "audio", _("Audio")
    VIDEO = "video", _("Video")
    DOCUMENT = "document", _("Document")
    STICKER = "sticker", _("Sticker")
    LOCATION = "location", _("Location")
    CONTACTS = "contacts", _("Contact card")
    INTERACTIVE = "interactive", _("Reply to a list or buttons")
    BUTTON = "button", _("Quick reply")
    REACTION = "reaction", _("Reaction")
    ORDER = "order", _("Order")
    SYSTEM = "system", _("System message")
    REQUEST_WELCOME = "request_welcome", _("Chat opened")
    UNSUPPORTED = "unsupported", _("Unsupported message")
    UNKNOWN = "unknown", _("Unknown message")
    TEMPLATE = "template", _("Template")


MEDIA_TYPES = frozenset({"image", "audio", "video", "document", "sticker"})


class Queue(models.TextChoices):
    NEW = "new", _("New")
    PENDING = "pending", _("Pending")
    RESOLVED = "resolved", _("Resolved")


OPEN_QUEUES = (Queue.NEW, Queue.PENDING)


def contact_display_name(
    name: str, profile_name: str, phone: str, username: str, bsuid: str | None
) -> str:
    """How a contact is named: the name given, the WhatsApp profile name, the number as
    people write it, the username, the business-scoped user id (the number is formatted
    only when needed: it is parsed)."""
    if name or profile_name:
        return name or profile_name
    return phones.international(phone) or username or bsuid or "?"


def window_is_open(last_inbound_at: Any, now: Any) -> bool:
    """The customer service window: open until ``WINDOW`` after the last inbound message."""
    return bool(last_inbound_at and last_inbound_at + WINDOW > now)


class ConsentState(models.TextChoices):
    UNKNOWN = "unknown", _("Not asked")
    OPTED_IN = "opted_in", _("Opted in")
    OPTED_OUT = "opted_out", _("Opted out")


class ConsentSource(models.TextChoices):
    KEYWORD = "keyword", _("Keyword from the contact")
    AGENT = "agent", _("Recorded by a member")
    API = "api", _("Recorded through the API")


# --- Contacts ---------------------------------------------------------------------------


class Contact(TenantOwnedModel):
    """A WhatsApp user the workspace talks to.

    ``phone`` is E.164 (``+4915112345678``), from WhatsApp's ``wa_id``; empty for a user
    known only by their business-scoped user id (``bsuid``, NOTES §10). ``mobile`` is
    another number of theirs that a member or the API gave: an inbound message from it
    is linked to this contact too. ``profile_name`` is what WhatsApp says; ``name`` what
    the workspace calls them (shown first when given).
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="contacts")
    wa_id = models.CharField(max_length=32, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    mobile = models.CharField(_("mobile"), max_length=20, blank=True)
    bsuid = models.CharField(max_length=160, null=True, blank=True)
    username = models.CharField(max_length=64, blank=True)
    profile_name = models.CharField(_("WhatsApp profile name"), max_length=255, blank=True)
    name = models.CharField(_("name"), max_length=255, blank=True)
    consent = models.CharField(
        max_length=16, choices=ConsentState.choices, default=ConsentState.UNKNOWN
    )
    consent_source = models.CharField(max_length=16, choices=ConsentSource.choices, blank=True)
    consent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "phone"], condition=~models.Q(phone=""), name="contact_phone"
            ),
            models.UniqueConstraint(
                fields=["tenant", "bsuid"],
                condition=models.Q(bsuid__isnull=False),
                name="contact_bsuid",
            ),
        ]
        indexes = [
            models.Index(
                fields=["tenant", "mobile"], condition=~models.Q(mobile=""), name="contact_mobile"
            ),
            models.Index(fields=["tenant", "-created_at"], name="contact_recent"),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return contact_display_name(
            self.name, self.profile_name, self.phone, self.username, self.bsuid
        )


class ConsentChange(TenantOwnedModel):
    """One opt-in or opt-out of a contact: how it was given (a keyword, a member, the API)."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="consent_changes")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="consent_history")
    state = models.CharField(max_length=16, choices=ConsentState.choices)
    source = models.CharField(max_length=16, choices=ConsentSource.choices)
    keyword = models.CharField(max_length=64, blank=True)
    actor = models.ForeignKey(
        Membership, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Who acted when no member did (an API key's name).
    actor_label = models.CharField(max_length=255, blank=True)
    message = models.ForeignKey(
        "inbox.Message", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    note = models.CharField(max_length=255, blank=True)
    occurred_at = models.DateTimeField()

    class Meta:
        ordering = ["-occurred_at", "-id"]

    def __str__(self) -> str:
        return f"{self.contact_id} {self.state} ({self.source})"


class InboxSettings(TenantOwnedModel):
    """A workspace's inbox settings: consent keywords of its own, besides the built-in ones."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="inbox_settings")
    opt_in_keywords = models.JSONField(default=list, blank=True)
    opt_out_keywords = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant"], name="inbox_settings_one_per_tenant"),
        ]

    def __str__(self) -> str:
        return f"inbox settings of {self.tenant_id}"


# --- Conversations ------------------------------------------------------------------------


class Conversation(TenantOwnedModel):
    """A thread with one contact on one channel (a phone number of ours)."""

    tenant = models.ForeignKey(
        Tenant, on_delete=models.CASCADE, related_name="conversations", db_index=False
    )
    channel = models.ForeignKey(PhoneNumber, on_delete=models.CASCADE, related_name="conversations")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="conversations")
    queue = models.CharField(max_length=10, choices=Queue.choices, default=Queue.NEW)
    assignee = models.ForeignKey(
        Membership,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_conversations",
    )
    team = models.ForeignKey(
        Team, on_delete=models.SET_NULL, null=True, blank=True, related_name="conversations"
    )
    # The contact's last message: the customer service window runs 24 hours from it.
    last_inbound_at = models.DateTimeField(null=True, blank=True)
    # The last message either way: the list's order.
    last_message_at = models.DateTimeField(default=timezone.now)
    # Messages and queue moves: the clock of auto-resolve.
    last_activity_at = models.DateTimeField(default=timezone.now)
    # The last message either way, for the list's preview (no constraint: a message goes
    # only with its conversation, and the delete need not look for it here).
    last_message = models.ForeignKey(
        "inbox.Message",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        null=True,
        blank=True,
        related_name="+",
    )
    unread_count = models.PositiveIntegerField(default=0)
    version = models.PositiveBigIntegerField(default=1)
    changed_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # The words a search finds it by, its contact's names and its messages' texts
    # (PostgreSQL only: ``inbox.search_words``; empty on SQLite).
    search_words = SearchVectorField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("conversation")
        verbose_name_plural = _("conversations")
        constraints = [
            # The open conversation of a contact on a channel is reused: one at a time.
            models.UniqueConstraint(
                fields=["tenant", "channel", "contact"],
                condition=~models.Q(queue="resolved"),
                name="conversation_one_open",
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "-last_message_at", "-id"], name="conversation_recent"),
            models.Index(fields=["tenant", "-changed_at"], name="conversation_changed"),
            models.Index(fields=["channel", "queue", "last_activity_at"], name="conversation_idle"),
        ]

    def __str__(self) -> str:
        return f"conversation {self.pk} ({self.queue})"

    @property
    def is_open(self) -> bool:
        return self.queue != Queue.RESOLVED

    def window_closes_at(self) -> Any:
        """When the customer service window closes (None: the contact never wrote)."""
        return self.last_inbound_at + WINDOW if self.last_inbound_at else None

    def window_open(self, now: Any = None) -> bool:
        return window_is_open(self.last_inbound_at, now or timezone.now())


class ConversationTag(TenantOwnedModel):
    tenant = models.ForeignKey(
        Tenant, on_delete=models.CASCADE, related_name="conversation_tags", db_index=False
    )
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="tags")
    name = models.CharField(max_length=50)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "conversation", "name"], name="conversation_tag_unique"
            ),
        ]
        # By name, with the conversation in the index: a tag's conversations are read from
        # the index alone (``selectors._tagged``), and the names one after another.
        indexes = [
            models.Index(fields=["tenant", "name", "conversation"], name="conversation_tag_ids")
        ]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Note(TenantOwnedModel):
    """An internal note on a conversation: for the team, never sent to the customer."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="notes")
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(
        Membership, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    author_label = models.CharField(max_length=255, blank=True)  # an API key's name
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"note {self.pk} on {self.conversation_id}"


# --- Messages -----------------------------------------------------------------------------


class Message(TenantOwnedModel):
    """A message exchanged with a customer, in either direction.

    ``conversation`` is empty for a message that is in no thread: one received before its
    channel was connected here, through a number we hold no row for, or one Meta reports
    a status of that was not sent from here. ``context_wamid`` is the message this one
    replies to (or, for a reaction, reacts to); ``text`` holds the body, a caption, a
    reply's title or a reaction's emoji; ``payload`` Meta's object as it came.
    """

    # Every index here is written on each webhook: the tenant's own index is covered by
    # the two below, which lead with it.
    tenant = models.ForeignKey(
        Tenant, on_delete=models.CASCADE, related_name="messages", db_index=False
    )
    conversation = models.ForeignKey(
        Conversation,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="messages",
        db_index=False,  # the thread index leads with it (migration 0007)
    )
    wamid = models.CharField(max_length=160)
    direction = models.CharField(max_length=3, choices=Direction.choices)
    phone_number_id = models.CharField(max_length=32)
    wa_id = models.CharField(max_length=32)  # empty for a user who keeps the number from us
    # The sender's business-scoped user id (BSUID, e.g. "US.13491208655302741918") on
    # inbound messages whose webhook carries one (docs/meta/NOTES.md §10).
    bsuid = models.CharField(max_length=160, null=True, blank=True)
    contact_name = models.CharField(max_length=255, blank=True)
    type = models.CharField(max_length=32)
    text = models.TextField(blank=True)
    payload = models.JSONField(default=dict, blank=True)
    context_wamid = models.CharField(max_length=160, blank=True, db_default="")
    author = models.ForeignKey(
        Membership,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    status = models.CharField(max_length=16, choices=MessageStatus.choices)
    status_rank = models.PositiveSmallIntegerField(default=0)
    error_code = models.IntegerField(null=True, blank=True)
    error_title = models.CharField(max_length=255, blank=True)
    error_details = models.TextField(blank=True)
    meta_timestamp = models.DateTimeField(null=True, blank=True)
    status_updated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "wamid"], name="message_unique_wamid"),
        ]
        indexes = [
            models.Index(fields=["tenant", "wa_id", "-meta_timestamp"], name="message_thread"),
            models.Index(
                fields=["conversation", "meta_timestamp", "id"], name="message_conversation"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.direction} {self.wamid}"

    @property
    def is_inbound(self) -> bool:
        return self.direction == Direction.INBOUND

    @property
    def is_known_type(self) -> bool:
        return self.type in MessageType.values and self.type not in ("unsupported", "unknown")


class MessageStatusEvent(TenantOwnedModel):
    """One status Meta reported for one of our messages, kept once."""

    tenant = models.ForeignKey(  # covered by the unique constraint, which leads with it
        Tenant, on_delete=models.CASCADE, related_name="status_events", db_index=False
    )
    wamid = models.CharField(max_length=160)
    status = models.CharField(max_length=16)
    rank = models.PositiveSmallIntegerField()
    recipient_id = models.CharField(max_length=32, blank=True)
    meta_timestamp = models.DateTimeField(null=True, blank=True)
    errors = models.JSONField(default=list, blank=True)
    pricing = models.JSONField(default=dict, blank=True)
    conversation_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "wamid", "status"], name="status_event_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.wamid} {self.status}"


# --- Media --------------------------------------------------------------------------------


class MediaState(models.TextChoices):
    PENDING = "pending", _("Downloading")
    STORED = "stored", _("Stored")
    FAILED = "failed", _("Could not be downloaded")


def media_upload_to(media: Media, filename: str) -> str:
    """``inbox/<tenant>/<year>/<month>/<random><ext>``: no name a customer chose."""
    now = timezone.now()
    suffix = PurePosixPath(filename).suffix.lower()[:10]
    return f"inbox/{media.tenant_id}/{now:%Y}/{now:%m}/{uuid.uuid4().hex}{suffix}"


class Media(TenantOwnedModel):
    """The file of a media message: fetched from Meta in the background, kept in storage."""

    tenant = models.ForeignKey(
        Tenant, on_delete=models.CASCADE, related_name="inbox_media", db_index=False
    )
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="media")
    media_id = models.CharField(max_length=64, blank=True)  # Meta's
    mime_type = models.CharField(max_length=128, blank=True)
    sha256 = models.CharField(max_length=128, blank=True)
    filename = models.CharField(max_length=255, blank=True)
    size = models.PositiveBigIntegerField(null=True, blank=True)
    file = models.FileField(upload_to=media_upload_to, max_length=255, blank=True)
    state = models.CharField(max_length=10, choices=MediaState.choices, default=MediaState.PENDING)
    problem = models.CharField(max_length=32, blank=True)  # inbox.media_problems key
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    fetched_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("media file")
        verbose_name_plural = _("media files")
        constraints = [
            models.UniqueConstraint(fields=["tenant", "message"], name="media_one_per_message"),
        ]

    def __str__(self) -> str:
        return f"media {self.media_id} ({self.state})"

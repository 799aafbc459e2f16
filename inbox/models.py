"""Messages exchanged with customers over WhatsApp, and the statuses Meta reports.

Inbound messages are unique per (tenant, Meta message id), so a redelivered webhook
never doubles a message. Every status report is kept once per (message, status);
the message's own status is the highest-ranked one seen (sent < delivered < read,
failed terminal), so any order of delivery ends in the same state.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Tenant
from accounts.tenancy import TenantOwnedModel


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


class Message(TenantOwnedModel):
    # Every index here is written on each webhook: the tenant's own index is covered by
    # the two below, which lead with it.
    tenant = models.ForeignKey(
        Tenant, on_delete=models.CASCADE, related_name="messages", db_index=False
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
            models.Index(fields=["tenant", "wa_id", "-meta_timestamp"], name="message_thread")
        ]

    def __str__(self) -> str:
        return f"{self.direction} {self.wamid}"


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

"""Webhook deliveries from Meta, stored raw before anything else, and their outcomes.

A delivery is one signed POST. It is kept exactly as received and processed later by
a worker, change by change; each change records where it was routed and how it ended.
Deliveries are not tenant-owned (one POST may carry entries of several tenants'
WABAs); the changes carry the tenant they were routed to. Only staff see these rows.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Tenant


class DeliveryStatus(models.TextChoices):
    RECEIVED = "received", _("Received")
    PROCESSED = "processed", _("Processed")
    RETRYING = "retrying", _("Retrying")
    DEAD = "dead", _("Dead letter")


class WebhookDelivery(models.Model):
    # No index of its own: lists go by id, and open deliveries by the partial index,
    # which the worker scans in id order (see services.deliveries_process).
    received_at = models.DateTimeField()
    body = models.BinaryField()
    body_sha256 = models.CharField(max_length=64, unique=True)
    duplicates = models.PositiveIntegerField(default=0)
    status = models.CharField(
        max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.RECEIVED
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["status", "id"],
                condition=~models.Q(status="processed"),
                name="webhook_delivery_open",
            ),
        ]

    def __str__(self) -> str:
        return f"delivery {self.pk} ({self.status})"


class ChangeStatus(models.TextChoices):
    PROCESSED = "processed", _("Processed")
    UNROUTABLE = "unroutable", _("Unroutable")
    UNHANDLED = "unhandled", _("No handler")
    FAILED = "failed", _("Failed")
    DEAD = "dead", _("Dead letter")


FINAL_CHANGE_STATUSES = frozenset(
    {ChangeStatus.PROCESSED, ChangeStatus.UNROUTABLE, ChangeStatus.UNHANDLED}
)


class WebhookChange(models.Model):
    """The outcome of one ``entry[i].changes[j]`` of a delivery."""

    delivery = models.ForeignKey(  # indexed by the unique constraint, which leads with it
        WebhookDelivery, on_delete=models.CASCADE, related_name="changes", db_index=False
    )
    entry_index = models.PositiveIntegerField()
    change_index = models.PositiveIntegerField()
    field = models.CharField(max_length=64)
    waba_id = models.CharField(max_length=32, blank=True)
    phone_number_id = models.CharField(max_length=32, blank=True)
    tenant = models.ForeignKey(
        Tenant, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    event_count = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=16, choices=ChangeStatus.choices)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["delivery", "entry_index", "change_index"], name="webhook_change_unique"
            ),
        ]
        indexes = [models.Index(fields=["status", "field"], name="webhook_change_status")]

    def __str__(self) -> str:
        return f"{self.field} [{self.entry_index}.{self.change_index}] {self.status}"

"""Subscriptions of integrators to events, the events themselves and their deliveries."""

from __future__ import annotations

import secrets
from typing import Any

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Tenant, User
from accounts.tenancy import TenantOwnedModel
from waba_portal.crypto import EncryptedTextField

# What a subscription can ask for, with the words the settings page shows.
EVENT_TYPES: dict[str, Any] = {
    "message.received": _("A message arrived from a contact"),
    "message.status": _("An outgoing message was sent, delivered, read or failed"),
    "conversation.assigned": _("A conversation was assigned"),
    "conversation.status_changed": _("A conversation moved (open, pending, resolved)"),
    "number.quality_changed": _("A number's quality rating changed"),
    "number.status_changed": _("A number's status changed"),
    "number.name_decided": _("Meta decided on a number's display name"),
    "template.status_changed": _("Meta approved, rejected, paused or disabled a template"),
    "waba.status_changed": _("A WhatsApp Business Account's status changed"),
    "onboarding.finished": _("Connecting WhatsApp finished or failed"),
}
# Sent by "Send test event" to the one subscription asked, whatever it subscribed to.
TEST_EVENT_TYPE = "webhook.test"


def event_public_id() -> str:
    """The id integrators see (and the ``webhook-id`` header): ``evt_`` and 24 random chars."""
    return "evt_" + secrets.token_hex(12)


class EventSubscription(TenantOwnedModel):
    """An integrator's URL that receives the chosen events, signed with its secret."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="event_subscriptions")
    url = models.URLField(_("URL"), max_length=2000)
    events = models.JSONField(_("events"), default=list)
    description = models.CharField(_("description"), max_length=255, blank=True)
    enabled = models.BooleanField(_("enabled"), default=True)
    # "whsec_" and the base64 of 32 random bytes (Standard Webhooks); shown once.
    secret = EncryptedTextField()
    # After a rotation, deliveries carry a signature with the old secret too, until then.
    previous_secret = EncryptedTextField(null=True, blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    # Why it was switched off by us (its deliveries failed for a day); blank otherwise.
    disabled_reason = models.CharField(max_length=255, blank=True)
    created_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("event subscription")
        verbose_name_plural = _("event subscriptions")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.url

    def wants(self, event_type: str) -> bool:
        return event_type in (self.events or [])


class Event(TenantOwnedModel):
    """Something that happened, as integrators receive it (the outbox row)."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="integration_events")
    public_id = models.CharField(max_length=40, default=event_public_id)
    type = models.CharField(max_length=64)
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "public_id"], name="event_unique_id"),
        ]
        indexes = [models.Index(fields=["tenant", "created_at"], name="event_tenant_time")]

    def __str__(self) -> str:
        return f"{self.type} {self.public_id}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Waiting to be sent")
    RETRYING = "retrying", _("Failed, will retry")
    SUCCEEDED = "succeeded", _("Delivered")
    FAILED = "failed", _("Failed, no more retries")


class EventDelivery(TenantOwnedModel):
    """One event for one subscription: sent until the URL answers 2xx, or retries run out."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="event_deliveries")
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    subscription = models.ForeignKey(
        EventSubscription, on_delete=models.CASCADE, related_name="deliveries"
    )
    status = models.CharField(
        max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    # When the next try is due; None once delivered or given up. A try in progress moves
    # it past its timeout, so a worker that died leaves it to the sweeper.
    next_attempt_at = models.DateTimeField(null=True, blank=True, default=timezone.now)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["next_attempt_at"], name="event_delivery_due"),
            models.Index(fields=["tenant", "subscription", "-id"], name="event_delivery_log"),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} → {self.subscription_id} ({self.status})"


class EventDeliveryAttempt(TenantOwnedModel):
    """One try of a delivery: what the URL answered (truncated), or why it could not."""

    tenant = models.ForeignKey(
        Tenant, on_delete=models.CASCADE, related_name="event_delivery_attempts"
    )
    delivery = models.ForeignKey(
        EventDelivery, on_delete=models.CASCADE, related_name="attempt_log"
    )
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField(default=timezone.now)
    duration_ms = models.PositiveIntegerField(default=0)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    succeeded = models.BooleanField(default=False)
    error = models.TextField(blank=True)
    response_body = models.TextField(blank=True)

    class Meta:
        ordering = ["-number", "-id"]

    def __str__(self) -> str:
        return f"#{self.number} {self.status_code or self.error[:40]}"

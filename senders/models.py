"""WhatsApp senders: which Meta assets (WABAs, phone numbers) a tenant holds."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Tenant
from accounts.tenancy import TenantOwnedModel


class MetaAssetKind(models.TextChoices):
    WABA = "waba", _("WhatsApp Business Account")
    PHONE_NUMBER = "phone_number", _("Phone number")


class MetaAsset(TenantOwnedModel):
    """A global Meta id (a WABA id, a phone number id) claimed by one tenant.

    Meta's ids are global: each belongs to at most one tenant at a time, which the
    unique constraint enforces. Webhooks are routed to a tenant through this table,
    and a claim that fails is how "connected to another provider" is detected.
    Releasing a claim (disconnect) deletes the row; the tenant's own records of the
    account stay as history.
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="meta_assets")
    kind = models.CharField(max_length=16, choices=MetaAssetKind.choices)
    meta_id = models.CharField(max_length=32)
    waba_id = models.CharField(
        max_length=32, blank=True, help_text="For a phone number: the WABA it belongs to."
    )
    claimed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "meta_id"], name="meta_asset_one_owner"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.meta_id}"

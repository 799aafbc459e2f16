"""The audit log: one row per state change, written inside the change's transaction."""

from __future__ import annotations

from typing import Any

from django.db import models

from accounts.models import (
    AuditEvent,
    User,
)
from accounts.tenancy import require_tenant


def audit_record(
    *,
    actor: User | None,
    action: str,
    target: models.Model | None = None,
    metadata: dict[str, Any] | None = None,
) -> AuditEvent:
    """Write one audit row in the current tenant's scope."""
    return AuditEvent.objects.create(
        tenant=require_tenant(),
        actor=actor,
        action=action,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        target_repr=str(target)[:255] if target is not None else "",
        metadata=metadata or {},
    )

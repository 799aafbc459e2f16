"""Auto-resolve: conversations idle in New or Pending past their channel's number of days.

One periodic task (``inbox.tasks.auto_resolve_task``, beat) walks the workspaces that have
idle conversations and resolves them per channel and queue in batches of
``INBOX_AUTO_RESOLVE_BATCH``: each batch is one UPDATE of the oldest idle ones, never one
job or one statement per conversation. A conversation is idle since its last message
either way or its last move (``last_activity_at``); the days are the channel's
(``ChannelSettings.auto_resolve_new_days`` / ``auto_resolve_pending_days``, 30 by default
for a number whose channel row is not made yet). Each batch leaves one audit row saying
how many were resolved. A run resolves at most ``INBOX_AUTO_RESOLVE_MAX_PER_RUN``; the
rest waits for the next run.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Subquery
from django.utils import timezone

from accounts.models import Tenant
from accounts.services.audit import audit_record
from accounts.tenancy import tenant_scope
from inbox import selectors
from inbox.models import OPEN_QUEUES, Conversation, Queue
from senders.models import ChannelSettings, PhoneNumber

DEFAULT_DAYS = 30
MIN_DAYS = 1


def conversations_auto_resolve(*, now: datetime | None = None) -> int:
    """Resolve every workspace's idle conversations; returns how many were resolved."""
    now = now or timezone.now()
    budget = int(settings.INBOX_AUTO_RESOLVE_MAX_PER_RUN)
    total = 0
    tenant_ids = selectors.auto_resolve_tenant_ids(idle_before=now - timedelta(days=MIN_DAYS))
    for tenant in Tenant.objects.filter(pk__in=tenant_ids, is_active=True).order_by("pk"):
        if total >= budget:
            break
        with tenant_scope(tenant):
            total += _tenant_resolve(now=now, budget=budget - total)
    return total


def _tenant_resolve(*, now: datetime, budget: int) -> int:
    days = {
        phone_id: (new_days, pending_days)
        for phone_id, new_days, pending_days in ChannelSettings.objects.values_list(
            "phone_number_id", "auto_resolve_new_days", "auto_resolve_pending_days"
        )
    }
    idle = set(
        Conversation.objects.filter(
            queue__in=OPEN_QUEUES, last_activity_at__lt=now - timedelta(days=MIN_DAYS)
        )
        .values_list("channel_id", "queue")
        .distinct()
    )
    resolved = 0
    for phone in PhoneNumber.objects.filter(pk__in={c for c, _q in idle}).order_by("pk"):
        new_days, pending_days = days.get(phone.pk, (DEFAULT_DAYS, DEFAULT_DAYS))
        for queue, queue_days in ((Queue.NEW, new_days), (Queue.PENDING, pending_days)):
            if (phone.pk, queue) not in idle:
                continue
            cutoff = now - timedelta(days=max(int(queue_days or DEFAULT_DAYS), MIN_DAYS))
            while resolved < budget:
                done = _batch(phone, queue, cutoff, now, min(_batch_size(), budget - resolved))
                resolved += done
                if done < _batch_size():
                    break
    return resolved


def _batch_size() -> int:
    return max(int(settings.INBOX_AUTO_RESOLVE_BATCH), 1)


def _batch(phone: PhoneNumber, queue: str, cutoff: datetime, now: datetime, size: int) -> int:
    """Resolve up to ``size`` of the oldest idle conversations of ``phone`` in ``queue``."""
    if size <= 0:
        return 0
    oldest = (
        Conversation.objects.filter(channel=phone, queue=queue, last_activity_at__lt=cutoff)
        .order_by("last_activity_at")
        .values("pk")[:size]
    )
    with transaction.atomic():
        done = Conversation.objects.filter(pk__in=Subquery(oldest)).update(
            queue=Queue.RESOLVED,
            resolved_at=now,
            last_activity_at=now,
            version=F("version") + 1,
            changed_at=now,
        )
        if done:
            audit_record(
                actor=None,
                action="conversation.auto_resolved",
                target=phone,
                metadata={"count": done, "queue": str(queue), "before": cutoff.isoformat()},
            )
    return done

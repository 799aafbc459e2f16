"""Writes of the inbox: storing inbound messages and applying status reports."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from django.db.models import Q
from django.utils import timezone

from accounts.tenancy import require_tenant
from inbox.models import Direction, Message, MessageStatus, MessageStatusEvent
from waba_portal.graph import webhooks as wh


def messages_store_inbound(*, events: Sequence[wh.InboundMessage]) -> int:
    """Store inbound messages once each (by Meta's message id); returns rows written."""
    tenant = require_tenant()
    rows = [
        Message(
            tenant=tenant,
            wamid=e.message_id,
            direction=Direction.INBOUND,
            phone_number_id=e.phone_number_id or "",
            wa_id=e.from_ or "",  # no number: a user known only by their BSUID
            bsuid=e.user_id,
            contact_name=(e.contact_name or "")[:255],
            type=e.type[:32],
            text=e.text or "",
            payload=e.raw,
            status=MessageStatus.RECEIVED,
            status_rank=0,
            meta_timestamp=e.timestamp,
        )
        for e in events
    ]
    created = Message.objects.bulk_create(rows, ignore_conflicts=True, batch_size=500)
    return len(created)


def message_statuses_apply(*, events: Sequence[wh.MessageStatus]) -> None:
    """Record status reports and move each message's status forward, never back.

    Every report is kept once per (message, status). A message we have no row for
    (sent before it was connected here, or reported before our own row was written)
    gets one, so that its history is complete. The message's status is then set to
    the highest rank reported, with a single UPDATE per status that only touches rows
    whose rank is lower, so concurrent or reordered reports converge.
    """
    if not events:
        return
    tenant = require_tenant()
    MessageStatusEvent.objects.bulk_create(
        [
            MessageStatusEvent(
                tenant=tenant,
                wamid=e.message_id,
                status=e.status[:16],
                rank=max(wh.status_rank(e.status), 0),  # -1: a status Meta added since
                recipient_id=e.recipient_id or "",
                meta_timestamp=e.timestamp,
                errors=[err.raw for err in e.errors],
                pricing=e.raw.get("pricing") or {},
                conversation_id=(e.conversation.id or "") if e.conversation else "",
            )
            for e in events
        ],
        ignore_conflicts=True,
        batch_size=500,
    )
    best: dict[str, wh.MessageStatus] = {}
    for e in events:
        current = best.get(e.message_id)
        if current is None or wh.status_rank(e.status) > wh.status_rank(current.status):
            best[e.message_id] = e
    # Our own outbound messages have their rows already: one read finds the few that
    # do not, rather than an INSERT … ON CONFLICT attempted for every report.
    known = set(Message.objects.filter(wamid__in=list(best)).values_list("wamid", flat=True))
    Message.objects.bulk_create(
        [
            Message(
                tenant=tenant,
                wamid=e.message_id,
                direction=Direction.OUTBOUND,
                phone_number_id=e.phone_number_id or "",
                wa_id=e.recipient_id or "",
                type="unknown",
                status=MessageStatus.QUEUED,
                status_rank=wh.status_rank("queued"),
            )
            for wamid, e in best.items()
            if wamid not in known
        ],
        ignore_conflicts=True,  # another worker may write the same one meanwhile
        batch_size=500,
    )
    by_status: dict[str, list[str]] = defaultdict(list)
    for wamid, e in best.items():
        if e.status != "failed":
            by_status[e.status].append(wamid)
    now = timezone.now()
    for status, wamids in by_status.items():
        rank = wh.status_rank(status)
        Message.objects.filter(wamid__in=wamids, status_rank__lt=rank).update(
            status=status[:16], status_rank=rank, status_updated_at=now
        )
    for wamid, e in best.items():
        if e.status == "failed":
            error = e.errors[0] if e.errors else None
            Message.objects.filter(
                Q(wamid=wamid), Q(status_rank__lt=wh.status_rank("failed"))
            ).update(
                status=MessageStatus.FAILED,
                status_rank=wh.status_rank("failed"),
                status_updated_at=now,
                error_code=error.code if error else None,
                error_title=((error.title or error.message or "") if error else "")[:255],
                error_details=(error.details or "") if error else "",
            )

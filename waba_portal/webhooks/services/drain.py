"""The draining task's loop, and the guard that keeps one bad delivery from blocking it.

A drain holds the kick flag (:mod:`.kick`) while it processes due deliveries batch
after batch, then releases it and looks once more; it releases the flag however it
ends, so a drain that fails never leaves processing paused. Every batch runs through
:func:`deliveries_process_guarded`, so a delivery that breaks its batch's transaction
becomes a dead letter instead of being claimed, and failing, forever, and a lost
database link is replaced once instead of failing every change on it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import InterfaceError, OperationalError, connection
from django.db.models import F, Q
from django.utils import timezone

from waba_portal.webhooks.models import DeliveryStatus, WebhookDelivery
from waba_portal.webhooks.registry import TenantRouterMissing
from waba_portal.webhooks.services.dispatch import (
    DatabaseLinkLost,
    ProcessReport,
    database_link_lost,
    deliveries_process,
    error_summary,
)
from waba_portal.webhooks.services.kick import kick_flag

logger = logging.getLogger(__name__)


def deliveries_drain(*, max_seconds: float) -> tuple[ProcessReport, bool]:
    """Process due deliveries batch after batch; returns the last report and whether
    time ran out with work left (then the caller queues a follow-up, which the flag,
    handed over, covers until it starts)."""
    deadline = time.monotonic() + max_seconds
    total = ProcessReport()
    with kick_flag.held() as hold:
        while True:
            report = deliveries_process_guarded()
            total.add(report)
            if 0 < report.deliveries < settings.WEBHOOK_BATCH_SIZE:
                # A batch costs a dozen statements whatever its size: under a steady
                # stream of small deliveries, waiting a moment for more is cheaper than
                # claiming them a few at a time. Only the next deliveries wait, this long.
                time.sleep(settings.WEBHOOK_BATCH_WAIT_SECONDS)
            if report.deliveries == 0:
                hold.release()
                time.sleep(kick_flag.kick_grace)
                report = deliveries_process_guarded()  # what came while the flag was set
                total.add(report)
                if report.deliveries == 0:
                    return total, False
                hold.take()
            if time.monotonic() > deadline:
                hold.hand_over()
                return total, True


def deliveries_process_guarded(
    *, delivery_ids: Iterable[int] | None = None, force: bool = False
) -> ProcessReport:
    """:func:`_process_guarded`, on a new database connection once if the link is lost.

    A terminated backend, a restarted or failed-over PostgreSQL, a cut network: the
    batch's transaction is gone, nothing was written, and the batch is processed again
    on a new connection, with one line in the log. A second loss ends the task (its
    deliveries stay due, and the next drain or the sweeper takes them up).
    """
    ids = list(delivery_ids or [])
    try:
        return _process_guarded(delivery_ids=ids, force=force)
    except DatabaseLinkLost as exc:
        if connection.in_atomic_block:
            raise  # a caller's transaction died with the link: only it can start over
        logger.warning("database connection lost while processing webhooks (%s); reconnecting", exc)
        if database_link_lost():
            connection.close()
    return _process_guarded(delivery_ids=ids, force=force)


def _process_guarded(*, delivery_ids: list[int], force: bool) -> ProcessReport:
    """:func:`deliveries_process`, which a batch that fails as a whole cannot block.

    Handler failures are contained per change; anything else that breaks the batch's
    transaction (a value the database refuses, a bug) would make every later claim take
    the same deliveries and fail again. Then each delivery is processed on its own, and
    one that still fails becomes a dead letter with the error, for staff to inspect and
    replay once fixed.
    """
    try:
        return deliveries_process(delivery_ids=delivery_ids, force=force)
    except Exception as exc:
        if _not_the_delivery(exc):
            raise
        logger.exception("webhook batch failed; processing its deliveries one by one")
    ids = delivery_ids or _due_ids(limit=settings.WEBHOOK_BATCH_SIZE)
    total = ProcessReport()
    for delivery_id in ids:
        try:
            report = deliveries_process(delivery_ids=[delivery_id], force=force, limit=1)
        except Exception as exc:
            if _not_the_delivery(exc):
                raise
            logger.exception("webhook delivery %s is a dead letter", delivery_id)
            WebhookDelivery.objects.filter(pk=delivery_id).update(
                status=DeliveryStatus.DEAD,
                attempts=F("attempts") + 1,
                next_attempt_at=None,
                last_error=error_summary(exc),
                processed_at=timezone.now(),
            )
            report = ProcessReport(deliveries=1, dead=[delivery_id])
        total.add(report)
    return total


def _not_the_delivery(exc: BaseException) -> bool:
    """Failures that say nothing about the deliveries: the task's time budget, the link
    to the database, a deadlock, a cancelled statement, no tenant router registered (a
    deployment bug). They end the task (the sweeper takes its deliveries up again) and
    never make a dead letter."""
    if isinstance(exc, SoftTimeLimitExceeded | InterfaceError | TenantRouterMissing):
        return True
    if not isinstance(exc, OperationalError):
        return False
    code = getattr(exc.__cause__, "pgcode", None) or ""
    return not code or code[:2] in {"08", "40", "53", "57"}


def _due_ids(*, limit: int) -> list[int]:
    now = timezone.now()
    due = Q(status=DeliveryStatus.RECEIVED) | Q(
        status=DeliveryStatus.RETRYING, next_attempt_at__lte=now
    )
    return list(
        WebhookDelivery.objects.filter(due).order_by("id").values_list("id", flat=True)[:limit]
    )

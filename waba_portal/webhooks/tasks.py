"""Celery tasks of the webhook pipeline (queue ``webhooks``).

The services import these tasks to queue them; each task imports the services in its
body, so the two modules never import each other at load time.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings

logger = logging.getLogger(__name__)


@shared_task(
    name="webhooks.process_deliveries", queue="webhooks", acks_late=True, reject_on_worker_lost=True
)
def process_deliveries(delivery_ids: list[int] | None = None, force: bool = False) -> dict:
    """Given ids (replays, retries, the sweeper): those. Without: drain what is due."""
    from waba_portal.webhooks import services

    if delivery_ids:
        report = services.deliveries_process_guarded(delivery_ids=delivery_ids, force=force)
    else:
        report, more = services.deliveries_drain(max_seconds=settings.WEBHOOK_DRAIN_SECONDS)
        if more:  # let other tasks of the queue run, then go on
            process_deliveries.apply_async()
    if report.retrying and report.retry_at is not None:
        size = settings.WEBHOOK_BATCH_SIZE
        for start in range(0, len(report.retrying), size):
            process_deliveries.apply_async(
                kwargs={"delivery_ids": report.retrying[start : start + size]},
                eta=report.retry_at,
            )
    return {
        "deliveries": report.deliveries,
        "events": report.events,
        "processed": len(report.processed),
        "retrying": len(report.retrying),
        "dead": len(report.dead),
    }


@shared_task(name="webhooks.sweep_deliveries", queue="webhooks")
def sweep_deliveries() -> int:
    """Beat's sweep. While PostgreSQL is unreachable each sweep says so in one line, not
    in a traceback; the first sweep after it is back does the work."""
    from django.db import InterfaceError, OperationalError, connection

    from waba_portal.webhooks import services

    try:
        return services.deliveries_sweep()
    except (InterfaceError, OperationalError) as exc:
        if not services.database_link_lost():
            raise
        first = (str(exc).strip().splitlines() or [""])[0]
        logger.warning("webhook sweep skipped: the database is unreachable (%s)", first)
        connection.close()
        return 0

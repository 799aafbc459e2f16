"""What the intake writes, inside the request: a verified delivery, or a refusal counted.

Nothing else happens before the 200: the stored body is processed by a worker, which
:func:`delivery_store` kicks after its commit (:mod:`.kick`).
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from django.core.cache import cache
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import F
from django.utils import timezone

from waba_portal.webhooks.models import DeliveryStatus, WebhookDelivery
from waba_portal.webhooks.services.kick import Outage, processing_kick

logger = logging.getLogger(__name__)

SIGNATURE_FAILURES_KEY = "webhooks:signature-failures:{reason}"


def delivery_store(*, body: bytes) -> tuple[int | None, bool]:
    """Store a verified delivery as received; returns (id, created).

    A body received before (Meta redelivers) is not stored again: its counter of
    duplicates goes up and (None, False) comes back. After commit, processing is
    kicked (see :func:`~waba_portal.webhooks.services.kick.processing_kick`).
    """
    digest = hashlib.sha256(body).hexdigest()
    row = _insert_delivery(body, digest)
    if row is None:
        WebhookDelivery.objects.filter(body_sha256=digest).update(duplicates=F("duplicates") + 1)
        return None, False
    transaction.on_commit(processing_kick)
    return int(row[0]), True


def _insert_delivery(body: bytes, digest: str) -> tuple[Any, ...] | None:
    """One INSERT … RETURNING; on a connection that turns out dead, once more on a new one.

    This is the hottest statement of the product, so it skips Django's per-request
    connection health check (a ``SELECT 1`` round trip, a third of the cost of a
    webhook POST here) and recovers from a stale connection itself. If the first
    attempt did commit before its connection died, the second finds the body stored and
    reports a duplicate; the delivery is then processed by the sweeper. One retry only:
    a longer PostgreSQL outage is answered 500, and Meta delivers the POST again.
    """
    table = WebhookDelivery._meta.db_table
    sql = (
        f"INSERT INTO {table} (received_at, body, body_sha256, duplicates, status, "  # noqa: S608
        "attempts, last_error) VALUES (%s, %s, %s, 0, %s, 0, '') "
        "ON CONFLICT (body_sha256) DO NOTHING RETURNING id"
    )
    params: list[Any] = [timezone.now(), body, digest, str(DeliveryStatus.RECEIVED)]
    if not connection.in_atomic_block:
        connection.health_check_done = True  # type: ignore[attr-defined]
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone()  # type: ignore[no-any-return]
    except (InterfaceError, OperationalError):
        if connection.in_atomic_block:
            raise
        connection.close()
    # Once more, on a new connection. If that fails too, PostgreSQL is down rather than
    # this connection stale: the intake answers 500 and says so once per outage.
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    logger.warning("database connection was stale; the delivery was stored on a new one")
    return row  # type: ignore[no-any-return]


def signature_failure_count(*, reason: str) -> None:
    """Count a POST refused for its signature (nothing of it is stored); staff see the counts.

    The counters live in the cache (Redis). Counting never changes the answer: with the
    cache unreachable the refusal is still answered 401/403, and only logged.
    """
    logger.warning("webhook refused: signature %s", reason)
    key = SIGNATURE_FAILURES_KEY.format(reason=reason)
    try:
        try:
            cache.incr(key)
        except ValueError:  # the first of its kind
            cache.add(key, 0, timeout=None)
            cache.incr(key)
    except Exception:
        refusal_counter_outage.failed()
    else:
        refusal_counter_outage.succeeded()


refusal_counter_outage = Outage(
    "could not count a refused webhook signature: the cache is unreachable",
    "refused webhook signatures are counted again",
    log=logger,
)

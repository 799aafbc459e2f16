"""Webhook intake and processing.

Intake (in the request): the raw body is stored once (deduplicated by its SHA-256),
and processing is queued after commit. Nothing else happens before the 200.

Processing (in a worker): deliveries are claimed in batches with
``SELECT … FOR UPDATE SKIP LOCKED``, split into their changes, routed to a tenant by
phone number id or WABA id, and handed to the handlers the apps registered, grouped
by (tenant, field) so that a batch is written with few statements. A group that
fails is retried change by change, so one bad change cannot hold back the others.
Each change records its outcome. Failed changes are retried with backoff; after
``WEBHOOK_MAX_ATTEMPTS`` the delivery becomes a dead letter that staff can replay.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import field as dc_field
from datetime import datetime, timedelta
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.cache import cache
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import Tenant
from accounts.tenancy import tenant_scope
from senders.selectors import tenants_for_meta_ids
from waba_portal.graph.webhooks import WebhookEvent, WebhookPayloadError, iter_events
from waba_portal.webhooks.models import (
    FINAL_CHANGE_STATUSES,
    ChangeStatus,
    DeliveryStatus,
    WebhookChange,
    WebhookDelivery,
)
from waba_portal.webhooks.registry import handlers_for

logger = logging.getLogger(__name__)

# --- Intake -------------------------------------------------------------------------


def delivery_store(*, body: bytes) -> tuple[int | None, bool]:
    """Store a verified delivery as received; returns (id, created).

    A body received before (Meta redelivers) is not stored again: its counter of
    duplicates goes up and (None, False) comes back. After commit, processing is
    kicked (see :func:`processing_kick`).
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
    reports a duplicate; the delivery is then processed by the sweeper.
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
    for attempt in (1, 2):
        try:
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                return cursor.fetchone()  # type: ignore[no-any-return]
        except (InterfaceError, OperationalError):
            if attempt == 2 or connection.in_atomic_block:
                raise
            logger.warning("database connection was stale; storing the delivery again")
            connection.close()
    return None


KICK_KEY = "webhooks:processing-kick"


class _KickFlag:
    """The "a drain is queued or running" flag, in Redis when there is one.

    It is checked after every webhook POST, so with Redis it is one ``SET NX EX`` on a
    kept connection (Django's cache API costs several times more per call), and a web
    process that saw the flag set skips the check for ``WEBHOOK_KICK_LOCAL_SECONDS``.
    That skip is safe because a drain, after releasing the flag, waits longer than that
    window (``kick_grace``) before its last look: a delivery whose kick was skipped was
    committed before the window ended, so the last look finds it. Local runs without
    Redis use the cache (a file cache), where the price does not matter.
    """

    def __init__(self) -> None:
        self._seen_set_at = float("-inf")

    @property
    def kick_grace(self) -> float:
        return settings.WEBHOOK_KICK_LOCAL_SECONDS * 5 + 0.05

    @functools.cached_property
    def _redis(self) -> Any:
        if not settings.REDIS_URL:
            return None
        import redis

        return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)

    @property
    def _key(self) -> str:
        return f"{settings.CACHES['default'].get('KEY_PREFIX', '')}:{KICK_KEY}"

    def claim(self) -> bool:
        """True if this call set the flag (and so must queue a drain)."""
        now = time.monotonic()
        if now - self._seen_set_at < settings.WEBHOOK_KICK_LOCAL_SECONDS:
            return False
        ttl = settings.WEBHOOK_KICK_TTL_SECONDS
        if self._redis is None:
            claimed = bool(cache.add(KICK_KEY, 1, timeout=ttl))
        else:
            claimed = bool(self._redis.set(self._key, 1, nx=True, ex=ttl))
        self._seen_set_at = now
        return claimed

    def back_off(self) -> None:
        """After a failed check: do not pay the connection timeout on every request."""
        self._seen_set_at = time.monotonic()

    def refresh(self) -> None:
        ttl = settings.WEBHOOK_KICK_TTL_SECONDS
        if self._redis is None:
            cache.set(KICK_KEY, 1, timeout=ttl)
        else:
            self._redis.set(self._key, 1, ex=ttl)

    def release(self) -> None:
        if self._redis is None:
            cache.delete(KICK_KEY)
        else:
            self._redis.delete(self._key)


kick_flag = _KickFlag()


def processing_kick() -> None:
    """Queue one draining task, unless one is queued or running already.

    Under load thousands of deliveries arrive per minute; one task that drains them
    in batches beats one task per delivery (each would find its delivery already taken
    by a neighbour's batch). The key is refreshed while a drain runs and deleted when it
    ends, after which the drain looks once more, so nothing that arrived meanwhile waits
    for the sweeper.
    """
    try:
        claimed = kick_flag.claim()
    except Exception:  # Redis is down: the delivery is stored; the sweeper will take it
        logger.warning("could not reach Redis to kick webhook processing; the sweeper will")
        kick_flag.back_off()
        return
    if claimed:
        from waba_portal.webhooks.tasks import process_deliveries

        if not _enqueue(process_deliveries):
            kick_flag.release()  # or every POST would skip the kick until the flag expires


def deliveries_drain(*, max_seconds: float) -> tuple[ProcessReport, bool]:
    """Process due deliveries batch after batch; returns the last report and whether
    time ran out with work left (then the caller queues a follow-up)."""
    deadline = time.monotonic() + max_seconds
    total = ProcessReport()
    while True:
        kick_flag.refresh()
        report = deliveries_process_guarded()
        _merge(total, report)
        if 0 < report.deliveries < settings.WEBHOOK_BATCH_SIZE:
            # A batch costs a dozen statements whatever its size: under a steady stream
            # of small deliveries, waiting a moment for more is cheaper than claiming
            # them a few at a time. Only the next deliveries wait, and only this long.
            time.sleep(settings.WEBHOOK_BATCH_WAIT_SECONDS)
        if report.deliveries == 0:
            kick_flag.release()
            time.sleep(kick_flag.kick_grace)
            report = deliveries_process_guarded()  # what arrived while the flag was still set
            _merge(total, report)
            if report.deliveries == 0:
                return total, False
        if time.monotonic() > deadline:
            return total, True


def deliveries_process_guarded(
    *, delivery_ids: Iterable[int] | None = None, force: bool = False
) -> ProcessReport:
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
    ids = list(delivery_ids or []) or _due_ids(limit=settings.WEBHOOK_BATCH_SIZE)
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
                last_error=_summary(exc),
                processed_at=timezone.now(),
            )
            report = ProcessReport(deliveries=1, dead=[delivery_id])
        _merge(total, report)
    return total


def _not_the_delivery(exc: BaseException) -> bool:
    """Failures that say nothing about the deliveries: the task's time budget, the link
    to the database, a deadlock, a cancelled statement. They end the task (the sweeper
    takes its deliveries up again) and never make a dead letter."""
    if isinstance(exc, SoftTimeLimitExceeded | InterfaceError):
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


def _summary(exc: BaseException) -> str:
    """What staff read first: the kind of error and its first line."""
    first = str(exc).strip().splitlines()[:1]
    return f"{type(exc).__name__}: {first[0] if first else '(no message)'}"[:4000]


def _merge(total: ProcessReport, report: ProcessReport) -> None:
    total.deliveries += report.deliveries
    total.changes += report.changes
    total.events += report.events
    total.processed += report.processed
    total.retrying += report.retrying
    total.dead += report.dead
    if report.retry_at is not None:
        total.retry_at = min(filter(None, [total.retry_at, report.retry_at]))


def _enqueue(task: Any, **kwargs: Any) -> bool:
    try:
        task.apply_async(kwargs=kwargs)
    except Exception:  # the broker is down: the sweeper picks the delivery up later
        logger.exception("could not queue webhook processing; the sweeper will retry")
        return False
    return True


SIGNATURE_FAILURES_KEY = "webhooks:signature-failures:{reason}"


def signature_failure_count(*, reason: str) -> None:
    key = SIGNATURE_FAILURES_KEY.format(reason=reason)
    try:
        cache.incr(key)
    except ValueError:
        cache.add(key, 0, timeout=None)
        cache.incr(key)
    logger.warning("webhook refused: signature %s", reason)


# --- Processing -----------------------------------------------------------------------


@dataclass
class _ChangeWork:
    delivery: WebhookDelivery
    entry_index: int
    change_index: int
    field: str
    waba_id: str = ""
    phone_number_id: str = ""
    events: list[WebhookEvent] = dc_field(default_factory=list)
    tenant: Tenant | None = None
    status: str = ""
    error: str = ""
    attempts: int = 0

    @property
    def key(self) -> tuple[int, int, int]:
        return (self.delivery.pk, self.entry_index, self.change_index)


@dataclass
class ProcessReport:
    deliveries: int = 0
    changes: int = 0
    events: int = 0
    processed: list[int] = dc_field(default_factory=list)
    retrying: list[int] = dc_field(default_factory=list)
    dead: list[int] = dc_field(default_factory=list)
    retry_at: datetime | None = None


def _split(delivery: WebhookDelivery) -> list[_ChangeWork]:
    """The changes of a delivery with their parsed events; raises WebhookPayloadError."""
    try:
        data = json.loads(bytes(delivery.body))
    except ValueError as exc:
        raise WebhookPayloadError(f"payload is not JSON: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("entry"), list):
        raise WebhookPayloadError("payload has no 'entry' list")
    works: list[_ChangeWork] = []
    for e_i, entry in enumerate(data["entry"]):
        changes = entry.get("changes") if isinstance(entry, dict) else None
        if not isinstance(changes, list):
            raise WebhookPayloadError(f"entry[{e_i}] has no 'changes' list")
        for c_i, change in enumerate(changes):
            fld = change.get("field") if isinstance(change, dict) else None
            work = _ChangeWork(
                delivery, e_i, c_i, str(fld or "?"), waba_id=str(entry.get("id", ""))
            )
            single = {
                "object": data.get("object"),
                "entry": [{"id": entry.get("id"), "time": entry.get("time"), "changes": [change]}],
            }
            try:
                work.events = list(iter_events(single))
            except WebhookPayloadError as exc:
                work.status, work.error = ChangeStatus.DEAD, f"malformed change: {exc}"
            for event in work.events:
                work.waba_id = event.waba_id or work.waba_id
                work.phone_number_id = event.phone_number_id or work.phone_number_id
            value = change.get("value") if isinstance(change, dict) else None
            metadata = value.get("metadata") if isinstance(value, dict) else None
            if not work.phone_number_id and isinstance(metadata, dict):
                work.phone_number_id = str(metadata.get("phone_number_id") or "")
            works.append(work)
    return works


def _backoff(attempts: int) -> timedelta:
    base = settings.WEBHOOK_RETRY_BASE_SECONDS
    return timedelta(seconds=min(base * (2 ** max(attempts - 1, 0)), 3600))


def _run_handlers(tenant: Tenant, fld: str, works: list[_ChangeWork]) -> None:
    """Run the field's handlers over a group; on failure, change by change."""
    handlers = handlers_for(fld)
    if not handlers:
        for w in works:
            w.status = ChangeStatus.UNHANDLED
        return
    with tenant_scope(tenant):
        try:
            with transaction.atomic():
                events = [e for w in works for e in w.events]
                for handler in handlers:
                    handler(tenant, events)
        except SoftTimeLimitExceeded:
            raise
        except Exception:
            if len(works) == 1:
                works[0].status = ChangeStatus.FAILED
                works[0].error = _describe_failure()
                return
            for w in works:
                try:
                    with transaction.atomic():
                        for handler in handlers:
                            handler(tenant, w.events)
                except SoftTimeLimitExceeded:
                    raise
                except Exception:
                    w.status, w.error = ChangeStatus.FAILED, _describe_failure()
                else:
                    w.status = ChangeStatus.PROCESSED
        else:
            for w in works:
                w.status = ChangeStatus.PROCESSED


def _describe_failure() -> str:
    import traceback

    logger.exception("webhook handler failed")
    return traceback.format_exc(limit=6)[-4000:]


def deliveries_process(
    *, delivery_ids: Iterable[int] | None = None, force: bool = False, limit: int | None = None
) -> ProcessReport:
    """Process open deliveries (these ids first, then others due), in one transaction.

    With ``force`` (replay), the given deliveries are processed whatever their state
    and every change runs again; handlers are idempotent, so the end state is the same.
    """
    limit = limit or settings.WEBHOOK_BATCH_SIZE
    report = ProcessReport()
    now = timezone.now()
    ids = list(delivery_ids or [])
    with transaction.atomic():
        locked = WebhookDelivery.objects.select_for_update(skip_locked=True)
        batch: list[WebhookDelivery] = []
        # One query per kind of due delivery, each an index scan of the open-deliveries
        # index in id order: a plain index scan marks the entries of deliveries
        # processed since as dead, so the next claim skips them without visiting the
        # table (a bitmap scan of an OR visited every one until VACUUM came by).
        dues = (
            Q(status=DeliveryStatus.RECEIVED),
            Q(status=DeliveryStatus.RETRYING, next_attempt_at__lte=now),
        )
        if ids:
            chosen = locked.filter(pk__in=ids)
            batch = list((chosen if force else chosen.filter(dues[0] | dues[1])).order_by("id"))
        for due in () if force else dues:
            if len(batch) >= limit:
                break
            others = locked.filter(due).exclude(pk__in=[d.pk for d in batch])
            batch += list(others.order_by("id")[: limit - len(batch)])
        if not batch:
            return report

        # Outcomes are written in the transaction that counts the attempt: a delivery
        # never tried has none (most of them). A replay resets the count but forces.
        tried = [d for d in batch if d.attempts > 0 or force]
        previous = {}
        if tried:
            previous = {
                (c.delivery_id, c.entry_index, c.change_index): c
                for c in WebhookChange.objects.filter(delivery__in=tried)
            }
        works: list[_ChangeWork] = []
        for delivery in batch:
            try:
                delivery_works = _split(delivery)
            except WebhookPayloadError as exc:
                delivery.status, delivery.last_error = DeliveryStatus.DEAD, str(exc)
                continue
            except Exception as exc:  # a parser bug must not hold back the whole queue
                logger.exception("webhook delivery %s could not be split", delivery.pk)
                delivery.status, delivery.last_error = DeliveryStatus.DEAD, _summary(exc)
                continue
            for w in delivery_works:
                before = previous.get(w.key)
                w.attempts = before.attempts if before else 0
                if before and before.status in FINAL_CHANGE_STATUSES and not force:
                    w.status, w.tenant = before.status, before.tenant
                    continue
                works.append(w)
            delivery._works = delivery_works  # type: ignore[attr-defined]

        by_waba, by_phone = tenants_for_meta_ids(
            waba_ids=[w.waba_id for w in works if w.waba_id],
            phone_number_ids=[w.phone_number_id for w in works if w.phone_number_id],
        )
        groups: dict[tuple[int, str], list[_ChangeWork]] = defaultdict(list)
        for w in works:
            if w.status == ChangeStatus.DEAD:
                continue
            w.tenant = by_phone.get(w.phone_number_id) or by_waba.get(w.waba_id)
            if w.tenant is None:
                w.status = ChangeStatus.UNROUTABLE
                continue
            groups[(w.tenant.pk, w.field)].append(w)
        for (_tenant_id, fld), group in groups.items():
            _run_handlers(group[0].tenant, fld, group)  # type: ignore[arg-type]

        _record(batch, works, now, report)
    return report


def _record(
    batch: list[WebhookDelivery], works: list[_ChangeWork], now: datetime, report: ProcessReport
) -> None:
    max_attempts = settings.WEBHOOK_MAX_ATTEMPTS
    for w in works:
        if w.status in (ChangeStatus.FAILED, ChangeStatus.PROCESSED):
            w.attempts += 1
    WebhookChange.objects.bulk_create(
        [
            WebhookChange(
                delivery=w.delivery,
                entry_index=w.entry_index,
                change_index=w.change_index,
                field=w.field[:64],
                waba_id=w.waba_id[:32],
                phone_number_id=w.phone_number_id[:32],
                tenant=w.tenant,
                event_count=len(w.events),
                status=w.status,
                attempts=w.attempts,
                error=w.error,
            )
            for w in works
        ],
        update_conflicts=True,
        unique_fields=["delivery", "entry_index", "change_index"],
        update_fields=["tenant", "event_count", "status", "attempts", "error", "updated_at"],
    )
    dead_changes: list[tuple[int, int, int]] = []
    for delivery in batch:
        report.deliveries += 1
        delivery_works: list[_ChangeWork] = getattr(delivery, "_works", [])
        report.changes += len(delivery_works)
        report.events += sum(len(w.events) for w in delivery_works)
        if delivery.status == DeliveryStatus.DEAD and not delivery_works:
            report.dead.append(delivery.pk)
            delivery.processed_at = now
            continue
        delivery.attempts += 1
        failed = [w for w in delivery_works if w.status == ChangeStatus.FAILED]
        malformed = [w for w in delivery_works if w.status == ChangeStatus.DEAD]
        if not failed and not malformed:
            delivery.status, delivery.last_error = DeliveryStatus.PROCESSED, ""
            delivery.processed_at, delivery.next_attempt_at = now, None
            report.processed.append(delivery.pk)
        elif failed and delivery.attempts < max_attempts:
            delivery.status = DeliveryStatus.RETRYING
            delivery.next_attempt_at = now + _backoff(delivery.attempts)
            delivery.last_error = failed[0].error
            report.retrying.append(delivery.pk)
            report.retry_at = min(filter(None, [report.retry_at, delivery.next_attempt_at]))
        else:
            delivery.status = DeliveryStatus.DEAD
            delivery.next_attempt_at = None
            delivery.last_error = (failed or malformed)[0].error
            dead_changes += [w.key for w in failed]
            report.dead.append(delivery.pk)
            logger.error(
                "webhook delivery %s is a dead letter: %s",
                delivery.pk,
                next((ln for ln in reversed(delivery.last_error.splitlines()) if ln.strip()), ""),
            )
    # Most deliveries end processed: one UPDATE for all of them; the few retrying or
    # dead ones (each with its own error and time) get a bulk update of their own.
    done = [d.pk for d in batch if d.status == DeliveryStatus.PROCESSED]
    if done:
        WebhookDelivery.objects.filter(pk__in=done).update(
            status=DeliveryStatus.PROCESSED,
            attempts=F("attempts") + 1,
            next_attempt_at=None,
            last_error="",
            processed_at=now,
        )
    others = [d for d in batch if d.status != DeliveryStatus.PROCESSED]
    if others:
        WebhookDelivery.objects.bulk_update(
            others, ["status", "attempts", "next_attempt_at", "last_error", "processed_at"]
        )
    for delivery_id, e_i, c_i in dead_changes:
        WebhookChange.objects.filter(
            delivery_id=delivery_id, entry_index=e_i, change_index=c_i
        ).update(status=ChangeStatus.DEAD)


# --- Staff actions ---------------------------------------------------------------------


def deliveries_replay(*, delivery_ids: Iterable[int], actor: Any = None) -> int:
    """Queue stored deliveries to be processed again (every change, idempotently)."""
    from waba_portal.webhooks.tasks import process_deliveries

    ids = sorted(set(delivery_ids))
    if not ids:
        return 0
    with transaction.atomic():
        count = WebhookDelivery.objects.filter(pk__in=ids).update(
            status=DeliveryStatus.RECEIVED, attempts=0, next_attempt_at=None
        )
        WebhookChange.objects.filter(delivery_id__in=ids).update(attempts=0)
        logger.info("webhook replay of %d deliveries by %s", count, getattr(actor, "email", actor))
        size = settings.WEBHOOK_BATCH_SIZE
        for start in range(0, len(ids), size):
            transaction.on_commit(
                functools.partial(
                    _enqueue, process_deliveries, delivery_ids=ids[start : start + size], force=True
                )
            )
    return count


def deliveries_sweep() -> int:
    """Queue deliveries that nobody is processing: stale received ones and due retries."""
    from waba_portal.webhooks.tasks import process_deliveries

    now = timezone.now()
    stale = now - timedelta(seconds=settings.WEBHOOK_STALE_SECONDS)
    ids = list(
        WebhookDelivery.objects.filter(
            Q(status=DeliveryStatus.RECEIVED, received_at__lte=stale)
            | Q(status=DeliveryStatus.RETRYING, next_attempt_at__lte=now)
        )
        .order_by("id")
        .values_list("id", flat=True)[: settings.WEBHOOK_BATCH_SIZE * 20]
    )
    size = settings.WEBHOOK_BATCH_SIZE
    for start in range(0, len(ids), size):
        _enqueue(process_deliveries, delivery_ids=ids[start : start + size])
    return len(ids)

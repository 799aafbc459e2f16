"""One batch of deliveries: claimed, split into changes, routed, handled, recorded.

Deliveries are claimed with ``SELECT … FOR UPDATE SKIP LOCKED``, split into their
changes, routed to a tenant by phone number id or WABA id (the tenant router the
registry holds), and handed to the handlers the apps registered, grouped by
(tenant, field) so that a batch is written with few statements. A group that fails is
retried change by change, so one bad change cannot hold back the others. Each change
records its outcome. Failed changes are retried with backoff (:func:`retry_policy`);
once the attempts are spent the delivery becomes a dead letter that staff can replay.
"""

from __future__ import annotations

import json
import logging
import traceback
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import field as dc_field
from datetime import datetime

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import Tenant
from accounts.tenancy import tenant_scope
from waba_portal.graph.webhooks import WebhookEvent, WebhookPayloadError, iter_events
from waba_portal.guards import storable
from waba_portal.task_retry import TaskRetryPolicy
from waba_portal.webhooks.models import (
    FINAL_CHANGE_STATUSES,
    ChangeStatus,
    DeliveryStatus,
    WebhookChange,
    WebhookDelivery,
)
from waba_portal.webhooks.registry import handlers_for, tenants_for

logger = logging.getLogger(__name__)


@dataclass
class ProcessReport:
    deliveries: int = 0
    changes: int = 0
    events: int = 0
    processed: list[int] = dc_field(default_factory=list)
    retrying: list[int] = dc_field(default_factory=list)
    dead: list[int] = dc_field(default_factory=list)
    retry_at: datetime | None = None

    def add(self, other: ProcessReport) -> None:
        """Count ``other``'s batch in this report too (a drain sums its batches)."""
        self.deliveries += other.deliveries
        self.changes += other.changes
        self.events += other.events
        self.processed += other.processed
        self.retrying += other.retrying
        self.dead += other.dead
        if other.retry_at is not None:
            self.retry_at = min(filter(None, [self.retry_at, other.retry_at]))


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


def retry_policy() -> TaskRetryPolicy:
    """How long a delivery with failed changes waits, and how often it is tried.

    ``WEBHOOK_RETRY_BASE_SECONDS``, doubling, at most an hour. ``WEBHOOK_MAX_ATTEMPTS``
    counts attempts, the first included, where the policy counts retries: after the
    n-th attempt, ``n - 1`` retries are made.
    """
    return TaskRetryPolicy(
        base="WEBHOOK_RETRY_BASE_SECONDS", cap=3600, max_retries=settings.WEBHOOK_MAX_ATTEMPTS - 1
    )


class DatabaseLinkLost(OperationalError):
    """The link to PostgreSQL broke under a batch (a terminated backend, a restart or
    failover, a cut network): its transaction is gone and nothing of it was written.

    Not the deliveries' fault nor their handlers': the drain processes the batch again
    on a new connection (:func:`~waba_portal.webhooks.services.drain.deliveries_process_guarded`).
    """


def database_link_lost() -> bool:
    """Whether the connection to PostgreSQL is gone: closed under us, or dropped."""
    raw = connection.connection
    return raw is None or bool(getattr(raw, "closed", False))


@contextmanager
def _link_watched() -> Iterator[None]:
    """Inside a transaction: a database error on a link that is gone becomes
    :class:`DatabaseLinkLost`. It must be told here, before the transaction's end
    replaces the dead link with a new one (Django reconnects when its rollback fails)."""
    try:
        yield
    except (InterfaceError, OperationalError) as exc:
        if isinstance(exc, DatabaseLinkLost) or not database_link_lost():
            raise
        raise DatabaseLinkLost(error_summary(exc)) from exc


def error_summary(exc: BaseException) -> str:
    """What staff read first: the kind of error and its first line."""
    first = str(exc).strip().splitlines()[:1]
    return f"{type(exc).__name__}: {first[0] if first else '(no message)'}"[:4000]


def deliveries_process(
    *, delivery_ids: Iterable[int] | None = None, force: bool = False, limit: int | None = None
) -> ProcessReport:
    """Process open deliveries (these ids first, then others due), in one transaction.

    With ``force`` (replay), the given deliveries are processed whatever their state
    and every change runs again; handlers are idempotent, so the end state is the same.
    Without a registered tenant router this raises ``TenantRouterMissing`` (and
    nothing is written). A lost database link raises :class:`DatabaseLinkLost`.
    """
    limit = limit or settings.WEBHOOK_BATCH_SIZE
    report = ProcessReport()
    now = timezone.now()
    ids = list(delivery_ids or [])
    with transaction.atomic(), _link_watched():
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
                delivery.status, delivery.last_error = DeliveryStatus.DEAD, error_summary(exc)
                continue
            for w in delivery_works:
                before = previous.get(w.key)
                w.attempts = before.attempts if before else 0
                if before and before.status in FINAL_CHANGE_STATUSES and not force:
                    w.status, w.tenant = before.status, before.tenant
                    continue
                works.append(w)
            delivery._works = delivery_works  # type: ignore[attr-defined]

        groups = _route(works)
        for (_tenant_id, fld), group in groups.items():
            _run_handlers(group[0].tenant, fld, group)  # type: ignore[arg-type]

        _record(batch, works, now, report)
    return report


def _split(delivery: WebhookDelivery) -> list[_ChangeWork]:
    """The changes of a delivery with their parsed events; raises WebhookPayloadError."""
    try:
        # Kept byte for byte in the delivery; what the handlers store must be storable.
        data = storable(json.loads(bytes(delivery.body)))
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


def _route(works: list[_ChangeWork]) -> dict[tuple[int, str], list[_ChangeWork]]:
    """Give each change its tenant (its phone number's, else its WABA's), grouped by
    (tenant, field); a change no tenant holds is unroutable. One router call per batch."""
    by_waba, by_phone = tenants_for(
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
    return groups


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
            if database_link_lost():
                raise  # not the handlers' failure: nothing more can run on this link
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
                    if database_link_lost():
                        raise
                    w.status, w.error = ChangeStatus.FAILED, _describe_failure()
                else:
                    w.status = ChangeStatus.PROCESSED
        else:
            for w in works:
                w.status = ChangeStatus.PROCESSED


def _describe_failure() -> str:
    logger.exception("webhook handler failed")
    return traceback.format_exc(limit=6)[-4000:]


def _record(
    batch: list[WebhookDelivery], works: list[_ChangeWork], now: datetime, report: ProcessReport
) -> None:
    policy = retry_policy()
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
        retries = delivery.attempts - 1  # the first attempt is not a retry
        failed = [w for w in delivery_works if w.status == ChangeStatus.FAILED]
        malformed = [w for w in delivery_works if w.status == ChangeStatus.DEAD]
        if not failed and not malformed:
            delivery.status, delivery.last_error = DeliveryStatus.PROCESSED, ""
            delivery.processed_at, delivery.next_attempt_at = now, None
            report.processed.append(delivery.pk)
        elif failed and not policy.exhausted(retries):
            delivery.status = DeliveryStatus.RETRYING
            delivery.next_attempt_at = now + policy.delay_as_timedelta(retries)
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

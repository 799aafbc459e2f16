"""Sending one delivery: a signed POST, its outcome logged, the retry decided.

1. A try claims its delivery (row lock, ``skip_locked``) only when it is due, and moves
   ``next_attempt_at`` past its own time-out first: a second worker skips it, and the
   sweeper picks it up again only if this one died (at least once, never twice at once).
2. The body is the event (``id``, ``type``, ``timestamp``, ``data``), signed per Standard
   Webhooks (``waba_portal.events.signing``) with the current secret, and the previous
   one while a rotation's grace time lasts. The connection refuses non-public addresses
   after DNS resolution and follows no redirect (``url_safety``).
3. A 2xx answer delivers it. Anything else (another status, a time-out, a refused
   connection or address) is logged as an attempt with a truncated answer and retried
   by :data:`DELIVERY_RETRY`: 5 s, then five times as long each time, at most 10 h, eight
   retries in all (about a day); the receiver's ``Retry-After`` is honoured.
4. When retries run out the delivery fails; if the subscription delivered nothing
   since, it is switched off and the workspace's managers are told. Test events are
   tried once.

The beat task (``deliveries_sweep``) queues what is due; old events are pruned after
``EVENT_RETENTION_DAYS``.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import requests
from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from accounts.services.audit import audit_record
from accounts.services.notifications import notify_managers_of
from accounts.tenancy import unscoped
from waba_portal.events import selectors, signing, tasks, url_safety
from waba_portal.events.models import (
    TEST_EVENT_TYPE,
    DeliveryStatus,
    Event,
    EventDelivery,
    EventDeliveryAttempt,
    EventSubscription,
)
from waba_portal.events.services.notifications import SUBSCRIPTION_DISABLED
from waba_portal.events.services.subscriptions import signing_secrets
from waba_portal.task_retry import TaskRetryPolicy

DELIVERY_RETRY = TaskRetryPolicy(
    base="EVENT_DELIVERY_RETRY_BASE_SECONDS",
    cap="EVENT_DELIVERY_RETRY_CAP_SECONDS",
    max_retries="EVENT_DELIVERY_MAX_RETRIES",
    factor=5.0,
)
SWEEP_BATCH = 500


@dataclass(frozen=True)
class Outcome:
    ok: bool
    status_code: int | None = None
    body: str = ""
    error: str = ""
    retry_after: float | None = None


def event_body(event: Event) -> bytes:
    """What every delivery of ``event`` sends (the same bytes on every retry)."""
    document = {
        "id": event.public_id,
        "type": event.type,
        "timestamp": event.created_at.isoformat(),
        "data": event.data,
    }
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()


def _retry_after(value: str | None) -> float | None:
    if value and value.strip().isdigit():
        return float(value.strip())
    return None


def _send(url: str, headers: dict[str, str], body: bytes) -> Outcome:
    problem = url_safety.url_problem(url, resolve=False)
    if problem:
        return Outcome(ok=False, error=problem)
    timeout = settings.EVENT_DELIVERY_TIMEOUT_SECONDS
    limit = settings.EVENT_DELIVERY_RESPONSE_CHARS
    session = url_safety.guarded_session()
    try:
        with session.post(
            url,
            data=body,
            headers=headers,
            timeout=(min(5.0, timeout), timeout),
            allow_redirects=False,
            stream=True,
        ) as response:
            raw = response.raw.read(limit * 4, decode_content=True) or b""
            text = raw.decode(response.encoding or "utf-8", errors="replace")[:limit]
            ok = 200 <= response.status_code < 300
            return Outcome(
                ok=ok,
                status_code=response.status_code,
                body=text,
                error=""
                if ok
                else _("The endpoint answered %(status)d.") % {"status": response.status_code},
                retry_after=_retry_after(response.headers.get("Retry-After")),
            )
    except url_safety.UnsafeTarget as exc:
        return Outcome(ok=False, error=str(exc))
    except requests.Timeout:
        return Outcome(
            ok=False,
            error=_("No answer within %(seconds)s seconds.") % {"seconds": f"{timeout:g}"},
        )
    except requests.RequestException as exc:
        return Outcome(
            ok=False,
            error=_("Could not connect (%(reason)s).") % {"reason": type(exc).__name__},
        )
    finally:
        session.close()


def _claim(delivery_pk: int, reserved: datetime | None) -> EventDelivery | None:
    now = timezone.now()
    lease = timedelta(seconds=settings.EVENT_DELIVERY_TIMEOUT_SECONDS * 2 + 30)
    with transaction.atomic():
        delivery = (
            EventDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("event", "subscription")
            .filter(pk=delivery_pk, status__in=selectors.OPEN_STATUSES)
            .first()
        )
        if delivery is None or delivery.next_attempt_at is None:
            return None
        due = delivery.next_attempt_at <= now or delivery.next_attempt_at == reserved
        if not due:
            return None  # not yet, or another try holds it
        if not delivery.subscription.enabled and delivery.event.type != TEST_EVENT_TYPE:
            delivery.status = DeliveryStatus.FAILED
            delivery.next_attempt_at = None
            delivery.last_error = _("Not sent: the subscription is switched off.")
            delivery.save(update_fields=["status", "next_attempt_at", "last_error"])
            return None
        delivery.next_attempt_at = now + lease
        delivery.save(update_fields=["next_attempt_at"])
    return delivery


def delivery_attempt(*, delivery_pk: int, reserved: str | None = None) -> str:
    """Try to deliver once, if it is due; return what happened (for the task's log)."""
    delivery = _claim(delivery_pk, parse_datetime(reserved) if reserved else None)
    if delivery is None:
        return "skipped"
    subscription, event = delivery.subscription, delivery.event
    body = event_body(event)
    started = timezone.now()
    headers = signing.signed_headers(
        signing_secrets(subscription),
        msg_id=event.public_id,
        timestamp=int(started.timestamp()),
        body=body,
    )
    clock = time.monotonic()
    outcome = _send(subscription.url, headers, body)
    duration_ms = int((time.monotonic() - clock) * 1000)
    return _record(delivery.pk, started=started, duration_ms=duration_ms, outcome=outcome)


def _record(delivery_pk: int, *, started: datetime, duration_ms: int, outcome: Outcome) -> str:
    with transaction.atomic():
        delivery = (
            EventDelivery.objects.select_for_update(of=("self",))
            .select_related("event", "subscription")
            .get(pk=delivery_pk)
        )
        number = delivery.attempts + 1
        EventDeliveryAttempt.objects.create(
            tenant_id=delivery.tenant_id,
            delivery=delivery,
            number=number,
            started_at=started,
            duration_ms=duration_ms,
            status_code=outcome.status_code,
            succeeded=outcome.ok,
            error=outcome.error,
            response_body=outcome.body,
        )
        delivery.attempts = number
        delivery.last_attempt_at = started
        delivery.last_status_code = outcome.status_code
        delivery.last_error = outcome.error
        is_test = delivery.event.type == TEST_EVENT_TYPE
        if outcome.ok:
            delivery.status, delivery.next_attempt_at, result = (
                DeliveryStatus.SUCCEEDED,
                None,
                "succeeded",
            )
        elif is_test or DELIVERY_RETRY.exhausted(number - 1):
            delivery.status, delivery.next_attempt_at, result = (
                DeliveryStatus.FAILED,
                None,
                "failed",
            )
            if not is_test:
                _switch_off_if_failing(delivery, outcome)
        else:
            delivery.status = DeliveryStatus.RETRYING
            delivery.next_attempt_at = timezone.now() + DELIVERY_RETRY.delay_as_timedelta(
                number - 1, hint=outcome.retry_after
            )
            result = "retrying"
        delivery.save()
    return result


def _switch_off_if_failing(delivery: EventDelivery, outcome: Outcome) -> None:
    """Retries ran out: if nothing reached the URL since this delivery began, stop sending."""
    subscription = EventSubscription.objects.select_for_update().get(pk=delivery.subscription_id)
    if not subscription.enabled:
        return
    delivered_since = EventDelivery.objects.filter(
        subscription=subscription,
        status=DeliveryStatus.SUCCEEDED,
        last_attempt_at__gte=delivery.created_at,
    ).exists()
    if delivered_since:
        return
    subscription.enabled = False
    subscription.disabled_reason = outcome.error[:255]
    subscription.save(update_fields=["enabled", "disabled_reason", "updated_at"])
    audit_record(
        actor=None,
        action="event_subscription.disabled",
        target=subscription,
        metadata={"url": subscription.url, "error": outcome.error[:255]},
    )
    notify_managers_of(
        kind=SUBSCRIPTION_DISABLED,
        params={"url": subscription.url, "error": outcome.error[:255]},
        url=reverse(
            "events:subscription_detail",
            kwargs={"tenant_slug": subscription.tenant.slug, "subscription_pk": subscription.pk},
        ),
        level="danger",
    )


def deliveries_sweep() -> int:
    """Queue every delivery whose try is due (retries, and tries whose worker died)."""
    now = timezone.now()
    reserved_until = now + timedelta(seconds=max(60.0, settings.EVENT_DELIVERY_SWEEP_SECONDS * 3))
    queued = 0
    for tenant_id, delivery_pk in selectors.deliveries_due(now=now, limit=SWEEP_BATCH):
        # Reserved for the task queued now: a later sweep does not queue it again while
        # the worker is busy; the task may run it any time before the reservation ends.
        with unscoped():
            taken = EventDelivery.objects.filter(
                pk=delivery_pk, next_attempt_at__lte=now, status__in=selectors.OPEN_STATUSES
            ).update(next_attempt_at=reserved_until)
        if taken:
            tasks.delivery_attempt_task.delay(tenant_id, delivery_pk, reserved_until.isoformat())
            queued += 1
    return queued


def events_prune() -> int:
    """Delete events (with their deliveries) older than ``EVENT_RETENTION_DAYS``, none open."""
    cutoff = timezone.now() - timedelta(days=settings.EVENT_RETENTION_DAYS)
    with unscoped():
        old = Event.objects.filter(created_at__lt=cutoff).exclude(
            deliveries__status__in=selectors.OPEN_STATUSES
        )
        deleted, _rows = Event.objects.filter(pk__in=old.values("pk")).delete()
    return deleted

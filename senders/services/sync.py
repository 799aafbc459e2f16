"""Keeping WABAs true: the periodic read of every connected WABA and its numbers.

Webhooks tell us most changes as they happen, but they can be lost or never sent (a
30-day trial running out sends nothing). So every connected WABA is read again
regularly: beat runs :func:`sync_fan_out` every few minutes, which queues one
``sync_waba`` task per WABA not synced for ``SYNC_INTERVAL_SECONDS``, stalest first and
at most ``SYNC_BATCH_CAP`` at a time, across all tenants.

:func:`waba_sync` costs Meta exactly two listings per WABA: the WABA node and its
phone numbers (every page of them, 100 a page), never one call per number. What
changed is written as history and changes for the worse notify the tenant's owners
and admins (:mod:`senders.services.snapshots`). Errors are sorted:

- access lost (token expired or revoked, permission removed): a problem the user has
  to fix, shown on the account and notified once, not at every sync;
- Meta unavailable or throttling: raised, so the task retries with backoff, bounded;
- anything else: kept in ``sync_error`` for support, the account is left as it was.

``last_synced_at`` is when the last sync finished; it is also set when one failed for
good (then ``sync_error`` says why), so a broken account does not stay the "stalest"
one and starve the others.

A read is applied per aspect of each number only where nothing newer was learnt while
it was under way (:class:`senders.services.snapshots.ReadStamp`). Between syncs, a
webhook that names a change without its values (a quality event) asks for one targeted
read of the number (:func:`phone_refresh_request`): queued once per number for a burst
of events, on the ``sync`` queue, and applied the same way.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from senders import selectors, tasks
from senders import troubleshooting as ts
from senders.models import (
    AccountHistory,
    ConnectionStatus,
    HistoryKind,
    MetaAssetKind,
    PhoneNumber,
    PhoneNumberDetails,
    WhatsAppAccount,
)
from senders.services import assets, graph, notifications, phone_numbers, rules, snapshots
from waba_portal.graph import errors as ge

logger = logging.getLogger(__name__)

PHONE_PAGE_SIZE = 100  # the maximum Meta allows: 25 numbers per WABA fit in one page
SOURCE = "sync"
RETRYABLE_ERRORS = (ge.GraphTransientError, ge.GraphRateLimitError)
# A targeted read waits this long, so that a burst of events is answered by one read.
REFRESH_DELAY_SECONDS = 2
# A read queued longer ago than this is taken as lost (a broker lost it): queue another.
REFRESH_STALE_SECONDS = 600


# --- Fan-out --------------------------------------------------------------------------


def sync_fan_out() -> int:
    """Queue a sync of each connected WABA that is due, stalest first; returns how many."""
    synced_before = timezone.now() - timedelta(seconds=settings.SYNC_INTERVAL_SECONDS)
    due = selectors.wabas_due_for_sync(synced_before=synced_before, limit=settings.SYNC_BATCH_CAP)
    for tenant_pk, waba_pk in due:
        tasks.sync_waba_task.delay_on_commit(tenant_pk, waba_pk)
    if due:
        logger.info("sync fan-out: %d WABAs queued", len(due))
    return len(due)


# --- One WABA ------------------------------------------------------------


def waba_sync(*, waba_pk: int) -> WhatsAppAccount | None:
    """Read one WABA and all its numbers from Meta and apply what changed.

    Returns the account, or None if it is gone. Raises a :data:`RETRYABLE_ERRORS`
    error when Meta is unavailable or throttling; the caller (the task) retries.
    """
    waba = WhatsAppAccount.objects.filter(pk=waba_pk).first()
    if waba is None or not waba.is_connected or not waba.access_token:
        return waba
    client = graph.graph_client(token=str(waba.access_token))
    # What we knew of each number when the read started: what it says is no older.
    clocks = dict(waba.phone_numbers.values_list("phone_number_id", "event_clock"))
    stamps = {pid: snapshots.read_stamp(clock) for pid, clock in clocks.items()}
    started = snapshots.read_stamp()
    try:
        data = client.waba_get(waba.waba_id)
        numbers = list(client.phone_numbers_list(waba.waba_id, limit=PHONE_PAGE_SIZE))
    except (ge.GraphAuthError, ge.GraphPermissionError) as exc:
        return _access_lost(waba_pk=waba.pk, error=exc)
    except RETRYABLE_ERRORS as exc:
        _record_error(waba_pk=waba.pk, error=exc, finished=False)
        raise
    except ge.GraphError as exc:
        logger.warning("sync of WABA %s failed: %s", waba.waba_id, exc)
        return _record_error(waba_pk=waba.pk, error=exc, finished=True)
    finally:
        client.close()
    return _apply(
        waba_pk=waba.pk,
        data=data,
        numbers=[(item, stamps.get(str(item.get("id")), started)) for item in numbers],
    )


def waba_sync_give_up(*, waba_pk: int, message: str) -> None:
    """Meta stayed unavailable through every retry: keep why, try again at the next round."""
    WhatsAppAccount.objects.filter(pk=waba_pk).update(
        sync_error=message[:2000], last_synced_at=timezone.now()
    )


@transaction.atomic
def _apply(
    *,
    waba_pk: int,
    data: dict[str, Any],
    numbers: list[tuple[dict[str, Any], snapshots.ReadStamp]],
) -> WhatsAppAccount | None:
    waba = WhatsAppAccount.objects.select_for_update().filter(pk=waba_pk).first()
    if waba is None or not waba.is_connected:
        return waba  # disconnected while we were reading Meta
    before_status, before_problem = waba.connection_status, waba.problem
    if waba.problem == ts.TOKEN_INVALID:
        waba.problem, waba.problem_detail = "", ""  # Meta answered: the access works again
    waba.sync_error = ""
    waba.last_synced_at = timezone.now()
    changes = snapshots.waba_apply_snapshot(waba=waba, data=data, source=SOURCE)
    _connection_changed(waba, before_status, before_problem, already_notified=changes)

    listed: set[str] = set()
    removed = _removed_here(waba)
    for item, stamp in numbers:
        if not item.get("id"):
            continue
        phone_number_id = str(item["id"])
        listed.add(phone_number_id)
        if phone_number_id in removed:
            continue  # the tenant removed it: Meta still lists it, we keep it as history
        _phone_back_in_waba(waba, phone_number_id)
        phone, _changes = snapshots.phone_apply_snapshot(
            waba=waba, data=item, source=SOURCE, stamp=stamp
        )
        _claim_phone(waba, phone)
    _phones_gone(waba, listed)
    # A number that came back may be the tenant's chosen sender.
    phone_numbers.primary_ensure()
    return waba


def _connection_changed(
    waba: WhatsAppAccount,
    old_status: str,
    old_problem: str,
    *,
    already_notified: list[AccountHistory],
) -> None:
    """Record a change of connection state; tell managers about a new problem, once."""
    if (waba.connection_status, waba.problem) == (old_status, old_problem):
        return
    snapshots.history_record(
        waba=waba,
        kind=HistoryKind.CONNECTION,
        old=old_status,
        new=waba.connection_status,
        source=SOURCE,
        detail={"problem": waba.problem, "previous_problem": old_problem},
    )
    # A change that was notified already (e.g. the status became DISABLED) says it.
    if (
        waba.problem
        and waba.problem != old_problem
        and not any(rules.is_change_for_the_worse(c) for c in already_notified)
    ):
        notifications.waba_problem_notify(waba=waba, problem=waba.problem)


def _removed_here(waba: WhatsAppAccount) -> set[str]:
    """Meta ids of the WABA's numbers the tenant removed (``registration.number_remove``)."""
    return set(
        PhoneNumberDetails.objects.filter(
            phone_number__waba=waba, removed_at__isnull=False
        ).values_list("phone_number__phone_number_id", flat=True)
    )


def _phone_back_in_waba(waba: WhatsAppAccount, phone_number_id: str) -> None:
    """A number we marked gone is listed again: let its state be derived afresh."""
    PhoneNumber.objects.filter(
        waba=waba,
        phone_number_id=phone_number_id,
        connection_status=ConnectionStatus.DISCONNECTED,
    ).update(connection_status=ConnectionStatus.PENDING)


def _claim_phone(waba: WhatsAppAccount, phone: PhoneNumber) -> None:
    """Webhooks of a number are routed by its claim; a number new to the WABA needs one."""
    try:
        assets.meta_asset_claim(
            kind=MetaAssetKind.PHONE_NUMBER, meta_id=phone.phone_number_id, waba_id=waba.waba_id
        )
    except assets.AssetTaken:
        logger.warning(
            "number %s of WABA %s is held by another tenant", phone.phone_number_id, waba.waba_id
        )
        if phone.problem != ts.ANOTHER_PROVIDER:
            phone.problem = ts.ANOTHER_PROVIDER
            phone.connection_status = ConnectionStatus.ACTION_REQUIRED
            phone.save(update_fields=["problem", "connection_status"])


def _phones_gone(waba: WhatsAppAccount, listed: set[str]) -> None:
    """Numbers Meta no longer lists in the WABA: disconnected, with history; claims released."""
    gone = list(
        waba.phone_numbers.exclude(phone_number_id__in=listed).exclude(
            connection_status=ConnectionStatus.DISCONNECTED
        )
    )
    if not gone:
        return
    was_primary = False
    for phone in gone:
        old = phone.connection_status
        was_primary = was_primary or phone.is_primary
        phone.connection_status, phone.is_primary = ConnectionStatus.DISCONNECTED, False
        phone.save(update_fields=["connection_status", "is_primary"])
        snapshots.history_record(
            waba=waba,
            phone=phone,
            kind=HistoryKind.CONNECTION,
            old=old,
            new=ConnectionStatus.DISCONNECTED,
            source=SOURCE,
            detail={"reason": "not_in_waba"},
        )
    assets.meta_assets_release(
        kind=MetaAssetKind.PHONE_NUMBER, meta_ids=[p.phone_number_id for p in gone]
    )
    if was_primary:
        phone_numbers.primary_ensure()  # another number stands in; the choice is kept
    for phone in gone:
        notifications.phone_removed_notify(waba=waba, phone=phone)


# --- One number, after a webhook ----------------------------------------------------------


def phone_refresh_request(*, phone: PhoneNumber) -> bool:
    """Queue a read of this number from Meta, unless one is queued already.

    For webhooks that say something changed but not to what (a quality event carries no
    quality rating). Ten events in a burst queue one read: the first marks the number
    (``refresh_requested_at``, on the row the caller holds locked, so the mark and the
    task are committed together); the others find the mark. The read clears the mark as
    it starts, so an event that comes during the read queues the next one. Returns
    whether a read was queued.
    """
    now = timezone.now()
    queued = phone.refresh_requested_at
    if queued is not None and now - queued < timedelta(seconds=REFRESH_STALE_SECONDS):
        return False
    phone.refresh_requested_at = now
    phone.save(update_fields=["refresh_requested_at"])
    tasks.phone_refresh_task.apply_async_on_commit(
        args=(phone.tenant_id, phone.pk), countdown=REFRESH_DELAY_SECONDS
    )
    return True


def phone_refresh(*, phone_pk: int) -> PhoneNumber | None:
    """Read one number from Meta and apply what it says (status, quality, name, limit).

    One call, applied like a sync's read of the number: aspects that changed after the
    read started are kept, changes become history and at most one notice (one event,
    such as a flag, may change both the status and the quality). Raises a
    :data:`RETRYABLE_ERRORS` error for the task to retry.
    """
    with transaction.atomic():
        phone = (
            PhoneNumber.objects.select_for_update().select_related("waba").filter(pk=phone_pk)
        ).first()
        if phone is None:
            return None
        if phone.refresh_requested_at is not None:
            phone.refresh_requested_at = None
            phone.save(update_fields=["refresh_requested_at"])
        waba = phone.waba
        if (
            not waba.is_connected
            or not waba.access_token
            or phone.connection_status == ConnectionStatus.DISCONNECTED
        ):
            return phone  # nothing of ours to keep true
        stamp = snapshots.read_stamp(phone.event_clock)
    client = graph.graph_client(token=str(waba.access_token))
    try:
        data = client.phone_number_get(phone.phone_number_id)
    except (ge.GraphAuthError, ge.GraphPermissionError) as exc:
        _access_lost(waba_pk=waba.pk, error=exc)
        return phone
    except RETRYABLE_ERRORS:
        raise
    except ge.GraphError as exc:
        # E.g. the number is gone from Meta: the next sync of its account settles it.
        logger.warning("read of number %s failed: %s", phone.phone_number_id, exc)
        return phone
    finally:
        client.close()
    return _refresh_apply(waba_pk=waba.pk, phone_pk=phone.pk, data=data, stamp=stamp)


def phone_refresh_give_up(*, phone_pk: int, message: str) -> None:
    """Meta stayed unavailable through every retry: keep why; the next sync reads it again."""
    phone = PhoneNumber.objects.filter(pk=phone_pk).first()
    if phone is not None:
        WhatsAppAccount.objects.filter(pk=phone.waba_id).update(sync_error=message[:2000])


@transaction.atomic
def _refresh_apply(
    *, waba_pk: int, phone_pk: int, data: dict[str, Any], stamp: snapshots.ReadStamp
) -> PhoneNumber | None:
    waba = WhatsAppAccount.objects.select_for_update().filter(pk=waba_pk).first()
    phone = PhoneNumber.objects.select_for_update().filter(pk=phone_pk, waba_id=waba_pk).first()
    if waba is None or phone is None or not waba.is_connected:
        return phone
    if phone.connection_status == ConnectionStatus.DISCONNECTED:
        return phone  # gone from the account while we were reading Meta
    phone, changes = snapshots.phone_apply_snapshot(
        waba=waba,
        data={**data, "id": phone.phone_number_id},
        source=SOURCE,
        stamp=stamp,
        notify=False,
    )
    worse = [c for c in changes if rules.is_change_for_the_worse(c)]
    notifications.notify_for_changes(waba=waba, changes=worse[:1])
    phone_numbers.primary_ensure()
    return phone


def _access_lost(*, waba_pk: int, error: ge.GraphError) -> WhatsAppAccount | None:
    """Meta refused our access: show the problem and its fix; notify only when it starts."""
    problem = ts.problem_for_graph_error(error, step="sync")
    with transaction.atomic():
        waba = WhatsAppAccount.objects.select_for_update().filter(pk=waba_pk).first()
        if waba is None:
            return None
        waba.sync_error = str(error)[:2000]
        waba.last_synced_at = timezone.now()
        is_new = waba.problem != problem
        old_status = waba.connection_status
        if is_new:
            waba.problem = problem
            waba.problem_detail = str(error)[:2000]
            waba.connection_status = (
                ConnectionStatus.DISABLED
                if problem == ts.WABA_DISABLED
                else ConnectionStatus.ACTION_REQUIRED
            )
        waba.save()
        if is_new:
            snapshots.history_record(
                waba=waba,
                kind=HistoryKind.CONNECTION,
                old=old_status,
                new=waba.connection_status,
                source=SOURCE,
                detail={
                    "problem": problem,
                    "error_code": error.code,
                    "error_subcode": error.subcode,
                },
            )
            notifications.waba_problem_notify(waba=waba, problem=problem)
    logger.info("sync of WABA %s: access lost (%s)", waba.waba_id, problem)
    return waba


def _record_error(*, waba_pk: int, error: ge.GraphError, finished: bool) -> WhatsAppAccount | None:
    fields: dict[str, Any] = {"sync_error": str(error)[:2000]}
    if finished:
        fields["last_synced_at"] = timezone.now()
    WhatsAppAccount.objects.filter(pk=waba_pk).update(**fields)
    return WhatsAppAccount.objects.filter(pk=waba_pk).first()

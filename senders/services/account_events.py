"""What Meta says about accounts and numbers as it happens, applied to our rows.

Fields: ``account_update`` (app installed or removed, bans, restrictions, violations),
``account_review_update``, ``business_capability_update`` (messaging limit, number
caps), ``phone_number_quality_update`` and ``phone_number_name_update``; the handlers
in :mod:`senders.events` hand each field's events of one tenant to one function here.

Meta delivers at least once and out of order, and staff may replay a delivery, so
every function is idempotent and order-tolerant:

- each kind of change has its own clock on the account or number
  (:func:`account_event_is_new`): an event older than the last one applied for the
  same aspect changes nothing, nor does one older than a read of Meta that already
  saw the number's status, quality or name (:mod:`senders.services.snapshots`);
- what an event does not say is not guessed: a quality event names no quality
  rating, so the number is read from Meta after it (:func:`phone_quality_apply`);
- a change is applied, recorded and notified only if it changes something, and a
  history row is not written twice for the same event (same kind, value and time).

Events for a WABA the tenant holds no account record of (yet) are ignored.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from accounts.tenancy import require_tenant
from senders import troubleshooting as ts
from senders.models import (
    AccountHistory,
    AccountUpdateEvent,
    BanState,
    CanSendMessage,
    ConnectionStatus,
    HistoryKind,
    MessagingLimit,
    NameStatus,
    PhoneNumber,
    QualityUpdateEvent,
    ThroughputLevel,
    WabaStatus,
    WhatsAppAccount,
)
from senders.services import display_names, notifications, rules, snapshots, sync
from waba_portal.graph import webhooks as wh

logger = logging.getLogger(__name__)

SOURCE = "webhook"
LINK_EVENTS = frozenset(
    {AccountUpdateEvent.PARTNER_ADDED, AccountUpdateEvent.PARTNER_APP_INSTALLED}
)
DISCONNECT_EVENTS = frozenset(
    {
        AccountUpdateEvent.PARTNER_APP_UNINSTALLED,
        AccountUpdateEvent.PARTNER_REMOVED,
        AccountUpdateEvent.ACCOUNT_DELETED,
        AccountUpdateEvent.ACCOUNT_OFFBOARDED,
    }
)
# The app no longer receives the account's webhooks after these.
UNSUBSCRIBING_EVENTS = frozenset(
    {AccountUpdateEvent.PARTNER_APP_UNINSTALLED, AccountUpdateEvent.ACCOUNT_OFFBOARDED}
)
NO_LIMIT = frozenset({"", "TIER_NOT_SET"})

E = TypeVar("E", bound=wh.WebhookEvent)


# --- One function per field: the events of one tenant ---------------------------------


def _each_by_waba(events: Sequence[E], apply: Callable[..., None]) -> None:
    """``apply(waba=..., event=...)`` for each event, with its WABA locked and read once."""
    for waba, items in _by_waba(events):
        for event in items:
            apply(waba=waba, event=event)


def account_updates_apply(*, events: Sequence[wh.AccountUpdate]) -> None:
    _each_by_waba(events, account_update_apply)


def account_reviews_apply(*, events: Sequence[wh.AccountReviewUpdate]) -> None:
    _each_by_waba(events, account_review_apply)


def capability_updates_apply(*, events: Sequence[wh.BusinessCapabilityUpdate]) -> None:
    _each_by_waba(events, capability_apply)


def phone_quality_updates_apply(*, events: Sequence[wh.PhoneNumberQualityUpdate]) -> None:
    for waba, items in _by_waba(events):
        phones = list(waba.phone_numbers.select_for_update())
        for event in items:
            phone = _phone_of(phones, event)
            if phone is not None:
                phone_quality_apply(waba=waba, phone=phone, event=event)


def phone_name_updates_apply(*, events: Sequence[wh.PhoneNumberNameUpdate]) -> None:
    for waba, items in _by_waba(events):
        phones = list(waba.phone_numbers.select_for_update())
        for event in items:
            phone = _phone_of(phones, event)
            if phone is not None:
                phone_name_apply(waba=waba, phone=phone, event=event)


def account_event_is_new(
    obj: WhatsAppAccount | PhoneNumber, aspect: str, when: datetime | None
) -> bool:
    """Order tolerance: apply an event only if it is not older than the last one applied
    for the same ``aspect``; moves the object's clock (the caller saves it)."""
    if when is None:
        return True
    return rules.clock_advance(obj, aspect, when.timestamp())


def _by_waba(events: Sequence[E]) -> list[tuple[WhatsAppAccount, list[E]]]:
    """The tenant's accounts these events are about (locked), each with its events oldest first."""
    ids = sorted({e.waba_id for e in events if e.waba_id})
    wabas = {
        w.waba_id: w for w in WhatsAppAccount.objects.select_for_update().filter(waba_id__in=ids)
    }
    grouped: list[tuple[WhatsAppAccount, list[E]]] = []
    for waba_id in ids:
        waba = wabas.get(waba_id)
        items = [e for e in events if e.waba_id == waba_id]
        if waba is None:
            logger.info(
                "%d %s events for WABA %s ignored: tenant %s has no account for it",
                len(items),
                type(items[0]).__name__,
                waba_id,
                require_tenant().slug,
            )
            continue
        grouped.append((waba, sorted(items, key=_when)))
    return grouped


def _when(event: wh.WebhookEvent) -> float:
    return event.timestamp.timestamp() if event.timestamp else 0.0


def _digits(value: str | None) -> str:
    return re.sub(r"\D", "", value or "")


def _phone_of(phones: list[PhoneNumber], event: wh.WebhookEvent) -> PhoneNumber | None:
    """The number of the WABA an event names by its display number (any formatting)."""
    wanted = _digits(event.display_phone_number)
    for phone in phones:
        if event.phone_number_id and phone.phone_number_id == event.phone_number_id:
            return phone
        if wanted and _digits(phone.display_phone_number) == wanted:
            return phone
    logger.info(
        "%s for unknown number %s of WABA %s ignored",
        event.field,
        event.display_phone_number,
        event.waba_id,
    )
    return None


def _record_once(
    *,
    waba: WhatsAppAccount,
    event: wh.WebhookEvent,
    kind: str,
    old: Any,
    new: Any,
    phone: PhoneNumber | None = None,
    detail: dict[str, Any] | None = None,
) -> AccountHistory | None:
    """A history row for this event, unless the same event wrote it already."""
    new_value = str(new or "")[:255]
    if (
        event.timestamp is not None
        and AccountHistory.objects.filter(
            waba=waba,
            phone_number=phone,
            kind=kind,
            new_value=new_value,
            occurred_at=event.timestamp,
            source=SOURCE,
        ).exists()
    ):
        return None
    return snapshots.history_record(
        waba=waba,
        phone=phone,
        kind=kind,
        old=old,
        new=new,
        source=SOURCE,
        detail={"event": event.raw, **(detail or {})},
        occurred_at=event.timestamp,
    )


def _save_clock(obj: WhatsAppAccount | PhoneNumber) -> None:
    obj.save(update_fields=["event_clock"])


# --- account_update ------------------------------------------------------------


def account_update_apply(*, waba: WhatsAppAccount, event: wh.AccountUpdate) -> None:
    name = (event.event or "").upper()
    if name in LINK_EVENTS:
        _partner_linked(waba, event, name)
    elif name in DISCONNECT_EVENTS:
        _disconnected_by_meta(waba, event, name)
    elif name == AccountUpdateEvent.ACCOUNT_RECONNECTED:
        _reconnected(waba, event)
    elif name == AccountUpdateEvent.DISABLED_UPDATE:
        _ban_update(waba, event)
    elif name == AccountUpdateEvent.ACCOUNT_RESTRICTION:
        _restriction_update(waba, event)
    elif name == AccountUpdateEvent.ACCOUNT_VIOLATION:
        _violation(waba, event)
    else:
        logger.debug("account_update %s for WABA %s: nothing to do", name, waba.waba_id)


def _partner_linked(waba: WhatsAppAccount, event: wh.AccountUpdate, name: str) -> None:
    """Our app was added to the WABA (Embedded Signup): a line in the timeline."""
    if account_event_is_new(waba, "connection", event.timestamp):
        _save_clock(waba)
    _record_once(
        waba=waba,
        event=event,
        kind=HistoryKind.CONNECTION,
        old="",
        new=name,
        detail={"waba_info": event.waba_info or {}},
    )


def _disconnected_by_meta(waba: WhatsAppAccount, event: wh.AccountUpdate, name: str) -> None:
    """The app was removed, or the account deleted or offboarded: sending stopped."""
    if not account_event_is_new(waba, "connection", event.timestamp):
        return
    if not waba.is_connected or waba.problem == ts.DISCONNECTED_BY_META:
        _save_clock(waba)
        return
    old = waba.connection_status
    info = event.disconnection_info or {}
    waba.problem = ts.DISCONNECTED_BY_META
    waba.problem_detail = " ".join(filter(None, [name, str(info.get("reason") or "")]))
    waba.connection_status = ConnectionStatus.ACTION_REQUIRED
    if name in UNSUBSCRIBING_EVENTS:
        waba.subscribed = False
    waba.save()
    _record_once(
        waba=waba,
        event=event,
        kind=HistoryKind.CONNECTION,
        old=old,
        new=waba.connection_status,
        detail={"problem": waba.problem},
    )
    notifications.waba_problem_notify(waba=waba, problem=ts.DISCONNECTED_BY_META)


def _reconnected(waba: WhatsAppAccount, event: wh.AccountUpdate) -> None:
    if not account_event_is_new(waba, "connection", event.timestamp):
        return
    if waba.problem != ts.DISCONNECTED_BY_META:
        _save_clock(waba)
        return
    old = waba.connection_status
    waba.problem, waba.problem_detail = "", ""
    waba.connection_status = ConnectionStatus.CONNECTED
    rules.waba_derive_state(waba)
    waba.save()
    _record_once(
        waba=waba,
        event=event,
        kind=HistoryKind.CONNECTION,
        old=old,
        new=waba.connection_status,
        detail={"problem": waba.problem},
    )
    notifications.waba_reconnected_notify(waba=waba)


def _ban_state(ban_info: dict[str, Any] | None) -> str:
    state = (ban_info or {}).get("waba_ban_state")
    if isinstance(state, list):  # seen both as a string and as a one-item list
        state = state[-1] if state else ""
    state = str(state or "").upper()
    return state if state in BanState.values else ""


def _ban_update(waba: WhatsAppAccount, event: wh.AccountUpdate) -> None:
    state = _ban_state(event.ban_info)
    if not state or not account_event_is_new(waba, "ban", event.timestamp):
        return
    if state == waba.ban_state:
        _save_clock(waba)
        return
    old = waba.ban_state
    waba.ban_state = state
    if state == BanState.DISABLE:
        waba.meta_status = WabaStatus.DISABLED
    elif state == BanState.REINSTATE:
        if waba.meta_status.upper() in rules.WABA_OFF_STATUSES:
            waba.meta_status = WabaStatus.ACTIVE
        _drop_ban_health(waba)
    rules.waba_derive_state(waba)
    waba.save()
    change = _record_once(
        waba=waba,
        event=event,
        kind=HistoryKind.BAN,
        old=old,
        new=state,
        detail={"ban_date": (event.ban_info or {}).get("waba_ban_date")},
    )
    if change is None:
        return
    if state == BanState.REINSTATE:
        notifications.waba_reinstated_notify(waba=waba)
    else:
        notifications.notify_for_changes(waba=waba, changes=[change])


def _drop_ban_health(waba: WhatsAppAccount) -> None:
    """The last health read says "banned" (HEALTH_BANNED); after a reinstatement it is stale."""
    entities = []
    for entity in waba.health.get("entities", []) or []:
        if isinstance(entity, dict):
            errors = [
                e
                for e in entity.get("errors", []) or []
                if not (
                    isinstance(e, dict) and int(e.get("error_code") or 0) == rules.HEALTH_BANNED
                )
            ]
            entity = {**entity, "errors": errors}
        entities.append(entity)
    if waba.health:
        waba.health = {**waba.health, "entities": entities}
    if waba.can_send_message == CanSendMessage.BLOCKED:
        waba.can_send_message = ""


def _restriction_types(restrictions: list[Any]) -> str:
    return ", ".join(
        str(r.get("restriction_type") or "") for r in restrictions if isinstance(r, dict)
    )


def _restriction_update(waba: WhatsAppAccount, event: wh.AccountUpdate) -> None:
    if not account_event_is_new(waba, "restriction", event.timestamp):
        return
    restrictions = [dict(r) for r in event.restriction_info]
    if restrictions == (waba.restrictions or []):
        _save_clock(waba)
        return
    old = _restriction_types(waba.restrictions or [])
    waba.restrictions = restrictions
    rules.waba_derive_state(waba)
    waba.save()
    change = _record_once(
        waba=waba,
        event=event,
        kind=HistoryKind.RESTRICTION,
        old=old,
        new=_restriction_types(restrictions) or "lifted",
        detail={"restrictions": restrictions},
    )
    if change is not None:
        notifications.notify_for_changes(waba=waba, changes=[change])


def _violation(waba: WhatsAppAccount, event: wh.AccountUpdate) -> None:
    """A policy violation: nothing to change, but the owners must know."""
    info = event.violation_info or {}
    change = _record_once(
        waba=waba,
        event=event,
        kind=HistoryKind.VIOLATION,
        old="",
        new=str(info.get("violation_type") or "UNKNOWN"),
    )
    if change is not None:
        notifications.notify_for_changes(waba=waba, changes=[change])


# --- account_review_update, business_capability_update ---------------------------------------


def account_review_apply(*, waba: WhatsAppAccount, event: wh.AccountReviewUpdate) -> None:
    decision = (event.decision or "").upper()
    if not decision or not account_event_is_new(waba, "review", event.timestamp):
        return
    if decision == waba.account_review_status.upper():
        _save_clock(waba)
        return
    old = waba.account_review_status
    waba.account_review_status = decision
    rules.waba_derive_state(waba)
    waba.save()
    change = _record_once(waba=waba, event=event, kind=HistoryKind.REVIEW, old=old, new=decision)
    if change is not None:
        notifications.notify_for_changes(waba=waba, changes=[change])


def capability_apply(*, waba: WhatsAppAccount, event: wh.BusinessCapabilityUpdate) -> None:
    """New messaging limit (shared by every number of the portfolio) and number caps."""
    if not account_event_is_new(waba, "capability", event.timestamp):
        return
    limit = (event.max_daily_conversations_per_business or "").upper()
    max_numbers = event.max_phone_numbers_per_waba or event.max_phone_numbers_per_business
    changes: list[AccountHistory] = []
    if limit not in NO_LIMIT and limit != waba.messaging_limit:
        old = waba.messaging_limit
        waba.messaging_limit = limit
        change = _record_once(waba=waba, event=event, kind=HistoryKind.LIMIT, old=old, new=limit)
        changes += [change] if change else []
        waba.phone_numbers.exclude(messaging_limit=limit).update(messaging_limit=limit)
    if max_numbers and max_numbers != waba.max_phone_numbers:
        waba.max_phone_numbers = max_numbers
    waba.save()
    notifications.notify_for_changes(waba=waba, changes=changes)


# --- Numbers ------------------------------------------------------------


def phone_quality_apply(
    *, waba: WhatsAppAccount, phone: PhoneNumber, event: wh.PhoneNumberQualityUpdate
) -> None:
    """The limit and throughput a quality event carries; its quality and status from Meta.

    The event says what happened (FLAGGED, UNFLAGGED, DOWNGRADE, …) but carries no
    quality rating and no status (docs/meta/NOTES.md §5): UNFLAGGED may leave the
    number at Medium or High, FLAGGED may or may not change its status. So after a flag
    or an unflag the number is read from Meta, once for a burst of events
    (:func:`senders.services.sync.phone_refresh_request`), and the read applies both,
    with history and one notice; nothing is guessed meanwhile.
    """
    name = (event.event or "").upper()
    if name in (QualityUpdateEvent.FLAGGED, QualityUpdateEvent.UNFLAGGED):
        sync.phone_refresh_request(phone=phone)
    limit = (event.max_daily_conversations_per_business or event.current_limit or "").upper()
    upgraded = name == QualityUpdateEvent.THROUGHPUT_UPGRADE
    if upgraded and limit in NO_LIMIT:
        limit = MessagingLimit.TIER_UNLIMITED
    if limit in NO_LIMIT or not account_event_is_new(phone, "limit", event.timestamp):
        return  # no limit in it, or an older one than we know
    if upgraded:
        phone.throughput_level = ThroughputLevel.HIGH
    change = None
    old = phone.messaging_limit
    if limit != old:
        phone.messaging_limit = limit
        change = _record_once(
            waba=waba,
            event=event,
            kind=HistoryKind.LIMIT,
            old=old,
            new=limit,
            phone=phone,
            detail={"quality_event": name},
        )
    phone.save()
    if limit != waba.messaging_limit:
        # The limit belongs to the business portfolio: the account shows it too.
        waba.messaging_limit = limit
        waba.save(update_fields=["messaging_limit"])
    notifications.notify_for_changes(waba=waba, changes=[change] if change else [])


def phone_name_apply(
    *, waba: WhatsAppAccount, phone: PhoneNumber, event: wh.PhoneNumberNameUpdate
) -> None:
    """Meta's decision on a display name: approved names become the verified name."""
    decision = (event.decision or "").upper()
    if not decision or not account_event_is_new(phone, "name", event.timestamp):
        return
    requested = event.requested_verified_name or phone.requested_name
    reason = event.rejection_reason or ""
    if display_names.name_request_matches(phone, requested):
        # The name this number asked for: applied, recorded and notified there, once,
        # whether this event or a read of Meta tells the decision first.
        display_names.name_decision_apply(
            waba=waba,
            phone=phone,
            decision=decision,
            reason=reason,
            source=SOURCE,
            occurred_at=event.timestamp,
            raw=event.raw,
        )
        return
    old = phone.name_status
    if decision == NameStatus.APPROVED:
        new = NameStatus.APPROVED
        if old == new and (not requested or phone.verified_name == requested):
            _save_clock(phone)
            return
        phone.name_status = new
        phone.verified_name = requested or phone.verified_name
        phone.requested_name, phone.name_rejection_reason = "", ""
        if phone.problem == ts.DISPLAY_NAME_REJECTED:
            phone.problem, phone.problem_detail = "", ""
            phone.connection_status = ConnectionStatus.PENDING  # derived again below
    elif decision == NameStatus.REJECTED:
        new = NameStatus.DECLINED
        if old == new and phone.requested_name == requested:
            _save_clock(phone)
            return
        phone.name_status = new
        phone.requested_name, phone.name_rejection_reason = requested, reason
        phone.problem, phone.problem_detail = ts.DISPLAY_NAME_REJECTED, reason
    else:  # PENDING, DEFERRED: still in review
        new = NameStatus.PENDING_REVIEW
        if old == new and phone.requested_name == requested:
            _save_clock(phone)
            return
        phone.name_status, phone.requested_name = new, requested
    rules.phone_derive_state(phone)
    phone.save()
    change = _record_once(
        waba=waba,
        event=event,
        kind=HistoryKind.NAME,
        old=old,
        new=new,
        phone=phone,
        detail={"requested_name": requested, "reason": reason},
    )
    if change is None or decision not in (NameStatus.APPROVED, NameStatus.REJECTED):
        return
    notifications.name_decided_notify(
        waba=waba,
        phone=phone,
        name=requested,
        approved=decision == NameStatus.APPROVED,
        reason=reason or "",
    )

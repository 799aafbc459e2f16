"""What Meta says about a WABA or a number, applied to our rows, and their history.

Every change of a field users care about (status, quality, display name, limit,
review, verification) is written as :class:`AccountHistory`; a change for the worse
notifies the tenant's owners and admins (:mod:`senders.services.notifications`).

A number's status, quality, name and limit each keep the time of the information they
came from (``PhoneNumber.event_clock``): webhooks stamp theirs with the event's time, a
read of Meta with a :class:`ReadStamp`. A read applies an aspect only if it is not older
than what was applied last, so a sync that read Meta before an event but is applied
after it does not undo the event, whatever order they arrive in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.utils import timezone

from senders.models import (
    AccountHistory,
    BusinessVerificationStatus,
    HistoryKind,
    PhoneNumber,
    WhatsAppAccount,
)
from senders.services import channels, display_names, integration_events, notifications, rules

# Which clock of a number each field Meta reports belongs to.
PHONE_ASPECTS = {
    "meta_status": "status",
    "quality_rating": "quality",
    "name_status": "name",
    "messaging_limit": "limit",
}


@dataclass(frozen=True)
class ReadStamp:
    """When a read of a number from Meta started, and the number's clocks at that moment.

    The read reflects Meta's state at its start, less :data:`rules.READ_MARGIN_SECONDS`
    (events are stamped in whole seconds). It also reflects everything applied before
    it started, whatever Meta's clock said then: an aspect's stamp is the later of the
    two, so a read queued after an event always counts as newer than that event.
    """

    started: float
    clocks: Mapping[str, float] = field(default_factory=dict)

    def of(self, aspect: str) -> float:
        return max(self.started - rules.READ_MARGIN_SECONDS, self.clocks.get(aspect, 0.0))


def read_stamp(clock: Mapping[str, Any] | None = None) -> ReadStamp:
    """A :class:`ReadStamp` for a read starting now, given the number's ``event_clock``."""
    clocks = {
        aspect: float(value)
        for aspect, value in (clock or {}).items()
        if isinstance(value, int | float)
    }
    return ReadStamp(started=timezone.now().timestamp(), clocks=clocks)


def history_record(
    *,
    waba: WhatsAppAccount,
    kind: str,
    old: Any,
    new: Any,
    source: str,
    phone: PhoneNumber | None = None,
    detail: dict[str, Any] | None = None,
    occurred_at: datetime | None = None,
) -> AccountHistory | None:
    """One line of the account's timeline; ``source`` is sync, webhook, user or onboarding.

    A change that changes nothing (``connected → connected``) is not a line: None.
    """
    if str(old or "")[:255] == str(new or "")[:255]:
        return None
    row = AccountHistory.objects.create(
        waba=waba,
        phone_number=phone,
        kind=kind,
        old_value=str(old or "")[:255],
        new_value=str(new or "")[:255],
        source=source,
        detail=detail or {},
        occurred_at=occurred_at or timezone.now(),
    )
    integration_events.history_emit(row)
    return row


def _limit_from(data: dict[str, Any]) -> str:
    value = data.get("whatsapp_business_manager_messaging_limit") or data.get(
        "messaging_limit_tier"
    )
    if isinstance(value, dict):  # some responses wrap it: {"current_limit": ...}
        value = value.get("current_limit") or value.get("value")
    return str(value or "")


def _health(data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    health = data.get("health_status")
    if not isinstance(health, dict):
        return "", {}
    return str(health.get("can_send_message") or ""), health


def waba_apply_snapshot(
    *, waba: WhatsAppAccount, data: dict[str, Any], source: str
) -> list[AccountHistory]:
    """Update a WABA from Meta's answer; record and return the changes that matter."""
    changes: list[AccountHistory] = []
    tracked = [
        (HistoryKind.STATUS, "meta_status", str(data.get("status") or waba.meta_status)),
        (
            HistoryKind.REVIEW,
            "account_review_status",
            str(data.get("account_review_status") or waba.account_review_status),
        ),
        (
            HistoryKind.VERIFICATION,
            "business_verification_status",
            str(
                data.get("business_verification_status") or waba.business_verification_status
            ).lower(),
        ),
        (HistoryKind.LIMIT, "messaging_limit", _limit_from(data) or waba.messaging_limit),
    ]
    for kind, attr, new in tracked:
        old = getattr(waba, attr)
        if new != old:
            if old or source != "onboarding":
                row = history_record(waba=waba, kind=kind, old=old, new=new, source=source)
                changes += [row] if row else []
            setattr(waba, attr, new)
    waba.name = str(data.get("name") or waba.name)
    waba.currency = str(data.get("currency") or waba.currency)
    waba.timezone_id = str(data.get("timezone_id") or waba.timezone_id)
    waba.country = str(data.get("country") or waba.country)
    waba.ownership_type = str(data.get("ownership_type") or waba.ownership_type)
    owner = data.get("owner_business_info")
    if isinstance(owner, dict) and owner.get("id"):
        waba.business_id = str(owner["id"])
    can_send, health = _health(data)
    if health:
        waba.can_send_message, waba.health = can_send, health
    if waba.business_verification_status == BusinessVerificationStatus.VERIFIED:
        waba.unverified_since = None
    elif waba.unverified_since is None:
        waba.unverified_since = timezone.now()
    rules.waba_derive_state(waba)
    waba.save()
    notifications.notify_for_changes(waba=waba, changes=changes)
    return changes


def phone_apply_snapshot(
    *,
    waba: WhatsAppAccount,
    data: dict[str, Any],
    source: str,
    stamp: ReadStamp | None = None,
    notify: bool = True,
) -> tuple[PhoneNumber, list[AccountHistory]]:
    """Create or update a number from Meta's answer; record the changes that matter.

    ``stamp`` says when the read started (default: now, which applies everything). An
    aspect that newer information changed since (a webhook, a later read) is left as
    it is. With ``notify=False`` the caller tells the managers about the changes.
    """
    phone_number_id = str(data["id"])
    phone, created = PhoneNumber.objects.get_or_create(
        phone_number_id=phone_number_id, defaults={"waba": waba}
    )
    phone.waba = waba
    stamp = stamp or read_stamp(phone.event_clock)
    if not created:
        # A display name the number asked for: Meta's decision in this read, applied
        # (with its history and notice) before the fields below, which then agree.
        display_names.name_review_read_apply(
            waba=waba, phone=phone, data=data, stamp=stamp.of("name"), source=source
        )
    changes: list[AccountHistory] = []
    throughput = data.get("throughput")
    tracked = [
        (HistoryKind.STATUS, "meta_status", str(data.get("status") or phone.meta_status)),
        (
            HistoryKind.QUALITY,
            "quality_rating",
            str(data.get("quality_rating") or phone.quality_rating),
        ),
        (HistoryKind.NAME, "name_status", str(data.get("name_status") or phone.name_status)),
        (HistoryKind.LIMIT, "messaging_limit", _limit_from(data) or phone.messaging_limit),
    ]
    applied: set[str] = set()
    for kind, attr, new in tracked:
        aspect = PHONE_ASPECTS[attr]
        if not rules.clock_advance(phone, aspect, stamp.of(aspect)):
            continue  # we learnt something newer about it after this read started
        applied.add(aspect)
        old = getattr(phone, attr)
        if new != old:
            if not created:
                row = history_record(
                    waba=waba, phone=phone, kind=kind, old=old, new=new, source=source
                )
                changes += [row] if row else []
            setattr(phone, attr, new)
    phone.display_phone_number = str(data.get("display_phone_number") or phone.display_phone_number)
    if "name" in applied:
        phone.verified_name = str(data.get("verified_name") or phone.verified_name)
    phone.code_verification_status = str(
        data.get("code_verification_status") or phone.code_verification_status
    )
    phone.platform_type = str(data.get("platform_type") or phone.platform_type)
    if isinstance(throughput, dict):
        phone.throughput_level = str(throughput.get("level") or "")
    phone.is_official_business_account = bool(
        data.get("is_official_business_account", phone.is_official_business_account)
    )
    rules.phone_derive_state(phone)
    phone.save()
    channels.channel_ensure(phone=phone)  # every number is an inbox channel (made once)
    if notify:
        notifications.notify_for_changes(waba=waba, changes=changes)
    return phone, changes

"""Rules with no writes: our state of a WABA or number from what Meta last said about it,
and which changes are for the worse. Callers save; nothing here touches the database.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from senders import troubleshooting as ts
from senders.models import (
    UNVERIFIED_TRIAL_DAYS,
    AccountHistory,
    AccountReviewStatus,
    BanState,
    CanSendMessage,
    ConnectionStatus,
    HistoryKind,
    MessagingLimit,
    NameStatus,
    PhoneNumber,
    PhoneStatus,
    PlatformType,
    QualityRating,
    WabaStatus,
    WhatsAppAccount,
)

QUALITY_RANK: dict[str, int] = {
    QualityRating.GREEN: 3,
    QualityRating.YELLOW: 2,
    QualityRating.RED: 1,
}
BAD_PHONE_STATUSES = frozenset(
    {
        PhoneStatus.FLAGGED,
        PhoneStatus.RESTRICTED,
        PhoneStatus.BANNED,
        PhoneStatus.RATE_LIMITED,
        PhoneStatus.DISCONNECTED,
    }
)
# What Meta does to a number for its quality or a policy: registering it again lifts none.
QUALITY_OR_POLICY_STATUSES = frozenset(
    {PhoneStatus.FLAGGED, PhoneStatus.RESTRICTED, PhoneStatus.BANNED, PhoneStatus.RATE_LIMITED}
)
REJECTED_NAME_STATUSES = frozenset({NameStatus.DECLINED, NameStatus.REJECTED})
# ``code_verification_status`` of a number whose owner must verify it (again) with a code.
UNVERIFIED_CODE_STATUSES = frozenset({"NOT_VERIFIED", "EXPIRED", "UNVERIFIED"})
WABA_OFF_STATUSES = frozenset({WabaStatus.DISABLED, WabaStatus.BANNED})
# Accounts whose numbers cannot send, whatever the numbers' own state.
WABA_NOT_SENDING = frozenset({ConnectionStatus.DISABLED, ConnectionStatus.ACTION_REQUIRED})
# Meta stamps webhook events in whole seconds. A read that started less than this after
# an event's stamp may have been made before the event, so it counts as that much older
# (``snapshots.ReadStamp``): at a tie the event's own value wins.
READ_MARGIN_SECONDS = 1.0
# Error codes in a WABA's health_status.
HEALTH_BANNED = 141014
HEALTH_CREDIT_LINE = 141006

# Problems of registering a number, or of its name, that Meta's CONNECTED settles.
_SOLVED_WHEN_CONNECTED = frozenset(
    {"", ts.DISPLAY_NAME_REJECTED, ts.TWO_STEP_VERIFICATION, ts.REGISTRATION_LIMIT}
)


def clock_advance(obj: WhatsAppAccount | PhoneNumber, aspect: str, stamp: float) -> bool:
    """Order tolerance: information about ``aspect`` as of ``stamp`` (a webhook's event
    time, a read's start) applies only if it is not older than the last one applied;
    moves the object's clock if so (the caller saves it)."""
    last: Any = obj.event_clock.get(aspect)
    if last is not None and stamp < float(last):
        return False
    obj.event_clock[aspect] = stamp
    return True


def health_error_codes(waba: WhatsAppAccount) -> set[int]:
    return {
        int(err.get("error_code") or 0)
        for entity in waba.health.get("entities", [])
        if isinstance(entity, dict)
        for err in entity.get("errors", []) or []
        if isinstance(err, dict)
    }


def waba_derive_state(waba: WhatsAppAccount) -> None:
    """Connection status and problem of a WABA from what Meta last said about it."""
    if waba.connection_status in (ConnectionStatus.DISCONNECTED, ConnectionStatus.REGISTERING):
        return
    if waba.problem in (ts.TOKEN_INVALID, ts.DISCONNECTED_BY_META):
        waba.connection_status = ConnectionStatus.ACTION_REQUIRED
        return
    health_codes = health_error_codes(waba)
    status, problem = ConnectionStatus.CONNECTED, ""
    if (
        waba.ban_state == BanState.DISABLE
        or waba.meta_status.upper() in WABA_OFF_STATUSES
        or HEALTH_BANNED in health_codes
    ):
        status, problem = ConnectionStatus.DISABLED, ts.WABA_DISABLED
    elif waba.unverified_since and timezone.now() - waba.unverified_since > timedelta(
        days=UNVERIFIED_TRIAL_DAYS
    ):
        status, problem = ConnectionStatus.ACTION_REQUIRED, ts.UNVERIFIED_TRIAL_ENDED
    elif HEALTH_CREDIT_LINE in health_codes:
        status, problem = ConnectionStatus.ACTION_REQUIRED, ts.CREDIT_LINE
    elif waba.restrictions:
        status, problem = ConnectionStatus.RESTRICTED, ts.ACCOUNT_RESTRICTED
    elif waba.can_send_message == CanSendMessage.BLOCKED:
        status, problem = ConnectionStatus.ACTION_REQUIRED, ts.UNEXPECTED
    waba.connection_status, waba.problem = status, problem


def phone_derive_state(phone: PhoneNumber) -> None:
    """Connection status of a number (and which of its problems are settled)."""
    if phone.connection_status == ConnectionStatus.DISCONNECTED:
        return
    if phone.name_status == NameStatus.DECLINED:
        phone.connection_status, phone.problem = (
            ConnectionStatus.ACTION_REQUIRED,
            ts.DISPLAY_NAME_REJECTED,
        )
    elif phone.problem == ts.ANOTHER_PROVIDER:
        # Connected at Meta maybe, but its webhooks go to the workspace holding it.
        phone.connection_status = ConnectionStatus.ACTION_REQUIRED
    elif phone.meta_status == PhoneStatus.CONNECTED:
        phone.connection_status = ConnectionStatus.CONNECTED
        if phone.problem in _SOLVED_WHEN_CONNECTED:
            phone.problem = ""
    elif phone.meta_status in BAD_PHONE_STATUSES:
        phone.connection_status = ConnectionStatus.RESTRICTED
    elif phone.problem:
        phone.connection_status = ConnectionStatus.ACTION_REQUIRED
    else:
        phone.connection_status = ConnectionStatus.PENDING


def phone_send_block(phone: PhoneNumber) -> str:
    """Why this number cannot send messages now, or "" if it can: a key of
    ``troubleshooting.SEND_BLOCKS``."""
    waba = phone.waba
    if phone.connection_status == ConnectionStatus.DISCONNECTED or not waba.is_connected:
        return ts.SEND_NOT_CONNECTED
    if waba.connection_status in WABA_NOT_SENDING:
        return ts.SEND_ACCOUNT_BLOCKED
    if phone.name_status in REJECTED_NAME_STATUSES or phone.problem == ts.DISPLAY_NAME_REJECTED:
        return ts.SEND_NAME_REJECTED
    if phone.problem == ts.ANOTHER_PROVIDER:
        return ts.SEND_ANOTHER_PROVIDER
    if (
        phone.meta_status in QUALITY_OR_POLICY_STATUSES
        or phone.connection_status == ConnectionStatus.RESTRICTED
    ):
        return ts.SEND_RESTRICTED
    if phone.connection_status != ConnectionStatus.CONNECTED:
        return ts.SEND_NOT_REGISTERED
    return ""


def phone_resubmit_can_help(phone: PhoneNumber) -> bool:
    """Whether registering this number again (Resubmit) can make it send.

    It can for the problems the catalogue marks (a name to re-register after approval,
    a PIN or a registration that failed) and for a number never registered; it cannot
    for a quality flag or a restriction by Meta, a number held by another provider, a
    number still to be verified with a code (only its owner can), or one that is
    connected already or gone.
    """
    if phone.connection_status == ConnectionStatus.DISCONNECTED:
        return False
    if phone.problem:
        return ts.get(phone.problem).resubmit_fixes
    if phone.meta_status in QUALITY_OR_POLICY_STATUSES:
        return False
    if phone_needs_verification(phone):
        return False
    return phone.connection_status != ConnectionStatus.CONNECTED


def phone_needs_verification(phone: PhoneNumber) -> bool:
    """Whether Meta waits for the number's owner to verify it with a code."""
    return (
        phone.code_verification_status.upper() in UNVERIFIED_CODE_STATUSES
        and phone.platform_type != PlatformType.CLOUD_API
    )


def is_change_for_the_worse(change: AccountHistory) -> bool:
    """Whether the owners and admins should be told about this change."""
    old, new = change.old_value, change.new_value
    if change.kind == HistoryKind.QUALITY:
        return QUALITY_RANK.get(new, 0) < QUALITY_RANK.get(old, 0) and new in QUALITY_RANK
    if change.kind == HistoryKind.LIMIT:
        return MessagingLimit.rank(new) < MessagingLimit.rank(old) and old != ""
    if change.kind == HistoryKind.STATUS:
        return new.upper() in BAD_PHONE_STATUSES | WABA_OFF_STATUSES
    if change.kind in (HistoryKind.RESTRICTION, HistoryKind.BAN, HistoryKind.VIOLATION):
        return new not in ("", BanState.REINSTATE, "lifted")
    if change.kind == HistoryKind.NAME:
        return new in (NameStatus.DECLINED, NameStatus.REJECTED)
    if change.kind == HistoryKind.REVIEW:
        return new.upper() in (AccountReviewStatus.REJECTED, AccountReviewStatus.RESTRICTED)
    return False

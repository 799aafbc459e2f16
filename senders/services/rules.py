"""Rules with no writes: our state of a WABA or number from what Meta last said about it,
and which changes are for the worse. Callers save; nothing here touches the database.
"""

from __future__ import annotations

from datetime import timedelta

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
WABA_OFF_STATUSES = frozenset({WabaStatus.DISABLED, WabaStatus.BANNED})
# Error codes in a WABA's health_status.
HEALTH_BANNED = 141014
HEALTH_CREDIT_LINE = 141006

# Problems of registering a number, or of its name, that Meta's CONNECTED settles.
_SOLVED_WHEN_CONNECTED = frozenset(
    {"", ts.DISPLAY_NAME_REJECTED, ts.TWO_STEP_VERIFICATION, ts.REGISTRATION_LIMIT}
)


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

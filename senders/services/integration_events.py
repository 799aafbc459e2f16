"""What senders tells integrators' event webhooks: a number's or an account's change.

Every change of a WABA or a number is a line of its history (``AccountHistory``); the
lines of the kinds below are also events (``waba_portal.events``), written in the same
transaction as the line and sent after commit.
"""

from __future__ import annotations

from typing import Any

from senders.models import AccountHistory, HistoryKind, NameStatus, Onboarding
from waba_portal import events

# A number's line → its event.
_PHONE_EVENTS = {
    HistoryKind.STATUS: "number.status_changed",
    HistoryKind.CONNECTION: "number.status_changed",
    HistoryKind.QUALITY: "number.quality_changed",
    HistoryKind.NAME: "number.name_decided",
}
# An account's lines (no number) that are its status.
_WABA_KINDS = {
    HistoryKind.CONNECTION,
    HistoryKind.STATUS,
    HistoryKind.REVIEW,
    HistoryKind.VERIFICATION,
    HistoryKind.RESTRICTION,
    HistoryKind.BAN,
}
# A name line is a decision only when Meta decided; a request or "in review" is not.
_NAME_DECISIONS = {NameStatus.APPROVED, NameStatus.DECLINED, NameStatus.REJECTED}


def history_emit(row: AccountHistory) -> None:
    """Emit the event a history line stands for, if it stands for one."""
    phone = row.phone_number
    if phone is not None:
        event_type = _PHONE_EVENTS.get(row.kind)  # type: ignore[call-overload]
        if event_type is None:
            return
        if row.kind == HistoryKind.NAME and row.new_value not in _NAME_DECISIONS:
            return
        data: dict[str, Any] = {
            "phone_number": {
                "id": phone.pk,
                "phone_number_id": phone.phone_number_id,
                "display_phone_number": phone.display_phone_number,
                "verified_name": phone.verified_name,
            },
        }
    elif row.kind in _WABA_KINDS:
        event_type = "waba.status_changed"
        data = {"aspect": row.kind}
    else:
        return
    waba = row.waba
    data.update(
        waba={"id": waba.pk, "waba_id": waba.waba_id},
        old=row.old_value,
        new=row.new_value,
        source=row.source,
        occurred_at=row.occurred_at.isoformat(),
    )
    if row.kind == HistoryKind.NAME:
        data["reason"] = str(row.detail.get("reason") or "")
    events.emit(row.tenant, event_type, data)


def onboarding_emit(onboarding: Onboarding) -> None:
    """An Embedded Signup run ended, connected or failed."""
    waba = onboarding.account
    events.emit(
        onboarding.tenant,
        "onboarding.finished",
        {
            "onboarding": {"id": onboarding.pk},
            "status": onboarding.status,
            "waba": {"id": waba.pk, "waba_id": waba.waba_id} if waba is not None else None,
            "phone_number_id": onboarding.phone_number_id,
            "problem": onboarding.problem,
            "error_message": onboarding.error_message,
            "finished_at": onboarding.finished_at.isoformat() if onboarding.finished_at else None,
        },
    )

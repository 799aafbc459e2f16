"""What owners and admins are told about their accounts, each in their own language.

Each notification is stored as a kind and its parameters and read in the reader's
language (``accounts.services.notifications.notify_managers_of``); every one links to
the account.
"""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.models import NotificationLevel
from accounts.services.notifications import notification_kind_register, notify_managers_of
from accounts.tenancy import require_tenant
from senders import troubleshooting as ts
from senders.models import (
    AccountHistory,
    ConnectionStatus,
    HistoryKind,
    PhoneNumber,
    WhatsAppAccount,
)
from senders.services import rules
from senders.templatetags.senders_labels import history_value

# Kinds: the row keeps these params; the text is built in each reader's language.
KIND_WABA_PROBLEM = "waba.problem"
KIND_PHONE_REMOVED = "phone_number.removed"
KIND_CHANGED_FOR_THE_WORSE = "account.changed_for_the_worse"
KIND_WABA_RECONNECTED = "waba.reconnected"
KIND_WABA_REINSTATED = "waba.reinstated"
KIND_NAME_APPROVED = "phone_number.name_approved"
KIND_NAME_REJECTED = "phone_number.name_rejected"
KIND_RESUBMITTED = "phone_number.resubmitted"


def _problem_title(p: dict[str, object]) -> str:
    return _("%(account)s: %(problem)s") % {
        "account": p["account"],
        "problem": ts.get(str(p["problem"])).title,
    }


def _problem_body(p: dict[str, object]) -> str:
    entry = ts.get(str(p["problem"]))
    return " ".join([str(entry.explanation), *(str(step) for step in entry.steps)])


notification_kind_register(KIND_WABA_PROBLEM, title=_problem_title, body=_problem_body)
notification_kind_register(
    KIND_PHONE_REMOVED,
    title=lambda p: (
        _("%(number)s was removed from %(account)s")
        % {"number": p["number"], "account": p["account"]}
    ),
    body=lambda p: _(
        "Meta no longer lists this number in the WhatsApp Business Account, "
        "so it cannot send messages here."
    ),
)


def waba_url(waba: WhatsAppAccount) -> str:
    return reverse(
        "senders:waba_detail", kwargs={"tenant_slug": require_tenant().slug, "waba_pk": waba.pk}
    )


def notify_for_changes(*, waba: WhatsAppAccount, changes: list[AccountHistory]) -> None:
    """Tell owners and admins about changes for the worse: downgrades, flags, bans."""
    worse = [c for c in changes if rules.is_change_for_the_worse(c)]
    url = waba_url(waba)
    for change in worse:
        notify_managers_of(
            kind=KIND_CHANGED_FOR_THE_WORSE,
            params={
                "kind": change.kind,
                "subject": str(change.phone_number or waba),
                "old": change.old_value,
                "new": change.new_value,
                "problem": waba.problem,
            },
            url=url,
            level=NotificationLevel.WARNING,
        )


def waba_problem_notify(
    *, waba: WhatsAppAccount, problem: str, level: str = NotificationLevel.WARNING
) -> None:
    """Tell owners and admins that this account has a problem, with what fixes it."""
    notify_managers_of(
        kind=KIND_WABA_PROBLEM,
        params={"account": str(waba), "problem": problem},
        url=waba_url(waba),
        level=level,
    )


def waba_reconnected_notify(*, waba: WhatsAppAccount) -> None:
    notify_managers_of(
        kind=KIND_WABA_RECONNECTED, params={"account": str(waba)}, url=waba_url(waba)
    )


def waba_reinstated_notify(*, waba: WhatsAppAccount) -> None:
    notify_managers_of(kind=KIND_WABA_REINSTATED, params={"account": str(waba)}, url=waba_url(waba))


def name_decided_notify(
    *, waba: WhatsAppAccount, phone: PhoneNumber, name: str, approved: bool, reason: str = ""
) -> None:
    """Meta decided on a display name the number asked for."""
    notify_managers_of(
        kind=KIND_NAME_APPROVED if approved else KIND_NAME_REJECTED,
        params={"name": name, "number": str(phone), "reason": reason},
        url=waba_url(waba),
        level=NotificationLevel.INFO if approved else NotificationLevel.WARNING,
    )


def phone_removed_notify(*, waba: WhatsAppAccount, phone: PhoneNumber) -> None:
    """Meta no longer lists this number in the account."""
    notify_managers_of(
        kind=KIND_PHONE_REMOVED,
        params={"number": str(phone), "account": str(waba)},
        url=waba_url(waba),
        level=NotificationLevel.WARNING,
    )


def phone_resubmit_notify(*, phone: PhoneNumber, before: str, registered: bool) -> None:
    """What a Resubmit did, read back from Meta: the number sends now, or what still
    stops it, in words. In the app only: it answers a click, it is no alarm."""
    block = rules.phone_send_block(phone)
    if not block:
        outcome = "connected"
    elif block == ts.SEND_NAME_REJECTED:
        outcome = "name_rejected"
    elif phone.problem:
        outcome = "not_registered"
    else:
        outcome = "blocked"
    notify_managers_of(
        kind=KIND_RESUBMITTED,
        params={
            "outcome": outcome,
            "number": str(phone),
            "before": before,
            "after": phone.connection_status,
            "registered": registered,
            "problem": phone.problem,
            "block": block or "",
        },
        url=waba_url(phone.waba),
        level=NotificationLevel.INFO if outcome == "connected" else NotificationLevel.WARNING,
        email=False,
    )


def _status_words(p: dict[str, Any]) -> str:
    labels = dict(ConnectionStatus.choices)
    return _("Status here: %(old)s → %(new)s.") % {
        "old": labels.get(str(p["before"]), p["before"]),
        "new": labels.get(str(p["after"]), p["after"]),
    }


def _resubmit_title(p: dict[str, Any]) -> str:
    number, outcome = p["number"], p["outcome"]
    if outcome == "connected":
        return _("%(number)s was resubmitted: it is connected and can send messages.") % {
            "number": number
        }
    if outcome == "name_rejected":
        return _(
            "%(number)s: Meta still reports the display name as rejected — change it in "
            "WhatsApp Manager first."
        ) % {"number": number}
    if outcome == "not_registered":
        return _("%(number)s could not be registered: %(problem)s") % {
            "number": number,
            "problem": ts.get(str(p["problem"])).title,
        }
    return _("%(number)s was registered, but it still cannot send: %(reason)s") % {
        "number": number,
        "reason": ts.send_block_message(str(p["block"])),
    }


def _resubmit_body(p: dict[str, Any]) -> str:
    outcome = p["outcome"]
    if outcome == "name_rejected":
        done = (
            _("The number was registered, but its name is still rejected.")
            if p["registered"]
            else _("Registering cannot change the name, so the number was not registered.")
        )
        return " ".join([done, _("Resubmit again after Meta approves the new name.")])
    if outcome == "not_registered":
        entry = ts.get(str(p["problem"]))
        return " ".join([str(entry.explanation), *(str(step) for step in entry.steps)])
    return _status_words(p)


def _worse_title(p: dict[str, Any]) -> str:
    kind = str(p["kind"])
    return _("%(what)s of %(subject)s changed: %(old)s → %(new)s") % {
        "what": HistoryKind(kind).label if kind in HistoryKind.values else kind,
        "subject": p["subject"],
        "old": history_value(p["old"], kind),
        "new": history_value(p["new"], kind),
    }


def _name_rejected_body(p: dict[str, Any]) -> str:
    reason = p.get("reason") or ""
    steps = [str(step) for step in ts.get(ts.DISPLAY_NAME_REJECTED).steps]
    return " ".join([*([_("Reason: %(reason)s") % {"reason": reason}] if reason else []), *steps])


notification_kind_register(
    KIND_CHANGED_FOR_THE_WORSE,
    title=_worse_title,
    body=lambda p: str(ts.get(str(p["problem"])).title) if p.get("problem") else "",
)
notification_kind_register(
    KIND_WABA_RECONNECTED,
    title=lambda p: _("%(account)s is connected again") % {"account": p["account"]},
)
notification_kind_register(
    KIND_WABA_REINSTATED,
    title=lambda p: _("%(account)s was reinstated by Meta") % {"account": p["account"]},
)
notification_kind_register(
    KIND_NAME_APPROVED,
    title=lambda p: (
        _("Display name “%(name)s” of %(number)s approved")
        % {"name": p["name"], "number": p["number"]}
    ),
)
notification_kind_register(
    KIND_NAME_REJECTED,
    title=lambda p: (
        _("Display name “%(name)s” of %(number)s rejected")
        % {"name": p["name"], "number": p["number"]}
    ),
    body=_name_rejected_body,
)
notification_kind_register(KIND_RESUBMITTED, title=_resubmit_title, body=_resubmit_body)

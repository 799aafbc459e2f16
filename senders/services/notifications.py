"""What owners and admins are told about their accounts, each in their own language.

Texts are callables built with gettext when each manager's notification is written
(``accounts.services.notifications.notify_managers``); every one links to the account.
"""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.models import NotificationLevel
from accounts.services.notifications import (
    Text,
    notification_kind_register,
    notify_managers,
    notify_managers_of,
)
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

# Kinds: the row keeps these params; the text is built in each reader's language.
KIND_WABA_PROBLEM = "waba.problem"
KIND_PHONE_REMOVED = "phone_number.removed"


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
    if not worse:
        return
    url = waba_url(waba)
    for change in worse:

        def title(change: AccountHistory = change) -> str:
            return _("%(what)s of %(subject)s changed: %(old)s → %(new)s") % {
                "what": HistoryKind(change.kind).label,
                "subject": change.phone_number or waba,
                "old": change.old_value or "—",
                "new": change.new_value or "—",
            }

        def body() -> str:
            return str(ts.get(waba.problem).title) if waba.problem else ""

        notify_managers(title=title, body=body, url=url, level=NotificationLevel.WARNING)


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


def waba_notify(
    *,
    waba: WhatsAppAccount,
    title: Text,
    body: Text = "",
    level: str = NotificationLevel.INFO,
    email: bool = True,
) -> None:
    """Tell owners and admins something about this account (text built with gettext)."""
    notify_managers(title=title, body=body, url=waba_url(waba), level=level, email=email)


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
    labels = dict(ConnectionStatus.choices)
    entry = ts.get(phone.problem)

    def connected() -> str:
        return _("%(number)s was resubmitted: it is connected and can send messages.") % {
            "number": phone
        }

    def status() -> str:
        return _("Status here: %(old)s → %(new)s.") % {
            "old": labels.get(before, before),
            "new": labels.get(phone.connection_status, phone.connection_status),
        }

    def name_still_rejected() -> str:
        return _(
            "%(number)s: Meta still reports the display name as rejected — change it in "
            "WhatsApp Manager first."
        ) % {"number": phone}

    def name_next() -> str:
        done = (
            _("The number was registered, but its name is still rejected.")
            if registered
            else _("Registering cannot change the name, so the number was not registered.")
        )
        return " ".join([done, _("Resubmit again after Meta approves the new name.")])

    def not_registered() -> str:
        return _("%(number)s could not be registered: %(problem)s") % {
            "number": phone,
            "problem": entry.title,
        }

    def fix() -> str:
        return " ".join([str(entry.explanation), *(str(step) for step in entry.steps)])

    def still_blocked() -> str:
        return _("%(number)s was registered, but it still cannot send: %(reason)s") % {
            "number": phone,
            "reason": ts.send_block_message(block),
        }

    if not block:
        title, body, level = connected, status, NotificationLevel.INFO
    elif block == ts.SEND_NAME_REJECTED:
        title, body, level = name_still_rejected, name_next, NotificationLevel.WARNING
    elif phone.problem:
        title, body, level = not_registered, fix, NotificationLevel.WARNING
    else:
        title, body, level = still_blocked, status, NotificationLevel.WARNING
    waba_notify(waba=phone.waba, title=title, body=body, level=level, email=False)

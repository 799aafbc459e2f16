"""What owners and admins are told about their accounts, each in their own language.

Texts are callables built with gettext when each manager's notification is written
(``accounts.services.notifications.notify_managers``); every one links to the account.
"""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.models import NotificationLevel
from accounts.services.notifications import Text, notify_managers
from accounts.tenancy import require_tenant
from senders import troubleshooting as ts
from senders.models import AccountHistory, HistoryKind, PhoneNumber, WhatsAppAccount
from senders.services import rules


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
    entry = ts.get(problem)
    notify_managers(
        title=lambda: _("%(account)s: %(problem)s") % {"account": waba, "problem": entry.title},
        body=lambda: " ".join([str(entry.explanation), *(str(step) for step in entry.steps)]),
        url=waba_url(waba),
        level=level,
    )


def waba_notify(
    *, waba: WhatsAppAccount, title: Text, body: Text = "", level: str = NotificationLevel.INFO
) -> None:
    """Tell owners and admins something about this account (text built with gettext)."""
    notify_managers(title=title, body=body, url=waba_url(waba), level=level)


def phone_removed_notify(*, waba: WhatsAppAccount, phone: PhoneNumber) -> None:
    """Meta no longer lists this number in the account."""
    waba_notify(
        waba=waba,
        title=lambda: (
            _("%(number)s was removed from %(account)s") % {"number": phone, "account": waba}
        ),
        body=lambda: _(
            "Meta no longer lists this number in the WhatsApp Business Account, "
            "so it cannot send messages here."
        ),
        level=NotificationLevel.WARNING,
    )

"""In-app notifications for a workspace's managers, in each reader's language, and e-mail."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.utils import timezone
from django.utils.translation import override

from accounts import tasks
from accounts.models import (
    MANAGER_ROLES,
    Membership,
    Notification,
    User,
)
from accounts.tenancy import require_tenant

Text = str | Callable[[], str]


@dataclass(frozen=True)
class NotificationKind:
    """How one kind of notification reads: built from its stored params when it is read."""

    title: Callable[[dict[str, Any]], str]
    body: Callable[[dict[str, Any]], str] = lambda params: ""


# Filled by each app at import time (``notification_kind_register``): kind -> texts.
NOTIFICATION_KINDS: dict[str, NotificationKind] = {}


def notification_kind_register(
    name: str,
    *,
    title: Callable[[dict[str, Any]], str],
    body: Callable[[dict[str, Any]], str] | None = None,
) -> None:
    NOTIFICATION_KINDS[name] = NotificationKind(title=title, body=body or (lambda params: ""))


def _render(n: Notification, part: str) -> str:
    kind = NOTIFICATION_KINDS.get(n.kind) if n.kind else None
    if kind is None:  # an old row, or a kind no longer known: the text stored when written
        return n.title if part == "title" else n.body
    try:
        return str(getattr(kind, part)(dict(n.params or {})))
    except (KeyError, TypeError, ValueError):
        return n.title if part == "title" else n.body


def notification_title(n: Notification) -> str:
    """The title in the active language (the reader's)."""
    return _render(n, "title")


def notification_body(n: Notification) -> str:
    """The body in the active language (the reader's)."""
    return _render(n, "body")


def _in_language(text: Text, language: str) -> str:
    if not callable(text):
        return text
    with override(language or settings.LANGUAGE_CODE):
        return str(text())


def notify_managers_of(
    *,
    kind: str,
    params: dict[str, Any],
    url: str,
    level: str = "info",
    email: bool = True,
) -> list[int]:
    """Tell the current tenant's owners and admins that ``kind`` happened.

    The row keeps the kind and its params (JSON); each reader, and each e-mail, gets the
    text in their own language when it is read or sent. ``url`` is what it is about.
    """
    if kind not in NOTIFICATION_KINDS:
        raise ValueError(f"unknown notification kind {kind!r}")

    def text(part: str) -> Callable[[], str]:
        n = Notification(kind=kind, params=params)
        return lambda: _render(n, part)

    return notify_managers(
        title=text("title"),
        body=text("body"),
        url=url,
        level=level,
        email=email,
        kind=kind,
        params=params,
    )


def notify_managers(
    *,
    title: Text,
    body: Text = "",
    url: str,
    level: str = "info",
    email: bool = True,
    kind: str = "",
    params: dict[str, Any] | None = None,
) -> list[int]:
    """Tell the current tenant's owners and admins: in the app, and by e-mail after commit.

    ``url`` is what the notification is about: every one links to it.
    ``title`` and ``body`` may be callables that build the text with gettext: each
    manager then gets it in the language of their account.
    """
    managers = Membership.objects.filter(role__in=MANAGER_ROLES).select_related("user")
    created = Notification.objects.bulk_create(
        [
            Notification(
                tenant=require_tenant(),
                user=m.user,
                title=_in_language(title, m.user.language)[:255],
                body=_in_language(body, m.user.language),
                url=url,
                level=level,
                kind=kind,
                params=params or {},
            )
            for m in managers
        ]
    )
    ids = [n.pk for n in created if n.pk is not None]
    if email and ids:
        tasks.notification_send_emails_task.delay_on_commit(require_tenant().pk, ids)
    return ids


def notification_send_emails(*, notification_ids: list[int]) -> int:
    sent = 0
    pending = Notification.objects.filter(pk__in=notification_ids, emailed_at__isnull=True)
    for n in pending.select_related("user"):
        link = settings.SITE_URL + n.url if n.url.startswith("/") else n.url
        with override(n.user.language or settings.LANGUAGE_CODE):
            title, body = notification_title(n), notification_body(n)
        send_mail(title, f"{body}\n\n{link}".strip(), None, [n.user.email])
        # Recorded at once: if a later e-mail fails, the task's retry skips this one.
        Notification.objects.filter(pk=n.pk).update(emailed_at=timezone.now())
        sent += 1
    return sent


def notifications_mark_read(*, user: User, notification_ids: list[int] | None = None) -> int:
    unread = Notification.objects.filter(user=user, read_at__isnull=True)
    if notification_ids is not None:
        unread = unread.filter(pk__in=notification_ids)
    return unread.update(read_at=timezone.now())

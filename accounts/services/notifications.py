"""In-app notifications for a workspace's managers, in each reader's language, and e-mail."""

from __future__ import annotations

from collections.abc import Callable

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


def _in_language(text: Text, language: str) -> str:
    if not callable(text):
        return text
    with override(language or settings.LANGUAGE_CODE):
        return str(text())


def notify_managers(
    *, title: Text, body: Text = "", url: str = "", level: str = "info", email: bool = True
) -> list[int]:
    """Tell the current tenant's owners and admins: in the app, and by e-mail after commit.

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
        send_mail(n.title, f"{n.body}\n\n{link}".strip(), None, [n.user.email])
        # Recorded at once: if a later e-mail fails, the task's retry skips this one.
        Notification.objects.filter(pk=n.pk).update(emailed_at=timezone.now())
        sent += 1
    return sent


def notifications_mark_read(*, user: User, notification_ids: list[int] | None = None) -> int:
    unread = Notification.objects.filter(user=user, read_at__isnull=True)
    if notification_ids is not None:
        unread = unread.filter(pk__in=notification_ids)
    return unread.update(read_at=timezone.now())

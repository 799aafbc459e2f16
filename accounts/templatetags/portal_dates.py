"""One way to show a moment: in the reader's language and time zone, 24-hour clock.

``{{ value|when }}`` everywhere a date and time is shown ("1. Dezember 2026, 19:37",
"Dec. 1, 2026, 19:37"). The clock has no "p.m.", so a sentence ending after it never
doubles a period. The time zone is the one ``UserTimeZoneMiddleware`` activated.
"""

from __future__ import annotations

from datetime import datetime

from django import template
from django.utils import formats, timezone

from accounts.models import AuditEvent, Notification
from accounts.services import audit, notifications

register = template.Library()


def when_text(value: datetime | None) -> str:
    if value is None:
        return ""
    if timezone.is_aware(value):
        value = timezone.localtime(value)
    return f"{formats.date_format(value, 'DATE_FORMAT')}, {formats.time_format(value, 'H:i')}"


@register.filter
def when(value: datetime | None) -> str:
    return when_text(value)


@register.filter
def audit_sentence(event: AuditEvent) -> str:
    """The audit row in words, in the reader's language."""
    return audit.audit_describe(event)


@register.filter
def notification_title(n: Notification) -> str:
    return notifications.notification_title(n)


@register.filter
def notification_body(n: Notification) -> str:
    return notifications.notification_body(n)

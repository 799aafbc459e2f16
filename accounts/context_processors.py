from __future__ import annotations

from functools import cache, partial
from typing import Any

from django.http import HttpRequest

from accounts import selectors


def tenancy(request: HttpRequest) -> dict[str, Any]:
    """The current tenant, the user's role in it, and the tenants to switch to.

    The tenants and the unread count are read when a template first shows them (the
    page's navigation), once: a fragment htmx swaps in (a list poll, an action's
    answer) shows neither and reads neither."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    tenant = getattr(request, "tenant", None)
    return {
        "tenant": tenant,
        "membership": getattr(request, "membership", None),
        "user_memberships": cache(partial(selectors.workspace_links, user=user)),
        "unread_notifications": (
            cache(partial(selectors.unread_notification_count, user=user))
            if tenant is not None
            else 0
        ),
    }

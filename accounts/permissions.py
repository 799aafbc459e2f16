"""Role checks for tenant pages. The tenant itself is resolved by TenantMiddleware."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from accounts.models import MANAGER_ROLES


def tenant_view(
    *roles: str,
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Mark a view as a tenant page; with roles, only those tenant roles may use it (403)."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            membership = getattr(request, "membership", None)
            if membership is None:  # not routed through /t/<slug>/
                raise Http404
            if roles and membership.role not in roles:
                raise PermissionDenied(_("Only owners and admins can open this page."))
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


managers_only = tenant_view(*MANAGER_ROLES)

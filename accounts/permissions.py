"""The one role check, for services, pages and the API alike.

Services call :func:`require_manager` (or :func:`require_role`) with the acting
membership and raise ``NotAllowed`` with a message that says who may do it. Pages use
``@tenant_view(...)`` / ``@managers_only``; API views use :class:`IsManager` (or
``TenantRole(...)``). All three read the same role sets from ``accounts.models``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from rest_framework.permissions import BasePermission

from accounts.models import MANAGER_ROLES, Membership
from waba_portal.errors import NotAllowed


def require_role(actor: Membership, roles: Iterable[str], *, message: str) -> None:
    """Refuse (``NotAllowed`` with ``message``) unless ``actor`` has one of ``roles``."""
    if actor.role not in frozenset(roles):
        raise NotAllowed(message)


def require_manager(actor: Membership, *, message: str | None = None) -> None:
    """Refuse unless ``actor`` is an owner or admin of the tenant."""
    require_role(actor, MANAGER_ROLES, message=message or _("Only owners and admins can do this."))


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
            if roles:
                require_role(
                    membership, roles, message=_("Only owners and admins can open this page.")
                )
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


managers_only = tenant_view(*MANAGER_ROLES)


class TenantRole(BasePermission):
    """DRF permission: the request's tenant membership has one of ``roles``.

    Reads go to every member; writes (anything but GET/HEAD/OPTIONS) need a role in
    ``write_roles``. ``IsManager`` below is the common case.
    """

    write_roles: frozenset[str] = frozenset(MANAGER_ROLES)
    read_roles: frozenset[str] | None = None  # None: every member may read
    message = ""

    def has_permission(self, request: Any, view: Any) -> bool:
        membership = getattr(request._request, "membership", None)
        if membership is None:
            raise Http404
        roles = (
            self.read_roles if request.method in ("GET", "HEAD", "OPTIONS") else self.write_roles
        )
        if roles is not None and membership.role not in roles:
            raise NotAllowed(_("Only owners and admins can do this."))
        return True


class IsManager(TenantRole):
    """Every member reads; only owners and admins write."""

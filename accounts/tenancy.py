"""The one mechanism that scopes every query to a tenant.

Tenant-owned models inherit :class:`TenantOwnedModel`. Their default manager refuses
to run a query unless a scope is active, and inside a scope it filters by that
tenant on its own, so forgetting the filter is impossible rather than unlikely:

- a web request or an API call is scoped by ``TenantMiddleware`` / the API's
  tenant resolution, from the URL's tenant slug and the user's membership;
- a Celery task is scoped by ``accounts.tasking.tenant_task`` from its tenant id;
- code that must look across tenants (resolving the tenant of a webhook, the
  tenant switcher, "is this WABA connected elsewhere?") says so explicitly with
  ``with unscoped():`` and lives in a selector.

Django's internals (cascades, ``instance.fk`` access) use the plain base manager,
which is not scoped: they only ever follow ids that were reached through a scope.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

from django.db import models

if TYPE_CHECKING:
    from accounts.models import Tenant


class TenantScopeError(RuntimeError):
    """A tenant-owned model was queried with no tenant scope active."""


class _AllTenants:
    def __repr__(self) -> str:
        return "<all tenants>"


ALL_TENANTS = _AllTenants()
_scope: contextvars.ContextVar[Any] = contextvars.ContextVar("tenant_scope", default=None)


@contextmanager
def tenant_scope(tenant: Tenant) -> Iterator[Tenant]:
    """Scope every tenant-owned query in this block to ``tenant``."""
    token = _scope.set(tenant)
    try:
        yield tenant
    finally:
        _scope.reset(token)


@contextmanager
def unscoped() -> Iterator[None]:
    """Allow queries across all tenants in this block. Use only in selectors."""
    token = _scope.set(ALL_TENANTS)
    try:
        yield
    finally:
        _scope.reset(token)


def current_tenant() -> Tenant | None:
    """The tenant of the active scope, or None when unscoped or outside any scope."""
    value = _scope.get()
    return None if value is None or value is ALL_TENANTS else value


def scope_key() -> int | str | None:
    """What tells the active scope apart: its tenant's id, ``"all"`` when unscoped, None
    outside any scope (what a cached statement built in the scope depends on)."""
    value = _scope.get()
    if value is None:
        return None
    return "all" if value is ALL_TENANTS else int(value.pk)


def require_tenant() -> Tenant:
    tenant = current_tenant()
    if tenant is None:
        raise TenantScopeError("this action needs an active tenant scope")
    return tenant


M = TypeVar("M", bound=models.Model)


class TenantQuerySet(models.QuerySet[M]):
    pass


class TenantScopedManager(models.Manager[M]):
    """Default manager of tenant-owned models: scoped by the active tenant, or refusing."""

    def get_queryset(self) -> models.QuerySet[M]:
        scope = _scope.get()
        if scope is None:
            raise TenantScopeError(
                f"{self.model.__name__} was queried outside a tenant scope; "
                "start from request.tenant, or use accounts.tenancy.tenant_scope()"
            )
        queryset: models.QuerySet[M] = TenantQuerySet(self.model, using=self._db)
        if scope is ALL_TENANTS:
            return queryset
        return queryset.filter(tenant_id=scope.pk)

    def none(self) -> models.QuerySet[M]:
        # An empty queryset reads nothing, so it needs no scope (form field defaults).
        return TenantQuerySet(self.model, using=self._db).none()

    def create(self, **kwargs: Any) -> M:
        # Rows created inside a scope belong to its tenant unless told otherwise.
        if "tenant" not in kwargs and "tenant_id" not in kwargs:
            kwargs["tenant"] = require_tenant()
        return super().create(**kwargs)


class TenantOwnedModel(models.Model):
    """Base of every model that belongs to one tenant.

    Subclasses redeclare ``tenant`` with a ``related_name`` of their own, so that
    queries read ``request.tenant.memberships.all()``.
    """

    tenant = models.ForeignKey("accounts.Tenant", on_delete=models.CASCADE, related_name="+")

    objects = TenantScopedManager()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.tenant_id is None:
            self.tenant = require_tenant()
        scope = current_tenant()
        if scope is not None and self.tenant_id != scope.pk:
            raise TenantScopeError("cannot save a row of another tenant inside this scope")
        super().save(*args, **kwargs)

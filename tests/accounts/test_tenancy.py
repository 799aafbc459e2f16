"""The scoping mechanism itself: unscoped queries refuse, scoped ones filter."""

from __future__ import annotations

import pytest

from accounts.models import AuditEvent, Membership, Team
from accounts.tenancy import TenantScopeError, current_tenant, tenant_scope, unscoped
from tests.factories import World

pytestmark = pytest.mark.django_db


def test_query_outside_any_scope_is_refused(world: World) -> None:
    with pytest.raises(TenantScopeError):
        list(Membership.objects.all())
    with pytest.raises(TenantScopeError):
        Team.objects.filter(name="x").exists()


def test_reverse_relations_are_scoped_too(world: World) -> None:
    with pytest.raises(TenantScopeError):
        list(world.tenant.memberships.all())
    with tenant_scope(world.tenant):
        # The other tenant's rows are invisible even through its own relation.
        assert list(world.other_tenant.memberships.all()) == []
        assert world.tenant.memberships.count() == 3


def test_scope_filters_by_tenant(world: World) -> None:
    with tenant_scope(world.tenant):
        emails = sorted(m.user.email for m in Membership.objects.all())
        assert emails == ["admin@acme.test", "agent@acme.test", "owner@acme.test"]
        assert not Membership.objects.filter(pk=world.other_owner.pk).exists()
    with tenant_scope(world.other_tenant):
        assert [m.pk for m in Membership.objects.all()] == [world.other_owner.pk]


def test_unscoped_sees_every_tenant_and_is_explicit(world: World) -> None:
    with unscoped():
        assert Membership.objects.count() == 4
        assert current_tenant() is None


def test_rows_created_in_a_scope_belong_to_it(world: World) -> None:
    with tenant_scope(world.tenant):
        team = Team.objects.create(name="Support")
    assert team.tenant_id == world.tenant.pk


def test_saving_a_row_of_another_tenant_inside_a_scope_is_refused(world: World) -> None:
    with tenant_scope(world.tenant), pytest.raises(TenantScopeError):
        AuditEvent(tenant=world.other_tenant, action="x").save()


def test_creating_without_scope_or_tenant_is_refused(world: World) -> None:
    with pytest.raises(TenantScopeError):
        Team(name="Orphan").save()


def test_scopes_nest_and_restore(world: World) -> None:
    with tenant_scope(world.tenant):
        with tenant_scope(world.other_tenant):
            assert current_tenant() == world.other_tenant
        assert current_tenant() == world.tenant
    assert current_tenant() is None


def test_views_and_api_do_not_bypass_the_scope() -> None:
    """Lint: only selectors and services may say unscoped()."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    offenders = [
        str(path.relative_to(root))
        for app in ("accounts", "senders", "templates_app", "inbox")
        for path in (root / app).rglob("*.py")
        if path.name in {"views.py", "api.py", "forms.py", "serializers.py"}
        and ("unscoped(" in path.read_text() or "ALL_TENANTS" in path.read_text())
    ]
    assert offenders == []

from __future__ import annotations

from dataclasses import dataclass

import pytest

from accounts.models import Membership, Role, Tenant
from tests.factories import TenantFactory, member

pytest_plugins = [
    "tests.fixtures_celery",
    "tests.fixtures_browser",
    "tests.fixtures_mock_meta",
]


@dataclass
class World:
    """Two tenants with a member of every role each, for permission matrices."""

    tenant: Tenant
    owner: Membership
    admin: Membership
    agent: Membership
    other_tenant: Tenant
    other_owner: Membership

    def by_role(self, role: str) -> Membership:
        return {"owner": self.owner, "admin": self.admin, "agent": self.agent}[role]


@pytest.fixture
def world(db: None) -> World:
    tenant = TenantFactory(name="Acme", slug="acme")
    other = TenantFactory(name="Globex", slug="globex")
    return World(
        tenant=tenant,
        owner=member(tenant, Role.OWNER, email="owner@acme.test"),
        admin=member(tenant, Role.ADMIN, email="admin@acme.test"),
        agent=member(tenant, Role.AGENT, email="agent@acme.test"),
        other_tenant=other,
        other_owner=member(other, Role.OWNER, email="owner@globex.test"),
    )

"""Factories that keep related objects inside one tenant."""

from __future__ import annotations

import factory

from accounts.models import Membership, Role, Team, Tenant, User
from accounts.tenancy import tenant_scope

PASSWORD = "correct-horse-battery-9"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("email",)
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.test")
    full_name = factory.Faker("name")

    @factory.post_generation
    def password(self, create: bool, extracted: str | None, **kwargs: object) -> None:
        self.set_password(extracted or PASSWORD)
        if create:
            self.save(update_fields=["password"])


class TenantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tenant

    name = factory.Sequence(lambda n: f"Company {n}")
    slug = factory.Sequence(lambda n: f"company-{n}")


def member(tenant: Tenant, role: str = Role.AGENT, **user_fields: object) -> Membership:
    """A new user who is a member of ``tenant`` with ``role``."""
    user = UserFactory(**user_fields)
    with tenant_scope(tenant):
        return Membership.objects.create(user=user, role=role)


def team(tenant: Tenant, name: str, *members: Membership) -> Team:
    with tenant_scope(tenant):
        t = Team.objects.create(name=name)
        for m in members:
            t.team_members.create(tenant=tenant, membership=m)
        return t

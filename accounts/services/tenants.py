"""Workspaces and their people: creating a workspace, sign-up, a user's profile and language."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.utils.text import slugify
from django.utils.translation import gettext as _

from accounts.errors import Invalid
from accounts.models import (
    Membership,
    Role,
    Tenant,
    User,
)
from accounts.services.audit import audit_record
from accounts.tenancy import tenant_scope


def _unique_slug(name: str) -> str:
    base = slugify(name)[:50] or "workspace"
    slug, n = base, 1
    while Tenant.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


@transaction.atomic
def tenant_create(*, owner: User, name: str) -> Tenant:
    """Create a workspace with ``owner`` as its first owner."""
    name = name.strip()
    if not name:
        raise Invalid(_("Enter a name for the workspace."), field="name")
    tenant = Tenant.objects.create(name=name, slug=_unique_slug(name))
    with tenant_scope(tenant):
        membership = Membership.objects.create(user=owner, role=Role.OWNER)
        audit_record(actor=owner, action="tenant.created", target=tenant)
        audit_record(
            actor=owner, action="member.added", target=membership, metadata={"role": Role.OWNER}
        )
    return tenant


@transaction.atomic
def user_signup(
    *, email: str, password: str, full_name: str, tenant_name: str
) -> tuple[User, Tenant]:
    """Sign up: a new user and a new workspace that the user owns."""
    email = User.objects.normalize_email(email).lower()
    if User.objects.filter(email__iexact=email).exists():
        raise Invalid(
            _("An account with this e-mail address exists already. Log in instead."),
            field="email",
        )
    user = User.objects.create_user(email=email, password=password, full_name=full_name.strip())
    return user, tenant_create(owner=user, name=tenant_name)


def validate_language(*, language: str) -> None:
    if language not in dict(settings.LANGUAGES):
        raise Invalid(_("This language is not available."), field="language")


def user_set_language(*, user: User, language: str) -> None:
    validate_language(language=language)
    user.language = language
    user.save(update_fields=["language"])


def user_update_profile(*, user: User, full_name: str, language: str) -> None:
    user.full_name = full_name.strip()
    user.save(update_fields=["full_name"])
    if language:
        user_set_language(user=user, language=language)
